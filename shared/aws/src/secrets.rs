//! Secrets Manager: connector credentials and webhook secrets, read at cold start.

use aws_config::SdkConfig;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading secret {arn}: {detail}")]
    Read { arn: String, detail: String },
    #[error("secret {0} has no string value (binary secrets are not supported)")]
    NotText(String),
}

/// The string value of the secret `arn` (name or ARN), current version.
pub async fn secret_string(config: &SdkConfig, arn: &str) -> Result<String, SecretError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| SecretError::Read {
            arn: arn.to_owned(),
            detail: crate::error_text(&e),
        })?;
    out.secret_string()
        .map(str::to_owned)
        .ok_or_else(|| SecretError::NotText(arn.to_owned()))
}
