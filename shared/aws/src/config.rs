//! Names of the deployed resources, read from the functions' environment.

use aws_config::BehaviorVersion;

/// The AWS resources one Passage deployment uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsNames {
    /// DynamoDB table (`TABLE_NAME`).
    pub table: String,
    /// SQS queue of step messages (`STEP_QUEUE_URL`).
    pub step_queue_url: String,
    /// SQS queue of finalize messages (`FINALIZE_QUEUE_URL`).
    pub finalize_queue_url: String,
    /// SQS queue of per-tenant jobs: sweep pages and HR reconciles (`TENANT_JOBS_QUEUE_URL`).
    pub tenant_jobs_queue_url: String,
    /// SQS dead-letter queue of both (`DLQ_URL`).
    pub dead_letter_queue_url: String,
    /// The deployment's installation-wide KMS signing key of earlier releases: id, ARN or
    /// alias (`KMS_KEY_ID`). Only tenants whose chains it began keep signing with it.
    pub kms_key_id: String,
    /// Each tenant's key is the KMS key behind the alias `<prefix>/<tenant>`
    /// (`KMS_ALIAS_PREFIX`, default `alias/passage`).
    pub kms_alias_prefix: String,
    /// S3 bucket of evidence bundles (`BUCKET_NAME`).
    pub bucket: String,
    /// EventBridge Scheduler group of cutoff schedules (`SCHEDULE_GROUP`).
    pub schedule_group: String,
    /// The cutoff function the schedules invoke (`CUTOFF_FUNCTION_ARN`).
    pub cutoff_target_arn: String,
    /// The role Scheduler assumes to invoke it (`SCHEDULER_ROLE_ARN`).
    pub scheduler_role_arn: String,
    /// Object Lock retention of bundles in days (`OBJECT_LOCK_DAYS`; unset or 0: none).
    pub object_lock_days: Option<i32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is {value:?}, not a whole number of days >= 0")]
    BadDays { name: &'static str, value: String },
}

impl AwsNames {
    /// Reads the names from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the names through `var` (the environment, or a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let object_lock_days = match var("OBJECT_LOCK_DAYS").map(|v| v.trim().to_owned()) {
            None => None,
            Some(v) if v.is_empty() => None,
            Some(v) => match v.parse::<i32>() {
                Ok(0) => None,
                Ok(d) if d > 0 => Some(d),
                _ => {
                    return Err(ConfigError::BadDays {
                        name: "OBJECT_LOCK_DAYS",
                        value: v,
                    });
                }
            },
        };
        Ok(Self {
            table: get("TABLE_NAME")?,
            step_queue_url: get("STEP_QUEUE_URL")?,
            finalize_queue_url: get("FINALIZE_QUEUE_URL")?,
            tenant_jobs_queue_url: get("TENANT_JOBS_QUEUE_URL")?,
            dead_letter_queue_url: get("DLQ_URL")?,
            kms_key_id: get("KMS_KEY_ID")?,
            kms_alias_prefix: get("KMS_ALIAS_PREFIX").unwrap_or_else(|_| "alias/passage".into()),
            bucket: get("BUCKET_NAME")?,
            schedule_group: get("SCHEDULE_GROUP")?,
            cutoff_target_arn: get("CUTOFF_FUNCTION_ARN")?,
            scheduler_role_arn: get("SCHEDULER_ROLE_ARN")?,
            object_lock_days,
        })
    }
}

/// The SDK configuration of a function: region, credentials and, when `AWS_ENDPOINT_URL` is
/// set, the endpoint (the local emulator) from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("TABLE_NAME", "passage"),
            ("STEP_QUEUE_URL", "https://sqs/steps"),
            ("FINALIZE_QUEUE_URL", "https://sqs/finalize"),
            ("TENANT_JOBS_QUEUE_URL", "https://sqs/tenant-jobs"),
            ("DLQ_URL", "https://sqs/dlq"),
            ("KMS_KEY_ID", "alias/passage"),
            ("BUCKET_NAME", "evidence"),
            ("SCHEDULE_GROUP", "passage"),
            (
                "CUTOFF_FUNCTION_ARN",
                "arn:aws:lambda:eu-west-1:1:function:cutoff",
            ),
            ("SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/scheduler"),
        ])
    }

    fn read(env: &HashMap<&'static str, &'static str>) -> Result<AwsNames, ConfigError> {
        AwsNames::from_lookup(|k| env.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn reads_every_name_and_optional_lock_days() {
        let mut e = env();
        let names = read(&e).unwrap();
        assert_eq!(names.table, "passage");
        assert_eq!(names.object_lock_days, None);
        e.insert("OBJECT_LOCK_DAYS", "2555");
        assert_eq!(read(&e).unwrap().object_lock_days, Some(2555));
        e.insert("OBJECT_LOCK_DAYS", "0");
        assert_eq!(read(&e).unwrap().object_lock_days, None);
        e.insert("OBJECT_LOCK_DAYS", "ten");
        assert!(matches!(read(&e), Err(ConfigError::BadDays { .. })));
    }

    #[test]
    fn names_the_missing_variable() {
        let mut e = env();
        e.remove("DLQ_URL");
        let err = read(&e).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DLQ_URL"));
        assert!(err.to_string().contains("DLQ_URL"));
        e.insert("DLQ_URL", "  ");
        assert_eq!(read(&e).unwrap_err(), ConfigError::Missing("DLQ_URL"));
    }
}
