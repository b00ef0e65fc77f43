//! The shared port contracts (`passage_contract`) on the AWS adapters, against a
//! `moto_server` each test starts on a free loopback port, plus the checks only AWS has
//! (dead-letter attributes, Object Lock, presigned URLs, schedule definitions).

use passage_aws::{
    AwsNames, DynamoPacer, DynamoStore, KmsSigner, KmsVault, S3Evidence, SchedulerTimer, SqsQueue,
};
use passage_contract::{self as contract, BoxFuture, QueueCheck};
use passage_core::RunId;
use passage_core::evidence::BundleFiles;
use passage_core::ports::{EvidenceStore, StepQueue, Timer};
use passage_moto::{Moto, provision, provision_tenant_key};
use std::sync::Arc;
use std::time::Duration;

async fn deployment() -> (Moto, aws_config::SdkConfig, AwsNames) {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let names = provision(&config, "ct").await.expect("provision on moto");
    (moto, config, names)
}

fn sleep(d: Duration) -> BoxFuture<'static, ()> {
    Box::pin(tokio::time::sleep(d))
}

#[tokio::test]
async fn dynamo_store_contract() {
    let (_moto, config, names) = deployment().await;
    let store = DynamoStore::new(&config, &names);
    // One check at a time: moto undoes a cancelled transaction by restoring a copy of the
    // whole table taken when it began, which drops writes other requests made meanwhile.
    // (DynamoDB itself isolates transactions per item.)
    contract::store_all(&store).await;
}

#[tokio::test]
async fn dynamo_audit_log_contract() {
    let (_moto, config, names) = deployment().await;
    contract::audit_log_appends_and_lists(&DynamoStore::new(&config, &names)).await;
}

#[tokio::test]
async fn sqs_queue_contract() {
    let (_moto, config, names) = deployment().await;
    let queue = SqsQueue::new(&config, &names);
    let reader = queue.clone();
    let dead_letters = move || -> BoxFuture<'static, Vec<(String, String)>> {
        let q = reader.clone();
        Box::pin(async move {
            q.dead_letters()
                .await
                .unwrap()
                .into_iter()
                .map(|d| (d.body, d.reason.unwrap_or_default()))
                .collect()
        })
    };
    contract::queue_visibility_receipts_and_dead_letters(QueueCheck {
        queue: &queue,
        // SQS counts visibility and delay in whole seconds.
        visibility_short: Duration::from_secs(1),
        sleep: &sleep,
        dead_letters: Some(&dead_letters),
    })
    .await;
}

