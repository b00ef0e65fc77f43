//! Webhook intake refusals, end to end over HTTP: every bad delivery is answered 4xx with a JSON
//! error naming the problem, and leaves nothing behind — no run stored, no request to Okta, no
//! change to the leaver. Then the positive side: redelivery is idempotent.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, TENANT, leaver_event};
use passage_core::ports::{RunFilter, RunStore};
use passage_core::{RunId, RunState};
use passage_sandbox::okta::{DEMO_LEAVER, UserStatus, event_type};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// A scratch data directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "passage-intake-errors-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start() -> (Scratch, Sandbox) {
    let scratch = Scratch::new();
    let sb = Sandbox::start(SandboxOptions::new(&scratch.0))
        .await
        .expect("sandbox starts");
    (scratch, sb)
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn immediate_body() -> Vec<u8> {
    leaver_event(DEMO_LEAVER, "E1001", Cutoff::Immediate)
}

/// A valid immediate leaver event as JSON, to be broken by the caller.
fn event_json() -> Value {
    serde_json::from_slice(&immediate_body()).unwrap()
}

/// POSTs `body` to `url` with exactly `headers` (plus a JSON content type).
async fn post_raw(
    sb: &Sandbox,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = sb
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req.send().await.expect("request reaches the host")
}

/// POSTs `body` signed with the tenant's real secret at `ts`.
async fn post_signed_at(
    sb: &Sandbox,
    url: &str,
    id: &str,
    ts: i64,
    body: Vec<u8>,
) -> reqwest::Response {
    let headers = passage_hris::signed_headers(&sb.secret, id, ts, &body);
    post_raw(sb, url, &headers, body).await
}

/// Asserts nothing was stored and Okta was never touched.
async fn assert_no_effect(sb: &Sandbox, case: &str) {
    let runs = sb
        .system
        .store
        .list_runs(&RunFilter::default())
        .await
        .unwrap();
    assert!(
        runs.is_empty(),
        "{case}: a refused delivery stored {} run(s): {:?}",
        runs.len(),
        runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>()
    );
    let due = sb
        .system
        .store
        .due_runs(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 400))
        .await
        .unwrap();
    assert!(
        due.is_empty(),
        "{case}: a refused delivery scheduled {due:?}"
    );
    assert_eq!(
        sb.okta.counters().total(),
        0,
        "{case}: Okta was called after a refused delivery: {:?}",
        sb.okta.counters().by_route()
    );
    assert!(
        sb.okta.system_log().is_empty(),
        "{case}: Okta changed something after a refused delivery"
    );
    let jane = sb.okta.user(DEMO_LEAVER).expect("demo leaver exists");
    assert_eq!(
        jane.status,
        UserStatus::Active,
        "{case}: leaver status changed"
    );
    assert_eq!(jane.sessions, 2, "{case}: leaver sessions changed");
}

/// Asserts the answer is `status` with `{"error":{"code":code,"message":…}}` whose message
/// mentions every `needle` (case-insensitively), then that nothing happened. Returns the body.
async fn assert_refused(
    sb: &Sandbox,
    case: &str,
    resp: reqwest::Response,
    status: u16,
    code: &str,
    needles: &[&str],
) -> Value {
    let got = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{case}: wrong status; body {text}");
    assert!(
        content_type.starts_with("application/json"),
        "{case}: error body is {content_type:?}, not JSON: {text}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{case}: error body is not JSON ({e}): {text}"));
    assert_eq!(
        body["error"]["code"].as_str(),
        Some(code),
        "{case}: wrong error code in {body}"
    );
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: no error.message in {body}"));
    assert!(!message.is_empty(), "{case}: empty message");
    for needle in needles {
        assert!(
            message.to_lowercase().contains(&needle.to_lowercase()),
            "{case}: message {message:?} does not mention {needle:?}"
        );
    }
    assert!(
        body.get("run_id").is_none() && body["error"].get("run_id").is_none(),
        "{case}: a refusal carries a run id: {body}"
    );
    assert_no_effect(sb, case).await;
    body
}

