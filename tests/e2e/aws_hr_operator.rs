//! The Lambda intake handler on the local AWS emulator (moto), for what arrives besides
//! Passage's own event: HR vendors' signed webhooks (followed up in the vendor's API), and the
//! operator API behind API Gateway's IAM authorizer, where the verified principal — never a
//! header — names the operator and its tenants.

use crate::common;
use common::aws::aws_host;
use common::hr_vendors;
use passage_core::RunState;
use passage_core::ports::RunFilter;
use passage_lambda::AwsHost;
use passage_moto::Moto;
use passage_sandbox::hr::directory::DEMO_LEAVER;
use passage_sandbox::okta::{OktaConfig, OktaEmulator};
use serde_json::{Value, json};
use tower::ServiceExt;

const OPS_ROLE: &str = "arn:aws:iam::123456789012:role/acme-it";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/someone-else";

struct World {
    _moto: Moto,
    host: AwsHost,
    _okta: OktaEmulator,
}

/// The local AWS (moto, with Passage's resources under `prefix`) and the Okta emulator every
/// tenant here points at.
async fn aws_and_okta(
    prefix: &str,
) -> (
    Moto,
    aws_config::SdkConfig,
    passage_aws::AwsNames,
    OktaEmulator,
) {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let names = passage_moto::provision(&sdk, prefix)
        .await
        .expect("provision");
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    (moto, sdk, names, okta)
}

/// Two tenants on the Okta emulator: Acme (London, plus the `acme` tables) and Globex; `rest`
/// follows them (operators).
fn tenants_toml(okta: &OktaEmulator, acme: &str, rest: &str) -> String {
    format!(
        r#"
[[tenants]]
id = "acme"
default_time_zone = "Europe/London"
{acme}
[tenants.okta]
org_url = "{okta_url}"
api_token = "{okta_token}"

[[tenants]]
id = "globex"

[tenants.okta]
org_url = "{okta_url}"
api_token = "{okta_token}"
{rest}"#,
        okta_url = okta.base_url(),
        okta_token = okta.api_token(),
    )
}

async fn world() -> World {
    let (moto, sdk, names, okta) = aws_and_okta("hrop").await;
    let tenants = tenants_toml(
        &okta,
        "",
        &format!(
            "\n[[operators]]\nname = \"acme-it\"\niam_principal = \"{OPS_ROLE}\"\ntenants = [\"acme\"]\n"
        ),
    );
    let host = aws_host(&sdk, names, &tenants, "hrop-link-key").await;
    World {
        _moto: moto,
        host,
        _okta: okta,
    }
}

/// Sends a request through the functions' app exactly as API Gateway (HTTP API, payload 2.0)
/// hands it over, with the IAM authorizer's verified principal when given.
async fn call(
    host: &AwsHost,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    iam: Option<&str>,
) -> (u16, Value) {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), v.clone().into());
    }
    let mut context = json!({
        "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
        "domainPrefix": "api", "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "$default",
        "stage": "$default", "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 0,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "test"}
    });
    if let Some(arn) = iam {
        context["authorizer"] = json!({"iam": {
            "accessKey": "AKIAEXAMPLE", "accountId": "123456789012", "callerId": "AROAEXAMPLE",
            "principalOrgId": null, "userArn": arn, "userId": "AROAEXAMPLE:session"
        }});
    }
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": context,
        "body": String::from_utf8(body.to_vec()).unwrap(),
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).expect("API GW v2 event");
    let response = host.app().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Every vendor's genuine delivery through the Lambda intake makes one run with HR's facts;
