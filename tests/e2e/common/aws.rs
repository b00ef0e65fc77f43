//! AWS hosts on moto, configured as a deployment is: each tenant of a `passage.toml` in its own
//! secret under the deployment's prefix, operators and notices in the settings secret.

use passage_core::secret::Secret;
use passage_lambda::{AwsHost, HostSecrets};
use std::time::Duration;

/// The secrets of a deployment whose resources are `names`, made from a whole `passage.toml`.
pub async fn host_secrets(
    sdk: &aws_config::SdkConfig,
    names: &passage_aws::AwsNames,
    toml: &str,
    link_key: &str,
) -> HostSecrets {
    let stored = passage_moto::store_configuration(sdk, &format!("{}/", names.table), toml)
        .await
        .expect("configuration secrets");
    HostSecrets {
        tenant_prefix: Some(stored.tenant_prefix),
        settings: stored.settings,
        link_key: Secret::new(link_key),
        confirm_key: Secret::new(String::new()),
        tenant_ttl: Some(Duration::from_secs(300)),
        ..HostSecrets::default()
    }
}

/// A host (one function instance) for that deployment.
pub async fn aws_host(
    sdk: &aws_config::SdkConfig,
    names: passage_aws::AwsNames,
    toml: &str,
    link_key: &str,
) -> AwsHost {
    let secrets = host_secrets(sdk, &names, toml, link_key).await;
    AwsHost::build(sdk, names, secrets).await.expect("host")
}

/// Receives up to ten messages as the event source mapping would, and builds the event.
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> passage_lambda::aws_lambda_events::event::sqs::SqsEvent {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    use passage_lambda::aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    let out = sqs
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

/// What the event source mapping does after a batch: deletes every message not reported as a
/// failure.
pub async fn settle(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    event: &passage_lambda::aws_lambda_events::event::sqs::SqsEvent,
    failures: &[String],
) {
    for r in &event.records {
        let id = r.message_id.clone().unwrap_or_default();
        if !failures.contains(&id) {
            let _ = sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(r.receipt_handle.clone().unwrap_or_default())
                .send()
                .await;
        }
    }
}

/// The ids of the failed records of a batch response.
pub fn failures(
    response: &passage_lambda::aws_lambda_events::event::sqs::SqsBatchResponse,
) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// A `passage.leaver.v1` body for `tenant`.
pub fn leaver(
    tenant: &str,
    email: &str,
    employee_id: &str,
    cutoff: passage::harness::Cutoff,
) -> Vec<u8> {
    let mut event: serde_json::Value =
        serde_json::from_slice(&passage::harness::leaver_event(email, employee_id, cutoff))
            .unwrap();
    event["tenant"] = tenant.into();
    serde_json::to_vec(&event).unwrap()
}

/// One tenant's own configuration text, on the Okta emulator at `okta`.
///
/// Every tenant here points at one emulated Okta org, which real tenants never share; its
/// budget is lifted so that tests of fair sharing between tenants measure the sharing, not
/// one org's pace (tests/e2e/pacing.rs and the pacer contract cover pacing). The go-live
/// guard is off: these tests post bursts to measure scale (tests/e2e/go_live_guard.rs and
/// the store contract cover the guard).
pub fn tenant_text(
    tenant: &str,
    secret: &passage_hris::WebhookSecret,
    okta: &passage_sandbox::okta::OktaEmulator,
) -> String {
    format!(
        "[[tenants]]\nid = \"{tenant}\"\nwebhook_secrets = [\"{}\"]\ndefault_time_zone = \"America/New_York\"\n\n[tenants.okta]\norg_url = \"{}\"\napi_token = \"{}\"\n\n[tenants.okta.pace]\nall = \"100000/min\"\nburst_percent = 100\n\n[tenants.guard]\nenabled = false\n",
        secret.to_whsec(),
        okta.base_url(),
        okta.api_token()
    )
}

/// POSTs a signed leaver webhook through the functions' router exactly as API Gateway (HTTP
/// API, payload 2.0) hands it to the intake function.
pub async fn webhook(
    host: &AwsHost,
    tenant: &str,
    secret: &passage_hris::WebhookSecret,
    id: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let ts = jiff::Timestamp::now().as_second();
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), "application/json".into());
    for (k, v) in passage_hris::signed_headers(secret, id, ts, body) {
        headers.insert(k, v.into());
    }
    let path = format!("/v1/tenants/{tenant}/webhooks/leaver");
    let route = "POST /v1/tenants/{tenant}/webhooks/leaver";
    let event = serde_json::json!({
        "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": id, "routeKey": route,
            "stage": "$default", "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "hris"}
        },
        "pathParameters": {"tenant": tenant},
        "body": String::from_utf8(body.to_vec()).unwrap(),
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).expect("API GW v2 event");
    let response = passage_http::router(host.api_state())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}
