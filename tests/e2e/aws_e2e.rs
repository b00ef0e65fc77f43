//! The AWS path end to end on the local AWS emulator (moto): a signed webhook through the
//! intake router as API Gateway delivers it, the run in DynamoDB, step messages on SQS handled
//! by the step function's batch handler against the Okta emulator, the finalizer signing with
//! the emulator's KMS key, the bundle in S3 — verified with openssl and `passage verify`.
//! Then the failure cases of that path.

use crate::common::aws::host_secrets;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use passage::harness::{Cutoff, TENANT, accept_what_stays, leaver_event, random_secret};
use passage_core::ports::RunFilter;
use passage_core::{RunId, RunState};
use passage_lambda::aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use passage_lambda::{AwsHost, HostSecrets};
use passage_moto::Moto;
use passage_sandbox::okta::{OktaConfig, OktaEmulator, SeedUser};
use std::time::{Duration, Instant};
use tower::ServiceExt;

struct World {
    _moto: Moto,
    sdk: aws_config::SdkConfig,
    names: passage_aws::AwsNames,
    okta: OktaEmulator,
    secret: passage_hris::WebhookSecret,
    secrets: HostSecrets,
    host: AwsHost,
    sqs: aws_sdk_sqs::Client,
}

async fn world() -> World {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let names = passage_moto::provision(&sdk, "e2e")
        .await
        .expect("provision");
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    okta.knobs().set_latency(Duration::from_millis(5));
    passage_sandbox::demo_seed(&okta);
    let secret = random_secret();
    let tenants = format!(
        r#"
[[tenants]]
id = "{TENANT}"
webhook_secrets = ["{}"]
default_time_zone = "America/New_York"

[tenants.okta]
org_url = "{}"
api_token = "{}"
"#,
        secret.to_whsec(),
        okta.base_url(),
        okta.api_token()
    );
    let secrets = host_secrets(&sdk, &names, &tenants, "e2e-link-key").await;
    let host = AwsHost::build(&sdk, names.clone(), secrets.clone())
        .await
        .expect("host");
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    World {
        _moto: moto,
        sdk,
        names,
        okta,
        secret,
        secrets,
        host,
        sqs,
    }
}

impl World {
    /// A second, independent function instance (its own worker id), as Lambda would run.
    async fn another_instance(&self) -> AwsHost {
        AwsHost::build(&self.sdk, self.names.clone(), self.secrets.clone())
            .await
            .unwrap()
    }