/// forged, stale, misdirected and replayed deliveries store nothing new in DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_vendor_webhook_through_the_lambda_intake_starts_one_run() {
    let (_moto, sdk, _, okta) = aws_and_okta("hrv").await;
    for (n, vendor) in hr_vendors::VENDORS.into_iter().enumerate() {
        let c = hr_vendors::case(vendor).await;
        let names = passage_moto::provision(&sdk, &format!("hrv{n}"))
            .await
            .expect("provision");
        let q = |s: &str| serde_json::to_string(s).unwrap();
        let acme = format!(
            "\n[[tenants.hr_webhooks]]\nvendor = \"{vendor}\"\nsecrets = [{}]\n\n[tenants.hr_api]\n{}",
            q(&c.secret),
            hr_vendors::hr_api_toml(&c.settings)
        );
        let tenants = tenants_toml(&okta, &acme, "");
        let host = aws_host(&sdk, names, &tenants, "hrv-link-key").await;
        let store = &host.engine.ports().store;
        let all = RunFilter::default;
        let path = format!("/v1/tenants/acme/webhooks/{vendor}");
        let genuine = hr_vendors::headers_of(&c.genuine);

        let (h, body) = hr_vendors::forged(vendor, &c);
        let (s, v) = call(&host, "POST", &path, &h, &body, None).await;
        assert_eq!(s, 401, "{vendor} forged: {v}");
        if let Some((h, body)) = &c.stale {
            let (s, v) = call(&host, "POST", &path, h, body, None).await;
            assert_eq!(s, 401, "{vendor} stale: {v}");
            assert_eq!(v["error"]["code"], "stale_timestamp", "{vendor}: {v}");
        }
        // Globex takes no hooks from this vendor: the genuine delivery sent there is refused.
        let other = format!("/v1/tenants/globex/webhooks/{vendor}");
        let (s, v) = call(&host, "POST", &other, &genuine, &c.genuine.body, None).await;
        assert_eq!(s, 401, "{vendor} misdirected: {v}");
        assert!(
            store.list_runs(&all()).await.unwrap().is_empty(),
            "{vendor}: refused deliveries stored nothing"
        );

        let (s, v) = call(&host, "POST", &path, &genuine, &c.genuine.body, None).await;
        assert_eq!(s, 202, "{vendor}: {v}");
        assert_eq!(v["outcome"], "created", "{vendor}: {v}");
        let runs = store.list_runs(&all()).await.unwrap();
        assert_eq!(runs.len(), 1, "{vendor}");
        assert_eq!(runs[0].subject.email, DEMO_LEAVER, "{vendor}");
        assert_eq!(runs[0].subject.employee_id, c.leaver_id, "{vendor}");
        assert_eq!(runs[0].state, RunState::Scheduled, "{vendor}");
        let local = runs[0]
            .cutoff
            .at
            .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap());
        assert_eq!(
            (local.date(), local.hour()),
            (hr_vendors::termination_day(), 17),
            "{vendor}: cut at the end of the HR termination day"
        );

        // Replayed: the same run, nothing new in DynamoDB.
        let (s, v) = call(&host, "POST", &path, &genuine, &c.genuine.body, None).await;
        assert_eq!(s, 200, "{vendor} replay: {v}");
        assert_eq!(v["run_id"], runs[0].id.as_str(), "{vendor}");
        assert_eq!(store.list_runs(&all()).await.unwrap().len(), 1, "{vendor}");
        assert_eq!(
            store.events(&runs[0].id).await.unwrap().len(),
            1,
            "{vendor}: only run.created"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_api_on_aws_trusts_only_the_verified_iam_principal() {
    let w = world().await;
    // A run in each tenant, started by the operator API itself (acme) and the engine (globex).
    let start =
        json!({"employee_id": "E1", "email": DEMO_LEAVER, "last_working_day": "2031-01-10"});
    let body = serde_json::to_vec(&start).unwrap();
    let json_h = vec![("content-type".to_owned(), "application/json".to_owned())];
    let (s, v) = call(
        &w.host,
        "POST",
        "/v1/operator/tenants/acme/runs",
        &json_h,
        &body,
        Some(OPS_ROLE),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let acme_run = v["run_id"].as_str().unwrap().to_owned();

    // No principal and no token: 401. An unknown principal: 403. A principal named in a
    // header is just a header.
    let (s, _) = call(
        &w.host,
        "GET",
        "/v1/operator/tenants/acme/runs",
        &[],
        b"",
        None,
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = call(
        &w.host,
        "GET",
        "/v1/operator/tenants/acme/runs",
        &[],
        b"",
        Some(OTHER_ROLE),
    )
    .await;
    assert_eq!(s, 403);
    let spoof = vec![("x-amzn-iam-user-arn".to_owned(), OPS_ROLE.to_owned())];
    let (s, _) = call(
        &w.host,
        "GET",
        "/v1/operator/tenants/acme/runs",
        &spoof,
        b"",
        None,
    )
    .await;
    assert_eq!(s, 401);

    // The operator's tenant only.
    let (s, v) = call(
        &w.host,
        "GET",
        "/v1/operator/tenants/acme/runs",
        &[],
        b"",
        Some(OPS_ROLE),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["runs"][0]["run_id"], acme_run.as_str());
    let (s, _) = call(
        &w.host,
        "GET",
        "/v1/operator/tenants/globex/runs",
        &[],
        b"",
        Some(OPS_ROLE),
    )
    .await;
    assert_eq!(s, 404);

    // Cancel: recorded with the operator's name, in DynamoDB.
    let (s, v) = call(
        &w.host,
        "POST",
        &format!("/v1/operator/tenants/acme/runs/{acme_run}/cancel"),
        &json_h,
        br#"{"reason":"resignation withdrawn"}"#,
        Some(OPS_ROLE),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let id = passage_core::RunId::new(acme_run.as_str());
    let run = w.host.engine.ports().store.run(&id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Cancelled);
    assert_eq!(run.cancellation.unwrap().actor, "operator:acme-it");
    // Bad input: a clear 4xx, nothing changed.
    let (s, v) = call(
        &w.host,
        "POST",
        "/v1/operator/tenants/acme/runs",
        &json_h,
        br#"{"employee_id":"E2","email":"not-an-address","immediate":true}"#,
        Some(OPS_ROLE),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("email"));
    assert_eq!(
        w.host
            .engine
            .ports()
            .store
            .list_runs(&RunFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Gusto's subscription handshake through the Lambda intake: the token Gusto confirms is kept
/// in DynamoDB and then authenticates Gusto's signed deliveries; a forged one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gusto_handshake_through_the_lambda_intake_keeps_the_confirmed_token() {
    use passage_sandbox::hr::gusto::GustoEmulator;
    use passage_sandbox::hr::receiver::RawReceiver;
    let (moto, sdk, names, okta) = aws_and_okta("gushs").await;
    let (gusto, people) = GustoEmulator::start_demo().await.unwrap();
    gusto
        .terminate(&people.leaver_id, hr_vendors::termination_day())
        .unwrap();
    let rx = RawReceiver::start().await.unwrap();
    let subscription = gusto.create_subscription(&rx.url());
    let acme = format!(
        r#"
[[tenants.hr_webhooks]]
vendor = "gusto"

[tenants.hr_api]
vendor = "gusto"
access_token = "{access}"
company_uuid = "{company}"
base_url = "{base}"
webhook_subscription_uuid = "{subscription}"
system_token = "{system}"
"#,
        access = gusto.access_token(),
        company = gusto.company_uuid(),
        base = gusto.base_url(),
        system = gusto.system_token(),
    );
    let tenants = tenants_toml(&okta, &acme, "");
    let host = aws_host(&sdk, names, &tenants, "gushs-link-key").await;
    let path = "/v1/tenants/acme/webhooks/gusto";
    let json = vec![("content-type".to_owned(), "application/json".to_owned())];

    let forged = br#"{"verification_token":"not-issued-by-gusto"}"#;
    let (s, v) = call(&host, "POST", path, &json, forged, None).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"]["code"], "handshake_refused");

    gusto.send_verification_token(&subscription).await.unwrap();
    let handshake = rx.received().pop().unwrap();
    let (s, v) = call(&host, "POST", path, &json, &handshake.body, None).await;
    assert_eq!(s, 200, "{v}");
    assert!(gusto.subscription_verified(&subscription));

    gusto
        .send_subscription_event(&subscription, "employee.terminated", &people.leaver_id)
        .await
        .expect("verified")
        .unwrap();
    let event = rx.received().pop().unwrap();
    let headers: Vec<(String, String)> = hr_vendors::headers_of(&event);
    let (s, v) = call(&host, "POST", path, &headers, &event.body, None).await;
    assert_eq!(s, 202, "{v}");
    let runs = host
        .engine
        .ports()
        .store
        .list_runs(&RunFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].subject.employee_id, people.leaver_id);
    drop(moto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_of_the_configured_role_is_that_operator() {
    let w = world().await;
    // What API Gateway reports for a caller who assumed the role: its session, not the role.
    let session = "arn:aws:sts::123456789012:assumed-role/acme-it/jane@example.com";
    let (s, v) = call(
        &w.host,
        "GET",
        "/v1/operator/tenants/acme/runs",
        &[],
        b"",
        Some(session),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Still scoped to the operator's tenants.
    let (s, _) = call(
        &w.host,
        "GET",
        "/v1/operator/tenants/globex/runs",
        &[],
        b"",
        Some(session),
    )
    .await;
    assert_eq!(s, 404);
    // A session of another role, or of the same name in another account, is nobody.
    for other in [
        "arn:aws:sts::123456789012:assumed-role/acme-it-readonly/jane",
        "arn:aws:sts::999999999999:assumed-role/acme-it/jane",
    ] {
        let (s, _) = call(
            &w.host,
            "GET",
            "/v1/operator/tenants/acme/runs",
            &[],
            b"",
            Some(other),
        )
        .await;
        assert_eq!(s, 403, "{other}");
    }
}