#[tokio::test]
async fn sqs_poison_messages_reach_the_dead_letter_queue_with_their_reason() {
    let (_moto, config, names) = deployment().await;
    let queue = SqsQueue::new(&config, &names);
    aws_sdk_sqs::Client::new(&config)
        .send_message()
        .queue_url(&names.step_queue_url)
        .message_body("{not json|with a bar")
        .send()
        .await
        .unwrap();
    let got = queue.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, None);
    assert_eq!(got[0].body, "{not json|with a bar");
    queue
        .dead_letter(&got[0].receipt, "undecodable")
        .await
        .unwrap();
    let letters = queue.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].body, "{not json|with a bar");
    assert_eq!(letters[0].reason.as_deref(), Some("undecodable"));
    assert_eq!(
        letters[0].source_queue.as_deref(),
        Some(names.step_queue_url.as_str())
    );
    // The message left its queue.
    assert!(
        queue
            .receive(10, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn kms_signer_contract() {
    let (_moto, config, names) = deployment().await;
    let signer = KmsSigner::connect(&config, &names.kms_key_id)
        .await
        .expect("connect to the KMS key");
    assert!(
        passage_core::ports::Signer::key_id(&signer).starts_with("arn:aws:kms:"),
        "the key id is the key's ARN"
    );
    contract::signer_produces_verifiable_der(&signer).await;
    let too_big = vec![b'x'; 4097];
    assert!(
        passage_core::ports::Signer::sign(&signer, &too_big)
            .await
            .is_err(),
        "KMS RAW signing refuses more than 4 KiB"
    );
}

#[tokio::test]
async fn kms_key_vault_contract() {
    let (_moto, config, names) = deployment().await;
    let vault = KmsVault::new(&config, &names);
    contract::key_vault_keeps_one_key_per_tenant(&vault).await;

    // A key an administrator provisioned behind the tenant's alias is the tenant's key, and
    // another tenant's is not.
    use passage_core::ports::{KeySlot, KeyVault};
    let tenant = contract::unique_tenant();
    let arn = provision_tenant_key(&config, &names, tenant.as_str())
        .await
        .expect("provision a tenant key");
    let key = vault
        .key(&tenant, KeySlot::Current)
        .await
        .unwrap()
        .expect("the provisioned key");
    assert_eq!(key.key_id(), arn);
    let other = contract::unique_tenant();
    assert!(vault.key(&other, KeySlot::Current).await.unwrap().is_none());
    assert_eq!(
        vault.alias(&tenant, KeySlot::Current).unwrap(),
        format!("{}/{tenant}", names.kms_alias_prefix)
    );
    // The deployment's installation key is adopted only when asked (a chain it began).
    assert!(vault.adopt_installation_key(&other).await.unwrap());
    let adopted = vault.key(&other, KeySlot::Current).await.unwrap().unwrap();
    let installation = KmsSigner::connect(&config, &names.kms_key_id)
        .await
        .unwrap();
    assert_eq!(
        adopted.public_key_pem(),
        passage_core::ports::Signer::public_key_pem(&installation)
    );
}

#[tokio::test]
async fn s3_evidence_contract() {
    let (moto, config, names) = deployment().await;
    let evidence = S3Evidence::new(&config, &names);
    contract::evidence_round_trip(&evidence).await;

    // Object Lock in COMPLIANCE mode, and a presigned link that serves the file.
    let tenant = contract::unique_tenant();
    let run = RunId::generate();
    let mut files = BundleFiles::new();
    files
        .insert("statement.txt", b"statement body\n".to_vec())
        .unwrap();
    let location = evidence.put_bundle(&tenant, &run, &files).await.unwrap();
    assert_eq!(
        location,
        format!("s3://{}/bundles/{tenant}/{run}/", names.bucket)
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let key = format!("bundles/{tenant}/{run}/statement.txt");
    let head = s3
        .head_object()
        .bucket(&names.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    assert!(head.object_lock_retain_until_date().is_some());
    assert_eq!(head.content_type(), Some("text/plain; charset=utf-8"));

    let url = evidence
        .presign_get(&tenant, &run, "statement.txt", Duration::from_secs(300))
        .await
        .unwrap();
    assert!(url.starts_with(&moto.url), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let body = http_get(&url);
    assert!(body.ends_with("statement body\n"), "{body}");
    assert!(
        evidence
            .presign_get(&tenant, &run, "../x", Duration::from_secs(60))
            .await
            .is_err()
    );
}

/// A plain HTTP/1.0 GET of a loopback URL; returns the whole response.
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    response
}

#[tokio::test]
async fn scheduler_timer_contract() {
    let (_moto, config, names) = deployment().await;
    let timer = Arc::new(SchedulerTimer::new(&config, &names));
    let reader = timer.clone();
    let fires_at = move |run: RunId| -> BoxFuture<'static, Option<jiff::Timestamp>> {
        let t = reader.clone();
        Box::pin(async move { t.scheduled_at(&run).await.unwrap() })
    };
    contract::timer_schedule_and_cancel_are_idempotent(timer.as_ref(), Some(&fires_at)).await;

    // A cutoff already past fires a minute from now (Scheduler refuses at() in the past), and
    // the schedule invokes the cutoff function with the run and tenant.
    let tenant = contract::unique_tenant();
    let run = RunId::generate();
    let now = jiff::Timestamp::now();
    timer
        .schedule(&tenant, &run, now - jiff::SignedDuration::from_hours(1))
        .await
        .unwrap();
    let at = timer.scheduled_at(&run).await.unwrap().unwrap();
    let ahead = at.duration_since(now).as_secs();
    assert!((59..=62).contains(&ahead), "{ahead}s ahead");
    let schedule = aws_sdk_scheduler::Client::new(&config)
        .get_schedule()
        .group_name(&names.schedule_group)
        .name(format!("cutoff-{run}"))
        .send()
        .await
        .unwrap();
    assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
    let target = schedule.target().unwrap();
    assert_eq!(target.arn(), names.cutoff_target_arn);
    assert_eq!(target.role_arn(), names.scheduler_role_arn);
    let input: serde_json::Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(
        input,
        serde_json::json!({"run_id": run.as_str(), "tenant": tenant.as_str()})
    );
    timer.cancel(&run).await.unwrap();
}

#[tokio::test]
async fn dynamo_pacer_contract() {
    let (_moto, config, names) = deployment().await;
    let clock = Arc::new(contract::ManualClock::new());
    // Two clients of the one table, as two concurrent Lambda invocations hold.
    let client = |config: &aws_config::SdkConfig| aws_sdk_dynamodb::Client::new(config);
    let first = DynamoPacer::from_client(client(&config), &names.table, clock.clone());
    let second = DynamoPacer::from_client(client(&config), &names.table, clock.clone());
    contract::pacer_all(&first, &second, &clock).await;
}
