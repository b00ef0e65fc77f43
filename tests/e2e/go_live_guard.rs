//! The go-live guard: a burst of terminations past the tenant's limit holds the later runs
//! before any provider is called; an operator's approval releases them and they close.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{GuardPolicy, RunId, RunState};
use passage_http::{Operator, Operators};
use passage_sandbox::okta::SeedUser;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "omar-operator-token-0123456789abcdef";
const LIMIT: u32 = 2;

async fn guarded_sandbox() -> (Sandbox, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("passage-guard-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.customize = Some(Arc::new(|p: &mut passage_core::TenantPolicy| {
        p.guard = Some(GuardPolicy {
            max_terminations: LIMIT,
            window: Duration::from_secs(3600),
        });
    }));
    options.operators = Operators::new(vec![Operator::new(
        "omar",
        Some(&Secret::new(TOKEN)),
        None,
        vec!["demo".into()],
    )]);
    (Sandbox::start(options).await.unwrap(), dir)
}

fn leaver(i: u32) -> String {
    format!("burst{i}@example.com")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_past_the_limit_is_held_until_approved() {
    let (sb, dir) = guarded_sandbox().await;
    let burst = LIMIT + 2;
    for i in 0..burst {
        sb.okta
            .seed_user(SeedUser::new(&leaver(i), "Burst", &format!("N{i}")));
    }
    // Every termination at once, as a mistaken bulk change in the HR system would send them.
    let answers = futures::future::join_all((0..burst).map(|i| {
        let body = leaver_event(&leaver(i), &format!("B{i}"), Cutoff::Immediate);
        let sb = &sb;
        async move {
            let r = sb.post(&format!("msg_burst_{i}"), &body).await.unwrap();
            assert_eq!(r.status().as_u16(), 202);
            r.json::<Value>().await.unwrap()
        }
    }))
    .await;
    let held: Vec<usize> = (0..answers.len())
        .filter(|&i| answers[i]["held"] == true)
        .collect();
    assert_eq!(held.len(), (burst - LIMIT) as usize, "{answers:?}");

    let ids: Vec<RunId> = answers
        .iter()
        .map(|a| RunId::new(a["run_id"].as_str().unwrap()))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        if held.contains(&i) {
            continue;
        }
        sb.wait_closed(id, Duration::from_secs(30)).await.unwrap();
    }
    // The held runs called no provider: their leavers are untouched in Okta.
    for &i in &held {
        let run = sb.system.store.run(&ids[i]).await.unwrap().unwrap();
        assert_eq!(run.state, RunState::Scheduled);
        assert_eq!(run.shown_state(), "held");
        let user = sb.okta.user(&leaver(i as u32)).unwrap();
        assert_eq!(format!("{:?}", user.status), "Active");
        assert!(
            sb.okta.effects().iter().all(|e| e.subject != user.id),
            "no effect on a held leaver"
        );
        assert!(sb.system.store.attempts(&ids[i]).await.unwrap().is_empty());
    }

    // Listed with the reason and the command that approves them.
    let listed: Value = sb
        .http
        .get(format!("{}/v1/operator/tenants/demo/runs", sb.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = listed["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == ids[held[0]].as_str())
        .unwrap();
    assert_eq!(shown["shown_state"], "held");
    assert!(
        shown["hold"]["reason"]
            .as_str()
            .unwrap()
            .contains("go-live guard")
    );
    assert!(
        shown["resolve"][0]["command"]
            .as_str()
            .unwrap()
            .starts_with("passage approve --tenant demo --run ")
    );

    // One approval releases every held run, and they close.
    let r = sb
        .http
        .post(format!("{}/v1/operator/tenants/demo/approve", sb.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({"all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let approved: Value = r.json().await.unwrap();
    assert_eq!(approved["approved"].as_array().unwrap().len(), held.len());
    for &i in &held {
        sb.wait_closed(&ids[i], Duration::from_secs(30))
            .await
            .unwrap();
        let user = sb.okta.user(&leaver(i as u32)).unwrap();
        assert_eq!(format!("{:?}", user.status), "Suspended");
        let events = sb.system.store.events(&ids[i]).await.unwrap();
        assert!(events.iter().any(|e| e.kind == "run.held"));
        assert!(
            events
                .iter()
                .any(|e| e.kind == "run.approved" && e.actor == "operator:omar")
        );
    }
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn below_the_limit_nothing_is_held() {
    let (sb, dir) = guarded_sandbox().await;
    for i in 0..LIMIT {
        sb.okta
            .seed_user(SeedUser::new(&leaver(i), "Below", &format!("N{i}")));
        let body = leaver_event(&leaver(i), &format!("L{i}"), Cutoff::Immediate);
        let r = sb.post(&format!("msg_below_{i}"), &body).await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert!(v.get("held").is_none(), "{v}");
        let id = RunId::new(v["run_id"].as_str().unwrap());
        sb.wait_closed(&id, Duration::from_secs(30)).await.unwrap();
    }
    // A redelivery of the last one is the same termination: it neither counts nor is held.
    let body = leaver_event(
        &leaver(LIMIT - 1),
        &format!("L{}", LIMIT - 1),
        Cutoff::Immediate,
    );
    let r = sb
        .post(&format!("msg_below_{}", LIMIT - 1), &body)
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v.get("held").is_none(), "{v}");
    let runs = sb
        .system
        .store
        .list_runs(&Default::default())
        .await
        .unwrap();
    assert!(runs.iter().all(|r| r.hold.is_none()));
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
