//! Creates the resources of one Passage deployment, for tests and the local emulator (real
//! deployments come from the SAM template). Every name gets a random suffix, so suites can
//! share an emulator without seeing each other's data.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use passage_aws::{AwsNames, GSI_EMPLOYEE, GSI_OPEN, GSI_TENANT, error_text};

/// Receives before SQS moves a message to the dead-letter queue by itself. Above the Lambda
/// engine's own limit (99), so the engine records the step as failed before SQS takes the
/// message, as in the deployed template.
pub const MAX_RECEIVE_COUNT: u32 = 100;
/// Default visibility timeout of the work queues: several times a function's timeout.
pub const QUEUE_VISIBILITY_SECS: u32 = 300;
/// Object Lock retention of the test deployments' bundles.
pub const TEST_OBJECT_LOCK_DAYS: i32 = 1;

#[derive(Debug, thiserror::Error)]
#[error("provisioning {what}: {detail}")]
pub struct ProvisionError {
    pub what: String,
    pub detail: String,
}

fn fail(what: &str) -> impl FnOnce(String) -> ProvisionError + '_ {
    move |detail| ProvisionError {
        what: what.to_owned(),
        detail,
    }
}

/// Creates a table, three queues, a signing key, a bucket and a schedule group whose names
/// start with `prefix` (lowercase letters, digits and dashes).
pub async fn provision(config: &SdkConfig, prefix: &str) -> Result<AwsNames, ProvisionError> {
    let id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let name = |what: &str| format!("{prefix}-{what}-{id}");

    let table = name("runs");
    create_table(config, &table).await?;

    let sqs = aws_sdk_sqs::Client::new(config);
    let dlq_url = create_queue(&sqs, &name("dead-letters"), None).await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| error_text(&e))
        .and_then(|out| {
            out.attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn))
                .cloned()
                .ok_or_else(|| "no QueueArn".to_owned())
        })
        .map_err(fail("dead-letter queue ARN"))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
    })
    .to_string();
    let step_queue_url = create_queue(&sqs, &name("steps"), Some(&redrive)).await?;
    let finalize_queue_url = create_queue(&sqs, &name("finalize"), Some(&redrive)).await?;
    let tenant_jobs_queue_url = create_queue(&sqs, &name("tenant-jobs"), Some(&redrive)).await?;
    // arn:aws:sqs:<region>:<account>:<name>
    let arn_parts: Vec<&str> = dlq_arn.split(':').collect();
    let (region, account) = match arn_parts.as_slice() {
        [_, _, _, region, account, ..] => (*region, *account),
        _ => {
            return Err(fail("account id")(format!(
                "unexpected queue ARN {dlq_arn}"
            )));
        }
    };

    let kms = aws_sdk_kms::Client::new(config);
    let key = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description(format!("Passage evidence signing ({prefix}-{id})"))
        .send()
        .await
        .map_err(|e| fail("KMS key")(error_text(&e)))?;
    let kms_key_id = key
        .key_metadata()
        .and_then(|m| {
            m.arn()
                .map(str::to_owned)
                .or_else(|| Some(m.key_id().to_owned()))
        })
        .ok_or_else(|| fail("KMS key")("no key metadata".into()))?;

    let bucket = name("evidence");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .map_err(|e| fail("bucket")(error_text(&e)))?;
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| fail("bucket versioning")(error_text(&e)))?;

    let schedule_group = name("cutoffs");
    aws_sdk_scheduler::Client::new(config)
        .create_schedule_group()
        .name(&schedule_group)
        .send()
        .await
        .map_err(|e| fail("schedule group")(error_text(&e)))?;

    Ok(AwsNames {
        table,
        step_queue_url,
        finalize_queue_url,
        tenant_jobs_queue_url,
        dead_letter_queue_url: dlq_url,
        kms_key_id,
        kms_alias_prefix: format!("alias/{prefix}-{id}"),
        bucket,
        schedule_group,
        cutoff_target_arn: format!(
            "arn:aws:lambda:{region}:{account}:function:{prefix}-cutoff-{id}"
        ),
        scheduler_role_arn: format!("arn:aws:iam::{account}:role/{prefix}-scheduler-{id}"),
        object_lock_days: Some(TEST_OBJECT_LOCK_DAYS),
    })
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive: Option<&str>,
) -> Result<String, ProvisionError> {
    let mut req = sqs.create_queue().queue_name(name).attributes(
        QueueAttributeName::VisibilityTimeout,
        QUEUE_VISIBILITY_SECS.to_string(),
    );
    if let Some(policy) = redrive {
        req = req.attributes(QueueAttributeName::RedrivePolicy, policy);
    } else {
        // Dead letters are kept for the longest SQS allows: 14 days.
        req = req.attributes(QueueAttributeName::MessageRetentionPeriod, "1209600");
    }
    let out = req.send().await.map_err(|e| fail(name)(error_text(&e)))?;
    out.queue_url
        .ok_or_else(|| fail(name)("no queue URL returned".into()))
}

