//! `passage plan` through the operator API against all four sandbox providers: the preview
//! reads the demo leaver and changes nothing (every request the emulators served is a read
//! or a token request, and no effect took hold), and a real run then changes exactly the
//! steps the preview said it would, removing the Okta groups it named.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{Provider, StepState};
use passage_http::{Operator, Operators};
use passage_sandbox::okta::{DEMO_LEAVER, RequestCounters};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "plan-operator-token-0123456789abcdef";

/// Every (method, route) served that is neither a read nor a token request.
fn writes(counters: &RequestCounters) -> Vec<String> {
    counters
        .by_route()
        .into_keys()
        .filter(|(method, route)| method != "GET" && !route.contains("token"))
        .map(|(method, route)| format!("{method} {route}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_reads_only_and_lists_what_the_run_then_changes() {
    let dir = std::env::temp_dir().join(format!("passage-plan-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.all_providers = true;
    options.operators = Operators::new(vec![Operator::new(
        "ivan",
        Some(&Secret::new(TOKEN)),
        None,
        vec!["demo".into()],
    )]);
    let sb = Sandbox::start(options).await.unwrap();
    let others = sb.others.as_ref().unwrap();
    let all = [
        sb.okta.counters(),
        others.microsoft.counters(),
        others.google.counters(),
        others.jumpcloud.counters(),
    ];
    let effects_before = [
        sb.okta.effects().len(),
        others.microsoft.effects().len(),
        others.google.effects().len(),
        others.jumpcloud.effects().len(),
    ];
    for c in all {
        c.reset();
    }

    let answer = sb
        .http
        .post(format!("{}/v1/operator/tenants/demo/plan", sb.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({"email": DEMO_LEAVER, "employee_id": "E-PLAN", "manager_email": "sam.lee@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let plan: Value = answer.json().await.unwrap();

    // Only reads reached the providers, and none of their state changed.
    for c in all {
        assert!(c.total() > 0, "every provider was read");
        assert!(writes(c).is_empty(), "the plan wrote: {:?}", writes(c));
    }
    let effects_after = [
        sb.okta.effects().len(),
        others.microsoft.effects().len(),
        others.google.effects().len(),
        others.jumpcloud.effects().len(),
    ];
    assert_eq!(effects_before, effects_after, "an effect took hold");
    assert!(
        sb.system
            .store
            .list_runs(&passage_core::ports::RunFilter::default())
            .await
            .unwrap()
            .is_empty(),
        "a plan stores no run"
    );
    for read in plan["reads"].as_array().unwrap() {
        assert!(read["found"].is_string(), "a read failed: {read}");
    }
    let step = |key: &str| -> &Value {
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == key)
            .unwrap_or_else(|| panic!("{key} is not in {plan}"))
    };
    let okta_groups = step("okta.remove_groups");
    assert!(
        okta_groups["cannot"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("AD Engineering: ")),
        "the directory-mastered group is named with its reason: {okta_groups}"
    );

    // The run then does what the plan said, step by step.
    let r = sb
        .post(
            "msg_plan",
            &leaver_event(DEMO_LEAVER, "E-PLAN", Cutoff::Immediate),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    let run_id = passage_core::RunId::new(v["run_id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    let steps = loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let done = steps
            .iter()
            .filter(|s| s.provider != Provider::Human)
            .all(|s| s.state == StepState::Verified);
        if done {
            break steps;
        }
        assert!(
            Instant::now() < deadline,
            "provider steps did not finish: {:?}",
            steps.iter().map(|s| (&s.key, s.state)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for s in steps
        .iter()
        .filter(|s| s.provider != Provider::Human && s.action != passage_core::Action::Snapshot)
    {
        let planned = step(s.key.as_str());
        let would_change = !planned["changes"].as_array().unwrap().is_empty();
        let result = s.result.as_ref().unwrap();
        assert_eq!(
            would_change, !result.repeat,
            "{}: planned {planned}, the run did: {}",
            s.key, result.summary
        );
    }
    let removed = steps
        .iter()
        .find(|s| s.key.as_str() == "okta.remove_groups")
        .and_then(|s| s.result.as_ref())
        .unwrap()
        .output["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(
        okta_groups["changes"],
        json!([format!("remove groups {}", removed.join(", "))])
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