/// Asserts `body.error.details` has an entry for `path` with `code`.
fn assert_detail(case: &str, body: &Value, path: &str, code: &str) {
    let details = body["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: no details in {body}"));
    assert!(
        details
            .iter()
            .any(|d| d["path"] == path && d["code"] == code && d["message"].is_string()),
        "{case}: no {code} detail for {path} in {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authentication_failures_are_refused_and_store_nothing() {
    let (_scratch, sb) = start().await;
    let url = sb.webhook_url();
    let body = immediate_body();

    // Signed with a different secret.
    let wrong = passage::harness::random_secret();
    let headers = passage_hris::signed_headers(&wrong, "msg_wrong_secret", now(), &body);
    let resp = post_raw(&sb, &url, &headers, body.clone()).await;
    assert_refused(
        &sb,
        "wrong secret",
        resp,
        401,
        "bad_signature",
        &["signature"],
    )
    .await;

    // Signed correctly, then the body changed in transit (a different employee).
    let headers = passage_hris::signed_headers(&sb.secret, "msg_tampered", now(), &body);
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("E1001", "E1002")
        .into_bytes();
    assert_ne!(tampered, body);
    let resp = post_raw(&sb, &url, &headers, tampered).await;
    assert_refused(
        &sb,
        "tampered body",
        resp,
        401,
        "bad_signature",
        &["signature"],
    )
    .await;

    // One byte appended after signing.
    let mut longer = body.clone();
    longer.push(b' ');
    let resp = post_raw(&sb, &url, &headers, longer).await;
    assert_refused(
        &sb,
        "byte appended",
        resp,
        401,
        "bad_signature",
        &["signature"],
    )
    .await;

    // The signature of one delivery id replayed under another.
    let mut replayed = passage_hris::signed_headers(&sb.secret, "msg_original", now(), &body);
    replayed[0].1 = "msg_other".into();
    let resp = post_raw(&sb, &url, &replayed, body.clone()).await;
    assert_refused(
        &sb,
        "id swapped",
        resp,
        401,
        "bad_signature",
        &["signature"],
    )
    .await;

    // Correctly signed, but stale or from the future.
    let resp = post_signed_at(&sb, &url, "msg_stale", now() - 600, body.clone()).await;
    assert_refused(
        &sb,
        "stale timestamp",
        resp,
        401,
        "stale_timestamp",
        &["old"],
    )
    .await;
    let resp = post_signed_at(&sb, &url, "msg_future", now() + 600, body.clone()).await;
    assert_refused(
        &sb,
        "future timestamp",
        resp,
        401,
        "future_timestamp",
        &["future"],
    )
    .await;

    // A signature over the stale timestamp presented with a fresh one.
    let mut moved = passage_hris::signed_headers(&sb.secret, "msg_moved", now() - 600, &body);
    moved[1].1 = now().to_string();
    let resp = post_raw(&sb, &url, &moved, body.clone()).await;
    assert_refused(
        &sb,
        "timestamp moved",
        resp,
        401,
        "bad_signature",
        &["signature"],
    )
    .await;

    // Each of the three headers missing.
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let headers: Vec<(String, String)> =
            passage_hris::signed_headers(&sb.secret, "msg_missing", now(), &body)
                .into_iter()
                .filter(|(k, _)| k != missing)
                .collect();
        assert_eq!(headers.len(), 2);
        let resp = post_raw(&sb, &url, &headers, body.clone()).await;
        assert_refused(
            &sb,
            &format!("missing {missing}"),
            resp,
            400,
            "missing_header",
            &[missing],
        )
        .await;
    }

    // No headers at all.
    let resp = post_raw(&sb, &url, &[], body.clone()).await;
    assert_refused(
        &sb,
        "no headers",
        resp,
        400,
        "missing_header",
        &["webhook-"],
    )
    .await;

    // A timestamp that is not Unix seconds.
    let mut bad_ts = passage_hris::signed_headers(&sb.secret, "msg_bad_ts", now(), &body);
    bad_ts[1].1 = jiff::Timestamp::now().to_string();
    let resp = post_raw(&sb, &url, &bad_ts, body.clone()).await;
    assert_refused(
        &sb,
        "non-integer timestamp",
        resp,
        400,
        "invalid_timestamp",
        &[],
    )
    .await;

    // After all that, give any stray background work time to show itself.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_no_effect(&sb, "after authentication failures").await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payload_problems_are_refused_and_store_nothing() {
    let (_scratch, sb) = start().await;
    let url = sb.webhook_url();

    // Malformed JSON, correctly signed.
    let resp = post_signed_at(
        &sb,
        &url,
        "msg_json",
        now(),
        b"{\"type\": \"passage.leaver.v1\",".to_vec(),
    )
    .await;
    assert_refused(&sb, "malformed JSON", resp, 400, "invalid_json", &["JSON"]).await;

    // Not an object.
    let resp = post_signed_at(&sb, &url, "msg_array", now(), b"[1,2,3]".to_vec()).await;
    assert_refused(&sb, "array body", resp, 400, "invalid_field", &["object"]).await;

    // An empty body.
    let resp = post_signed_at(&sb, &url, "msg_empty", now(), Vec::new()).await;
    assert_refused(&sb, "empty body", resp, 400, "invalid_json", &[]).await;

    // A required field missing.
    for field in ["employee_id", "email", "tenant", "time_zone", "type"] {
        let mut event = event_json();
        event.as_object_mut().unwrap().remove(field);
        let case = format!("missing {field}");
        let resp = post_signed_at(
            &sb,
            &url,
            "msg_missing_field",
            now(),
            serde_json::to_vec(&event).unwrap(),
        )
        .await;
        let body = assert_refused(&sb, &case, resp, 400, "missing_field", &[field]).await;
        assert_detail(&case, &body, &format!("/{field}"), "missing_field");
    }

    // No cutoff at all (not immediate, no date): missing.
    let mut event = event_json();
    event["immediate"] = false.into();
    let resp = post_signed_at(
        &sb,
        &url,
        "msg_no_cutoff",
        now(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    assert_refused(
        &sb,
        "no cutoff",
        resp,
        400,
        "missing_field",
        &["last_working_day"],
    )
    .await;

    // Invalid fields.
    let invalid: Vec<(&str, &str, Value)> = vec![
        (
            "bad email",
            "/email",
            json!({"email": "jane.doe-at-example.com"}),
        ),
        (
            "bad email domain",
            "/email",
            json!({"email": "jane@localhost"}),
        ),
        (
            "unknown time zone",
            "/time_zone",
            json!({"time_zone": "Mars/Olympus_Mons"}),
        ),
        (
            "impossible date",
            "/last_working_day",
            json!({"immediate": false, "last_working_day": "2025-02-30"}),
        ),
        (
            "badly shaped date",
            "/last_working_day",
            json!({"immediate": false, "last_working_day": "31/03/2025"}),
        ),
        (
            "bad instant",
            "/cutoff_at",
            json!({"immediate": false, "cutoff_at": "tomorrow at noon"}),
        ),
        (
            "wrong event type",
            "/type",
            json!({"type": "passage.joiner.v1"}),
        ),
        (
            "immediate not a boolean",
            "/immediate",
            json!({"immediate": "yes"}),
        ),
        (
            "bad manager email",
            "/manager/email",
            json!({"manager": {"email": "sam"}}),
        ),
        (
            "employee id with spaces",
            "/employee_id",
            json!({"employee_id": " E1001 "}),
        ),
        ("email is a number", "/email", json!({"email": 42})),
    ];
    for (case, path, patch) in invalid {
        let mut event = event_json();
        for (k, v) in patch.as_object().unwrap() {
            event[k] = v.clone();
        }
        let resp = post_signed_at(
            &sb,
            &url,
            "msg_invalid",
            now(),
            serde_json::to_vec(&event).unwrap(),
        )
        .await;
        let field = path.rsplit('/').next().unwrap();
        let body = assert_refused(&sb, case, resp, 400, "invalid_field", &[field]).await;
        assert_detail(case, &body, path, "invalid_field");
    }

    // Unknown fields (a typo must not be silently ignored), top level and nested.
    let mut event = event_json();
    event["last_workday"] = "2030-01-31".into();
    let resp = post_signed_at(
        &sb,
        &url,
        "msg_unknown",
        now(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    let body = assert_refused(
        &sb,
        "unknown field",
        resp,
        400,
        "unknown_field",
        &["last_workday"],
    )
    .await;
    assert_detail("unknown field", &body, "/last_workday", "unknown_field");
    let mut event = event_json();
    event["manager"]["phone"] = "555-0100".into();
    let resp = post_signed_at(
        &sb,
        &url,
        "msg_unknown_nested",
        now(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    let body = assert_refused(
        &sb,
        "unknown nested field",
        resp,
        400,
        "unknown_field",
        &["phone"],
    )
    .await;
    assert_detail(
        "unknown nested field",
        &body,
        "/manager/phone",
        "unknown_field",
    );

    // A field given twice: which one counts would be ambiguous.
    let text = String::from_utf8(immediate_body()).unwrap();
    let doubled = text.replacen(
        "\"employee_id\"",
        "\"employee_id\":\"E9999\",\"employee_id\"",
        1,
    );
    assert_ne!(doubled, text);
    let resp = post_signed_at(&sb, &url, "msg_dup", now(), doubled.into_bytes()).await;
    let body = assert_refused(
        &sb,
        "duplicate field",
        resp,
        400,
        "duplicate_field",
        &["employee_id"],
    )
    .await;
    assert_detail("duplicate field", &body, "/employee_id", "duplicate_field");

    // Several problems at once: all are listed.
    let mut event = event_json();
    event["email"] = "nope".into();
    event["time_zone"] = "Nowhere/Nothing".into();
    event.as_object_mut().unwrap().remove("employee_id");
    let resp = post_signed_at(
        &sb,
        &url,
        "msg_many",
        now(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    let body = assert_refused(
        &sb,
        "several problems",
        resp,
        400,
        "invalid_event",
        &["email", "time_zone", "employee_id"],
    )
    .await;
    assert_detail("several problems", &body, "/email", "invalid_field");
    assert_detail("several problems", &body, "/time_zone", "invalid_field");
    assert_detail("several problems", &body, "/employee_id", "missing_field");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_no_effect(&sb, "after payload problems").await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenant_and_size_problems_are_refused_and_store_nothing() {
    let (_scratch, sb) = start().await;

    // A tenant Passage does not know, in the path (and the body, so only the path is wrong).
    let mut event = event_json();
    event["tenant"] = "nosuch".into();
    let other_url = format!("{}/v1/tenants/nosuch/webhooks/leaver", sb.base_url);
    let resp = post_signed_at(
        &sb,
        &other_url,
        "msg_unknown_tenant",
        now(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    assert_refused(
        &sb,
        "unknown tenant",
        resp,
        404,
        "unknown_tenant",
        &["nosuch"],
    )
    .await;

    // A path segment that is not even a valid tenant id.
    let bad_url = format!("{}/v1/tenants/Demo/webhooks/leaver", sb.base_url);
    let resp = post_signed_at(&sb, &bad_url, "msg_bad_tenant", now(), immediate_body()).await;
    assert_refused(
        &sb,
        "invalid tenant id",
        resp,
        404,
        "unknown_tenant",
        &["Demo"],
    )
    .await;

    // Delivered to this tenant (and signed with its secret) but naming another in the body.
    let mut event = event_json();
    event["tenant"] = "other-co".into();
    let resp = post_signed_at(
        &sb,
        &sb.webhook_url(),
        "msg_mismatch",
        now(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    assert_refused(
        &sb,
        "tenant mismatch",
        resp,
        403,
        "tenant_mismatch",
        &["other-co", TENANT],
    )
    .await;

    // Just over 64 KiB, correctly signed: the engine's own JSON 413.
    let limit = passage_hris::MAX_BODY_BYTES;
    assert_eq!(limit, 64 * 1024);
    let oversized = padded_event(limit + 1);
    assert_eq!(oversized.len(), limit + 1);
    let resp = post_signed_at(&sb, &sb.webhook_url(), "msg_big", now(), oversized).await;
    assert_refused(
        &sb,
        "body one byte over 64 KiB",
        resp,
        413,
        "payload_too_large",
        &["65537"],
    )
    .await;

    // Far over the limit (1 MiB): read to its end and thrown away, then the same JSON 413, so
    // a sender that writes the whole body before reading always sees the refusal.
    let resp = post_signed_at(
        &sb,
        &sb.webhook_url(),
        "msg_huge",
        now(),
        padded_event(1024 * 1024),
    )
    .await;
    assert_refused(&sb, "1 MiB body", resp, 413, "payload_too_large", &[]).await;

    // Exactly at the limit is not refused for its size (it is a valid event): the boundary is
    // where the documentation puts it. Checked last, because it creates a run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_no_effect(&sb, "after tenant and size problems").await;
    let at_limit = padded_event(limit);
    assert_eq!(at_limit.len(), limit);
    let resp = post_signed_at(&sb, &sb.webhook_url(), "msg_at_limit", now(), at_limit).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 202, "a 64 KiB event was refused: {text}");
    sb.shutdown().await;
}

/// A body past what the host will read (the drain limit) is refused either with the JSON 413
/// or by closing the connection, depending on how far the sender got before the host stopped
/// reading. Both must read as a refusal to the sender, and nothing may be stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_body_past_the_drain_limit_is_refused_and_stores_nothing() {
    let (_scratch, sb) = start().await;
    let endless = padded_event(passage_http::DRAIN_LIMIT * 2);
    let headers = passage_hris::signed_headers(&sb.secret, "msg_endless", now(), &endless);
    let mut req = sb
        .http
        .post(sb.webhook_url())
        .header("content-type", "application/json")
        .body(endless);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match req.send().await {
        Ok(resp) => {
            assert_refused(&sb, "16 MiB body", resp, 413, "payload_too_large", &[]).await;
        }
        // The host stopped reading and closed: the sender sees a failed delivery, never a 2xx.
        Err(e) => assert!(
            e.is_request() || e.is_body() || e.is_connect(),
            "unexpected failure: {e}"
        ),
    }
    assert_no_effect(&sb, "16 MiB body").await;
    sb.shutdown().await;
}

/// A valid immediate event padded with trailing JSON whitespace to exactly `len` bytes.
fn padded_event(len: usize) -> Vec<u8> {
    let mut body = immediate_body();
    assert!(body.len() < len);
    // Whitespace after the closing brace is still valid JSON.
    body.resize(len, b' ');
    body
}

fn run_id_of(body: &Value) -> RunId {
    RunId::new(body["run_id"].as_str().expect("run_id in the answer"))
}

async fn post_ok(sb: &Sandbox, id: &str, body: &[u8]) -> (u16, Value) {
    let resp = sb.post(id, body).await.unwrap();
    let status = resp.status().as_u16();
    let json: Value = resp.json().await.unwrap();
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redelivery_returns_the_same_run_and_stores_one() {
    let (_scratch, sb) = start().await;
    // A cutoff days away: the run stays scheduled (open) for the whole test.
    let day = jiff::Zoned::now().date() + jiff::Span::new().days(10);
    let body = leaver_event(DEMO_LEAVER, "E1001", Cutoff::LastDay(day));

    let (status, first) = post_ok(&sb, "msg_idem_1", &body).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["created"], true, "{first}");
    assert_eq!(first["state"], "scheduled", "{first}");
    let run_id = run_id_of(&first);

    // The same delivery again (a sender retry): 200, same run.
    let (status, second) = post_ok(&sb, "msg_idem_1", &body).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["created"], false, "{second}");
    assert_eq!(run_id_of(&second), run_id);
    assert_eq!(second["cutoff_at"], first["cutoff_at"]);

    // A different delivery for the same employee while the run is open: same run.
    let (status, third) = post_ok(&sb, "msg_idem_2", &body).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(third["created"], false, "{third}");
    assert_eq!(run_id_of(&third), run_id);

    // Even one with another cutoff does not start a competing run.
    let other = leaver_event(
        DEMO_LEAVER,
        "E1001",
        Cutoff::LastDay(day + jiff::Span::new().days(1)),
    );
    let (status, fourth) = post_ok(&sb, "msg_idem_3", &other).await;
    assert_eq!(status, 200, "{fourth}");
    assert_eq!(run_id_of(&fourth), run_id);

    let runs = sb
        .system
        .store
        .list_runs(&RunFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].id, run_id);
    assert_eq!(runs[0].state, RunState::Scheduled);
    assert_eq!(runs[0].idempotency_key, "standard-webhooks:msg_idem_1");
    // The cutoff is in the future: Okta has not been touched.
    assert_eq!(sb.okta.counters().total(), 0);
    assert_eq!(
        sb.okta.user(DEMO_LEAVER).unwrap().status,
        UserStatus::Active
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redelivery_while_running_does_not_act_twice() {
    let scratch = Scratch::new();
    let mut options = SandboxOptions::new(&scratch.0);
    // Slow Okta, so the run is still running when the second delivery arrives.
    options.okta_latency = Duration::from_millis(150);
    let sb = Sandbox::start(options).await.unwrap();
    let body = immediate_body();

    let (status, first) = post_ok(&sb, "msg_run_1", &body).await;
    assert_eq!(status, 202, "{first}");
    let run_id = run_id_of(&first);
    let (status, again) = post_ok(&sb, "msg_run_1", &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(run_id_of(&again), run_id);
    let (status, other) = post_ok(&sb, "msg_run_2", &body).await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(run_id_of(&other), run_id);
    assert_eq!(
        other["state"], "running",
        "the second delivery should have found the run still open: {other}"
    );

    let run = sb
        .wait_closed(&run_id, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(run.bundle.is_some());

    // The original delivery once more, after the close: still that run, nothing new.
    let (status, late) = post_ok(&sb, "msg_run_1", &body).await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(run_id_of(&late), run_id);
    assert_eq!(late["state"], "closed");

    let runs = sb
        .system
        .store
        .list_runs(&RunFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    // Okta saw one offboarding: one suspension, one session clear.
    let jane = sb.okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(jane.status, UserStatus::Suspended);
    assert_eq!(sb.okta.count_events(event_type::USER_SUSPEND, &jane.id), 1);
    assert_eq!(sb.okta.count_events(event_type::SESSION_CLEAR, &jane.id), 1);
    assert_eq!(
        sb.okta
            .counters()
            .count("POST", "/api/v1/users/{id}/lifecycle/suspend"),
        1,
        "{:?}",
        sb.okta.counters().by_route()
    );
    sb.shutdown().await;
}

/// POSTs a correctly signed `body` with `content_type` (or none).
async fn post_typed(
    sb: &Sandbox,
    id: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = sb.http.post(sb.webhook_url()).body(body.clone());
    for (k, v) in passage_hris::signed_headers(&sb.secret, id, now(), &body) {
        req = req.header(k, v);
    }
    if let Some(t) = content_type {
        req = req.header("content-type", t);
    }
    req.send().await.expect("request reaches the host")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leaver_event_not_sent_as_json_is_refused_with_415() {
    let (_scratch, sb) = start().await;
    for (case, content_type) in [
        ("text/plain", Some("text/plain")),
        ("form", Some("application/x-www-form-urlencoded")),
        ("no content type", None),
    ] {
        let resp = post_typed(&sb, &format!("msg_{case}"), content_type, immediate_body()).await;
        assert_refused(
            &sb,
            case,
            resp,
            415,
            "unsupported_media_type",
            &["application/json"],
        )
        .await;
    }
    // JSON with a charset parameter is JSON.
    let resp = post_typed(
        &sb,
        "msg_charset",
        Some("application/json; charset=utf-8"),
        immediate_body(),
    )
    .await;
    assert_eq!(resp.status(), 202);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dates_outside_the_window_are_refused_with_422_unless_immediate() {
    let (_scratch, sb) = start().await;
    let url = sb.webhook_url();
    let far = jiff::Zoned::now().date() + jiff::Span::new().days(800);
    for (n, (case, dates, path)) in [
        (
            "year zero",
            json!({"last_working_day": "0000-01-01"}),
            "/last_working_day",
        ),
        (
            "more than two years ahead",
            json!({"last_working_day": far.to_string()}),
            "/last_working_day",
        ),
        (
            "an instant long past",
            json!({"cutoff_at": "2000-01-01T00:00:00Z"}),
            "/cutoff_at",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut event = event_json();
        event["immediate"] = false.into();
        for (k, v) in dates.as_object().unwrap() {
            event[k] = v.clone();
        }
        let body = serde_json::to_vec(&event).unwrap();
        let resp = post_signed_at(&sb, &url, &format!("msg_window_{n}"), now(), body).await;
        let v = assert_refused(&sb, case, resp, 422, "invalid_date", &[path]).await;
        assert_detail(case, &v, path, "invalid_field");
    }
    // The same ancient date with `immediate`: taken, and cut at once.
    let mut event = event_json();
    event["last_working_day"] = "0000-01-01".into();
    let body = serde_json::to_vec(&event).unwrap();
    let resp = post_signed_at(&sb, &url, "msg_immediate", now(), body).await;
    assert_eq!(resp.status(), 202);
    let v: Value = resp.json().await.unwrap();
    let cutoff: jiff::Timestamp = v["cutoff_at"].as_str().unwrap().parse().unwrap();
    assert!(
        cutoff > jiff::Timestamp::now() - jiff::SignedDuration::from_mins(5),
        "immediate cuts now, not in year zero: {v}"
    );
    sb.shutdown().await;
}