fn key_schema(pk: &str, sk: &str) -> Result<Vec<KeySchemaElement>, String> {
    let el = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| e.to_string())
    };
    Ok(vec![el(pk, KeyType::Hash)?, el(sk, KeyType::Range)?])
}

fn attribute(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(|e| e.to_string())
}

fn index(
    name: &str,
    pk: &str,
    sk: &str,
    projection: Projection,
) -> Result<GlobalSecondaryIndex, String> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(key_schema(pk, sk)?))
        .projection(projection)
        .build()
        .map_err(|e| e.to_string())
}

/// The single table and its three sparse indexes (see the store module for the layout), as
/// infra/template.yaml's `StateTable` defines them: `tests/table_matches_template.rs` compares
/// the two.
async fn create_table(config: &SdkConfig, table: &str) -> Result<(), ProvisionError> {
    use ScalarAttributeType::{N, S};
    let build = || -> Result<_, String> {
        let keys_only = Projection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build();
        let runs = Projection::builder()
            .projection_type(ProjectionType::Include)
            .non_key_attributes("doc")
            .non_key_attributes("state")
            .build();
        Ok((
            vec![
                attribute("pk", S)?,
                attribute("sk", S)?,
                attribute("open_key", S)?,
                attribute("cutoff_ms", N)?,
                attribute("tenant", S)?,
                attribute("created_ms", N)?,
                attribute("tenant_employee", S)?,
            ],
            key_schema("pk", "sk")?,
            vec![
                index(GSI_OPEN, "open_key", "cutoff_ms", keys_only)?,
                index(GSI_TENANT, "tenant", "created_ms", runs.clone())?,
                index(GSI_EMPLOYEE, "tenant_employee", "created_ms", runs)?,
            ],
        ))
    };
    let (attributes, keys, indexes) = build().map_err(fail("table definition"))?;
    use aws_sdk_dynamodb::client::Waiters;
    let ddb = aws_sdk_dynamodb::Client::new(config);
    ddb.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(keys))
        .set_global_secondary_indexes(Some(indexes))
        .send()
        .await
        .map_err(|e| fail(table)(error_text(&e)))?;
    ddb.wait_until_table_exists()
        .table_name(table)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| fail(table)(error_text(&e)))?;
    // Idempotency records, ended runs' open-run locks and tenant slots carry expires_at.
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("expires_at")
        .enabled(true)
        .build()
        .map_err(|e| fail(table)(e.to_string()))?;
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| fail(table)(error_text(&e)))?;
    Ok(())
}

/// Creates a tenant's own signing key behind its alias, as an administrator does for a real
/// deployment (docs/aws-deployment.md): an ECC_NIST_P256 SIGN_VERIFY key, tagged with the
/// tenant, named `<kms_alias_prefix>/<tenant>`. Returns the key's ARN.
pub async fn provision_tenant_key(
    config: &SdkConfig,
    names: &AwsNames,
    tenant: &str,
) -> Result<String, ProvisionError> {
    let kms = aws_sdk_kms::Client::new(config);
    let tag = aws_sdk_kms::types::Tag::builder()
        .tag_key("passage:tenant")
        .tag_value(tenant)
        .build()
        .map_err(|e| fail("tenant key tag")(e.to_string()))?;
    let key = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description(format!("Passage evidence signing key of tenant {tenant}"))
        .tags(tag)
        .send()
        .await
        .map_err(|e| fail("tenant key")(error_text(&e)))?;
    let meta = key
        .key_metadata()
        .ok_or_else(|| fail("tenant key")("no key metadata".into()))?;
    kms.create_alias()
        .alias_name(format!("{}/{tenant}", names.kms_alias_prefix))
        .target_key_id(meta.key_id())
        .send()
        .await
        .map_err(|e| fail("tenant key alias")(error_text(&e)))?;
    Ok(meta.arn().unwrap_or(meta.key_id()).to_owned())
}
