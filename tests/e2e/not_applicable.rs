//! The way out of a block no retry clears: a leaver Okta does not know. An operator closes
//! Okta's steps as not applicable only when a fresh read proves the account absent; a user who
//! exists, or a read that fails, refuses. The proof reaches the signed bundle.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event, wait_for};
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{RunId, RunState, StepKey, StepState};
use passage_http::{Operator, Operators};
use passage_sandbox::okta::DEMO_LEAVER;
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "nadia-operator-token-0123456789abcdef";

async fn sandbox() -> (Sandbox, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("passage-na-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.operators = Operators::new(vec![Operator::new(
        "nadia",
        Some(&Secret::new(TOKEN)),
        None,
        vec!["demo".into()],
    )]);
    (Sandbox::start(options).await.unwrap(), dir)
}

async fn accept(sb: &Sandbox, id: &str, body: &[u8]) -> RunId {
    let r = sb.post(id, body).await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    RunId::new(v["run_id"].as_str().unwrap())
}

async fn blocked_ghost(sb: &Sandbox, msg: &str, email: &str) -> RunId {
    let id = accept(sb, msg, &leaver_event(email, "E9", Cutoff::Immediate)).await;
    wait_for(&sb.system, &id, Duration::from_secs(30), |r| {
        r.state == RunState::Blocked
    })
    .await
    .unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leaver_okta_does_not_know_is_closed_with_the_read_as_proof() {
    let (sb, dir) = sandbox().await;
    let id = blocked_ghost(&sb, "msg_ghost_na", "ghost@example.com").await;

    // The block names its way out, over the operator API.
    let shown: Value = sb
        .http
        .get(format!(
            "{}/v1/operator/tenants/demo/runs/{id}",
            sb.base_url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let commands: Vec<&str> = shown["resolve"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["command"].as_str())
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with(&format!("passage not-applicable {id} okta.snapshot"))),
        "{commands:?}"
    );

    let reads_before = sb.okta.counters().total();
    let r = sb
        .http
        .post(format!(
            "{}/v1/operator/tenants/demo/runs/{id}/steps/okta.snapshot/not-applicable",
            sb.base_url
        ))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"reason": "contractor: never had Okta (IT-88)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let answer: Value = r.json().await.unwrap();
    assert!(
        sb.okta.counters().total() > reads_before,
        "a fresh read was made"
    );
    assert_eq!(answer["proof"]["code"], "user_not_found");
    assert!(answer["steps"].as_array().unwrap().len() > 1, "{answer}");

    let run = sb.wait_closed(&id, Duration::from_secs(30)).await.unwrap();
    let steps = sb.system.store.steps(&id).await.unwrap();
    for s in steps.iter().filter(|s| s.key.as_str().starts_with("okta.")) {
        assert_eq!(s.state, StepState::NotApplicable, "{}", s.key);
        let proof = s.absence.as_ref().unwrap();
        assert_eq!(proof.operator, "nadia");
        assert!(!proof.calls.is_empty());
    }

    let bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let read = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(bundle.join(f)).unwrap()).unwrap()
    };
    let access = read("access.json");
    let account = access
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == "okta.account")
        .expect("the account is listed");
    assert_eq!(account["grade"], "not_applicable");
    assert_eq!(account["label"], "not applicable — proven absent");
    assert_eq!(account["accepted_by"], "nadia");
    assert_eq!(account["proof"]["code"], "user_not_found");
    assert!(account["proof"]["read_at"].is_string());
    assert!(!account["proof"]["calls"].as_array().unwrap().is_empty());
    let exceptions = read("exceptions.json");
    assert!(
        exceptions
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["item"] == "okta.account" && e["grade"] == "not_applicable")
    );
    let manifest = read("manifest.json");
    assert_eq!(manifest["access"]["counts"]["not_applicable"], 1);
    assert_eq!(
        manifest["not_applicable"][0]["reason"],
        "contractor: never had Okta (IT-88)"
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("verify")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leaver_okta_knows_is_refused_and_nothing_changes() {
    let (sb, dir) = sandbox().await;
    let far = jiff::Zoned::now().date() + jiff::Span::new().days(20);
    let id = accept(
        &sb,
        "msg_known_na",
        &leaver_event(DEMO_LEAVER, "E1", Cutoff::LastDay(far)),
    )
    .await;
    let err = sb
        .system
        .engine
        .not_applicable(
            &id,
            &StepKey::new("okta.suspend"),
            "nadia",
            "thought they had none",
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("found the leaver"), "{err}");
    let steps = sb.system.store.steps(&id).await.unwrap();
    assert!(
        steps
            .iter()
            .all(|s| s.absence.is_none() && s.state != StepState::NotApplicable)
    );
    assert_eq!(
        sb.system.store.run(&id).await.unwrap().unwrap().state,
        RunState::Scheduled
    );
    assert_eq!(
        format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status),
        "Active"
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_that_fails_proves_nothing() {
    let (sb, dir) = sandbox().await;
    let id = blocked_ghost(&sb, "msg_ghost_5xx", "ghost@example.com").await;
    sb.okta.knobs().set_error_rate_5xx(1.0);
    let err = sb
        .system
        .engine
        .not_applicable(
            &id,
            &StepKey::new("okta.snapshot"),
            "nadia",
            "never had Okta",
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did not prove the leaver absent"),
        "{err}"
    );
    sb.okta.knobs().set_error_rate_5xx(0.0);
    let run = sb.system.store.run(&id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Blocked);
    let steps = sb.system.store.steps(&id).await.unwrap();
    assert!(steps.iter().all(|s| s.state != StepState::NotApplicable));
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
