//! Evidence: checks an auditor link, then lists the bundle or redirects to a short-lived S3 URL.

use passage_lambda::AwsHost;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passage_lambda::init_tracing();
    let host = AwsHost::from_env().await?;
    lambda_http::run(host.app()).await
}