    /// POSTs a signed webhook through the router exactly as API Gateway (HTTP API, payload 2.0)
    /// hands it to the intake function.
    async fn webhook(&self, id: &str, body: &[u8]) -> (u16, serde_json::Value) {
        let ts = jiff::Timestamp::now().as_second();
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), "application/json".into());
        for (k, v) in passage_hris::signed_headers(&self.secret, id, ts, body) {
            headers.insert(k, v.into());
        }
        let path = format!("/v1/tenants/{TENANT}/webhooks/leaver");
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "POST /v1/tenants/{tenant}/webhooks/leaver",
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
                "domainPrefix": "api", "requestId": id, "routeKey": "POST /v1/tenants/{tenant}/webhooks/leaver",
                "stage": "$default", "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "hris"}
            },
            "pathParameters": {"tenant": TENANT},
            "body": String::from_utf8(body.to_vec()).unwrap(),
            "isBase64Encoded": false
        });
        let request = lambda_http::request::from_str(&event.to_string()).expect("API GW v2 event");
        let response = passage_http::router(self.host.api_state())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    /// Receives up to ten messages as the event source mapping would, and builds the event.
    async fn receive(&self, queue_url: &str) -> SqsEvent {
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let mut event = SqsEvent::default();
        for m in out.messages() {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id().map(str::to_owned);
            record.receipt_handle = m.receipt_handle().map(str::to_owned);
            record.body = m.body().map(str::to_owned);
            if let Some(attrs) = m.attributes() {
                for (k, v) in attrs {
                    record.attributes.insert(k.as_str().to_owned(), v.clone());
                }
            }
            event.records.push(record);
        }
        event
    }

    /// What the event source mapping does after a batch: delete every message not reported
    /// as a failure.
    async fn settle(&self, queue_url: &str, event: &SqsEvent, failures: &[String]) {
        for r in &event.records {
            let id = r.message_id.clone().unwrap_or_default();
            if !failures.contains(&id) {
                // A message already moved to the DLQ was deleted by the handler; ignore misses.
                let _ = self
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(r.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await;
            }
        }
    }

    /// Runs the step and finalizer functions (each batch to two instances at once, as
    /// duplicate deliveries and concurrent Lambdas would) until `done` holds.
    async fn drive(&self, others: &[AwsHost], done: impl Fn(&[passage_core::Run]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let runs = self
                .host
                .engine
                .ports()
                .store
                .list_runs(&RunFilter::default())
                .await
                .unwrap();
            if done(&runs) {
                return;
            }
            for run in &runs {
                accept_what_stays(&self.host.engine, run).await.unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "runs did not settle: {:?}",
                runs.iter()
                    .map(|r| (r.state, r.blocked_reason.clone()))
                    .collect::<Vec<_>>()
            );
            for url in [&self.names.step_queue_url, &self.names.finalize_queue_url] {
                let event = self.receive(url).await;
                if event.records.is_empty() {
                    continue;
                }
                let mut handlers = vec![passage_lambda::batch::handle(
                    &self.host,
                    event.clone(),
                    url,
                )];
                for other in others {
                    handlers.push(passage_lambda::batch::handle(other, event.clone(), url));
                }
                let results = futures_join(handlers).await;
                let failures: Vec<String> = results[0]
                    .batch_item_failures
                    .iter()
                    .map(|f| f.item_identifier.clone())
                    .collect();
                self.settle(url, &event, &failures).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    futures::future::join_all(futures).await
}

fn closed(runs: &[passage_core::Run]) -> bool {
    !runs.is_empty() && runs.iter().all(|r| r.state == RunState::Closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leaver_runs_entirely_on_the_aws_path_and_openssl_verifies_the_bundle() {
    let w = world().await;
    let second = w.another_instance().await;
    let leaver = passage_sandbox::okta::DEMO_LEAVER;
    let body = leaver_event(leaver, "E1001", Cutoff::Immediate);
    let (status, answer) = w.webhook("msg_aws_1", &body).await;
    assert_eq!(status, 202, "{answer}");
    let run_id = RunId::new(answer["run_id"].as_str().unwrap());
    // A duplicate webhook gives the same run.
    let (status, again) = w.webhook("msg_aws_1", &body).await;
    assert_eq!(status, 200);
    assert_eq!(again["run_id"], answer["run_id"]);

    w.drive(std::slice::from_ref(&second), closed).await;

    // Effects in the emulator, once each, although every message went to two instances.
    let user = w.okta.user(leaver).unwrap();
    assert_eq!(format!("{:?}", user.status), "Suspended");
    assert_eq!(w.okta.count_events("user.lifecycle.suspend", &user.id), 1);
    assert_eq!(
        w.okta
            .count_events("group.user_membership.remove", &user.id),
        3
    );
    let store = &w.host.engine.ports().store;
    for step in store.steps(&run_id).await.unwrap() {
        assert_eq!(
            step.attempts, 1,
            "{} was attempted more than once",
            step.key
        );
    }
    assert_eq!(
        store.attempts(&run_id).await.unwrap().len(),
        5,
        "one attempt record per step"
    );
    assert_eq!(
        store.list_runs(&RunFilter::default()).await.unwrap().len(),
        1
    );

    // The bundle in S3, signed by the emulator's KMS key: openssl and passage verify accept it.
    let run = store.run(&run_id).await.unwrap().unwrap();
    let bundle = run.bundle.clone().unwrap();
    assert!(bundle.location.starts_with("s3://"), "{}", bundle.location);
    let files = w
        .host
        .engine
        .ports()
        .evidence
        .get_bundle(&run.tenant, &run.id)
        .await
        .unwrap()
        .expect("bundle in S3");
    let dir = std::env::temp_dir().join(format!("passage-aws-{}", uuid::Uuid::new_v4().simple()));
    for (path, bytes) in files.iter() {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let statement = std::fs::read_to_string(dir.join("statement.txt")).unwrap();
    assert!(statement.contains("key-id arn:aws:kms:"), "{statement}");
    let openssl = std::process::Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "signing-key.pem",
            "-signature",
            "statement.sig",
            "statement.txt",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        openssl.status.success(),
        "{}",
        String::from_utf8_lossy(&openssl.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&openssl.stdout).trim(),
        "Verified OK"
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_passage"))
        .args(["verify", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let _ = std::fs::remove_dir_all(dir);
    w.okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicate_webhooks_make_one_run_and_never_a_5xx() {
    let w = world().await;
    let body = leaver_event(
        "someone@example.com",
        "E2",
        Cutoff::LastDay(jiff::Zoned::now().date() + jiff::Span::new().days(400)),
    );
    let mut answers = Vec::new();
    let tasks: Vec<_> = (0..8).map(|_| w.webhook("msg_dup", &body)).collect();
    for (status, v) in futures_join(tasks).await {
        assert!(status == 200 || status == 202, "status {status}: {v}");
        answers.push(v["run_id"].as_str().unwrap().to_owned());
    }
    answers.sort();
    answers.dedup();
    assert_eq!(answers.len(), 1, "one run id for every delivery");
    let runs = w
        .host
        .engine
        .ports()
        .store
        .list_runs(&RunFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::Scheduled);
    // The cutoff is armed as a one-time schedule.
    let timer = passage_aws::SchedulerTimer::new(&w.sdk, &w.names);
    assert_eq!(
        timer.scheduled_at(&runs[0].id).await.unwrap(),
        Some(runs[0].cutoff.at)
    );
    w.okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_step_handler_dying_mid_step_is_completed_by_redelivery() {
    let w = world().await;
    // A short lease stands in for a function killed at its timeout.
    let mut settings = w.host.engine.settings().clone();
    settings.lease = Duration::from_secs(2);
    let mut dying = w.another_instance().await;
    dying.engine =
        passage_core::engine::Engine::new(dying.engine.ports().clone(), settings.clone());
    let mut survivor = w.another_instance().await;
    survivor.engine = passage_core::engine::Engine::new(survivor.engine.ports().clone(), settings);
    w.okta.seed_user(SeedUser {
        groups: vec!["Engineering".into()],
        sessions: 1,
        ..SeedUser::new("dies@example.com", "D", "Ies")
    });
    let (status, answer) = w
        .webhook(
            "msg_die",
            &leaver_event("dies@example.com", "E3", Cutoff::Immediate),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    // The first delivery is cut off mid-step: the future is dropped after the claim, while the
    // slow provider call is in flight, and the message is neither deleted nor released.
    w.okta.knobs().set_latency(Duration::from_millis(400));
    let event = w.receive(&w.names.step_queue_url).await;
    assert_eq!(event.records.len(), 1);
    let cut = tokio::time::timeout(
        Duration::from_millis(150),
        passage_lambda::batch::handle(&dying, event.clone(), &w.names.step_queue_url),
    )
    .await;
    assert!(cut.is_err(), "the handler was meant to die mid-step");
    w.okta.knobs().set_latency(Duration::from_millis(5));
    // The function's timeout ends its invocation; SQS makes the message visible again once
    // its visibility lapses. Lapse it now rather than waiting the 30 s out.
    w.sqs
        .change_message_visibility()
        .queue_url(&w.names.step_queue_url)
        .receipt_handle(event.records[0].receipt_handle.clone().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let store = &w.host.engine.ports().store;
    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    let steps = store.steps(&runs[0].id).await.unwrap();
    assert_eq!(
        steps[0].state,
        passage_core::StepState::InFlight,
        "claimed by the dead handler"
    );
    drop(dying);
    w.drive(std::slice::from_ref(&survivor), closed).await;
    let user = w.okta.user("dies@example.com").unwrap();
    assert_eq!(format!("{:?}", user.status), "Suspended");
    assert_eq!(w.okta.count_events("user.lifecycle.suspend", &user.id), 1);
    let steps = store.steps(&runs[0].id).await.unwrap();
    assert_eq!(
        steps[0].attempts, 2,
        "the dead attempt and the one that completed"
    );
    w.okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_and_exhausted_messages_go_to_the_dlq_and_block_the_run() {
    let w = world().await;
    // Undecodable: straight to the DLQ, not retried.
    w.sqs
        .send_message()
        .queue_url(&w.names.step_queue_url)
        .message_body("{not json")
        .send()
        .await
        .unwrap();
    let event = w.receive(&w.names.step_queue_url).await;
    let response =
        passage_lambda::batch::handle(&w.host, event.clone(), &w.names.step_queue_url).await;
    assert!(response.batch_item_failures.is_empty());
    let dead = w.host.queue.dead_letters().await.unwrap();
    assert!(dead.iter().any(|d| d.body == "{not json"), "{dead:?}");

    // A step message delivered more times than allowed: dead-lettered and the run blocked
    // with the reason.
    w.okta.knobs().set_latency(Duration::from_millis(5));
    let (status, answer) = w
        .webhook(
            "msg_poison",
            &leaver_event(passage_sandbox::okta::DEMO_LEAVER, "E1", Cutoff::Immediate),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    let mut event = w.receive(&w.names.step_queue_url).await;
    assert_eq!(event.records.len(), 1);
    event.records[0]
        .attributes
        .insert("ApproximateReceiveCount".into(), "100".into());
    let response = passage_lambda::batch::handle(&w.host, event, &w.names.step_queue_url).await;
    assert!(response.batch_item_failures.is_empty());
    let run = w
        .host
        .engine
        .ports()
        .store
        .run(&RunId::new(answer["run_id"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.state, RunState::Blocked);
    assert!(
        run.blocked_reason
            .as_deref()
            .unwrap_or_default()
            .contains("dead-lettered"),
        "{:?}",
        run.blocked_reason
    );
    assert!(w.host.queue.dead_letters().await.unwrap().len() >= 2);
    w.okta.shutdown().await;
}
