//! Provider faults, end to end: the sandbox Okta is made to rate-limit, fail with 5xx, lose
//! responses, or not know the leaver, and the assertions are on what the emulator's org ends up
//! as (and how often each change was applied), not only on Passage's own records.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event, wait_for};
use passage_core::ports::RunStore;
use passage_core::{AttemptResult, Run, RunId, RunState, StepState};
use passage_sandbox::okta::{DEMO_LEAVER, GroupType, SeedGroup, SeedUser, UserStatus, event_type};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
/// How long the 5xx faults of test (b) last.
const FAULT_WINDOW: Duration = Duration::from_secs(3);

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("passage-faults-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(latency: Duration) -> (Scratch, Sandbox) {
    let scratch = Scratch::new();
    let mut options = SandboxOptions::new(&scratch.0);
    options.okta_latency = latency;
    let sb = Sandbox::start(options).await.expect("sandbox starts");
    (scratch, sb)
}

async fn post_leaver(sb: &Sandbox, id: &str, email: &str, employee_id: &str) -> RunId {
    let body = leaver_event(email, employee_id, Cutoff::Immediate);
    let resp = sb.post(id, &body).await.unwrap();
    let status = resp.status().as_u16();
    let json: Value = resp.json().await.unwrap();
    assert_eq!(status, 202, "{json}");
    RunId::new(json["run_id"].as_str().unwrap())
}

/// Steps and attempts of a run, for failure messages.
async fn describe(sb: &Sandbox, run_id: &RunId) -> String {
    let store = &sb.system.store;
    let mut out = String::new();
    if let Some(run) = store.run(run_id).await.unwrap() {
        let _ = writeln!(
            out,
            "run {run_id}: {} {}",
            run.state.as_str(),
            run.blocked_reason.unwrap_or_default()
        );
    }
    for s in store.steps(run_id).await.unwrap() {
        let _ = writeln!(
            out,
            "  {} {} attempts={} last_error={:?}",
            s.key,
            s.state.as_str(),
            s.attempts,
            s.last_error.map(|e| format!("{}: {}", e.code, e.message))
        );
    }
    for a in store.attempts(run_id).await.unwrap() {
        let _ = writeln!(
            out,
            "    #{} {} {:?} {:?} calls={:?}",
            a.number,
            a.step_key,
            a.result,
            a.error_code,
            a.calls
                .iter()
                .map(|c| format!("{} {} {}", c.method, c.path, c.status))
                .collect::<Vec<_>>()
        );
    }
    out
}

/// Waits for the run to close; on a block or timeout, fails with the run's full story.
async fn closed(sb: &Sandbox, run_id: &RunId) -> Run {
    closed_within(sb, run_id, TIMEOUT).await
}

/// As [`closed`], with a custom limit (a 429's reset can be most of a minute away).
async fn closed_within(sb: &Sandbox, run_id: &RunId, limit: Duration) -> Run {
    let settled = wait_for(&sb.system, run_id, limit, |r| {
        matches!(r.state, RunState::Closed | RunState::Blocked)
    })
    .await;
    match settled {
        Ok(run) if run.state == RunState::Closed => run,
        Ok(_) | Err(_) => panic!("run did not close:\n{}", describe(sb, run_id).await),
    }
}

/// Every step of the run verified.
async fn assert_all_verified(sb: &Sandbox, run_id: &RunId) {
    let steps = sb.system.store.steps(run_id).await.unwrap();
    assert_eq!(steps.len(), 5, "{steps:?}");
    for s in &steps {
        assert_eq!(
            s.state,
            StepState::Verified,
            "{}\n{}",
            s.key,
            describe(sb, run_id).await
        );
    }
}

/// The leaver as offboarded in the emulator: suspended once, no Okta-mastered group left (the
/// directory-mastered ones stay, reported), no sessions or grants.
fn assert_offboarded(sb: &Sandbox, login: &str, okta_groups_before: usize) {
    let user = sb.okta.user(login).expect("user exists");
    assert_eq!(user.status, UserStatus::Suspended, "{login}");
    let okta_groups: Vec<&str> = user
        .groups
        .iter()
        .filter(|g| g.group_type == GroupType::OktaGroup)
        .map(|g| g.name.as_str())
        .collect();
    assert!(
        okta_groups.is_empty(),
        "{login} is still in Okta groups {okta_groups:?}"
    );
    assert_eq!(user.sessions, 0, "{login} sessions");
    assert_eq!(user.grants, 0, "{login} grants");
    assert_eq!(user.oauth_tokens, 0, "{login} tokens");
    assert_eq!(
        sb.okta.count_events(event_type::USER_SUSPEND, &user.id),
        1,
        "{login} must be suspended exactly once"
    );
    assert_eq!(
        sb.okta
            .count_events(event_type::GROUP_MEMBERSHIP_REMOVE, &user.id),
        okta_groups_before,
        "{login}: each Okta group membership removed exactly once"
    );
    assert_eq!(
        sb.okta.count_events(event_type::USER_UNSUSPEND, &user.id)
            + sb.okta.count_events(event_type::USER_DEACTIVATE, &user.id)
            + sb.okta
                .count_events(event_type::GROUP_MEMBERSHIP_ADD, &user.id),
        0,
        "{login}: nothing else was done to the user"
    );
}

/// (a) Okta answers the first three calls with 429 E0000047: the run waits, retries, and
/// offboards the leaver anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_burst_is_retried_through() {
    let (_scratch, sb) = start(Duration::ZERO).await;
    let jane_before = sb.okta.user(DEMO_LEAVER).unwrap();
    let okta_groups = jane_before
        .groups
        .iter()
        .filter(|g| g.group_type == GroupType::OktaGroup)
        .count();
    assert_eq!(okta_groups, 3);
    assert_eq!(jane_before.sessions, 2);

    sb.okta.knobs().burst_429(3);
    let run_id = post_leaver(&sb, "msg_429", DEMO_LEAVER, "E1001").await;
    let run = closed(&sb, &run_id).await;
    assert!(run.bundle.is_some());
    assert_all_verified(&sb, &run_id).await;

    // The emulator really served the 429s, and no more than asked.
    assert_eq!(sb.okta.knobs().pending_burst_429(), 0);
    assert_eq!(sb.okta.counters().rate_limited(), 3);
    assert_eq!(sb.okta.counters().with_status(429), 3);

    // Passage recorded them as throttled attempts with Okta's code (waits, not failures),
    // then succeeded.
    let attempts = sb.system.store.attempts(&run_id).await.unwrap();
    let limited: Vec<_> = attempts
        .iter()
        .filter(|a| {
            a.result == AttemptResult::Throttled && a.error_code.as_deref() == Some("E0000047")
        })
        .collect();
    assert_eq!(
        limited.len(),
        3,
        "expected the three 429s as throttled attempts:\n{}",
        describe(&sb, &run_id).await
    );
    for a in &limited {
        assert!(
            a.calls
                .iter()
                .any(|c| c.status == 429 && c.error_code.as_deref() == Some("E0000047")),
            "the attempt's calls record the 429: {a:?}"
        );
    }
    // Every rate-limited attempt was followed by a later attempt of the same step that
    // succeeded, started no earlier than the failure.
    for a in &limited {
        assert!(
            attempts.iter().any(|b| b.step_key == a.step_key
                && b.number > a.number
                && b.started_at >= a.finished_at
                && b.result == AttemptResult::Verified),
            "no successful retry after {a:?}"
        );
    }

    assert_offboarded(&sb, DEMO_LEAVER, okta_groups);
    let jane = sb.okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(
        jane.group_names(),
        vec!["Everyone", "AD Engineering"],
        "built-in and directory groups stay"
    );
    sb.shutdown().await;
}

/// (b) Okta fails 30% of all calls with 500/502/503 while five leavers are offboarded: all five
/// runs close, and every change was applied exactly once despite the retries.
///
/// Steps retry transient failures until their tenant's deadline (hours), not for a number of
/// attempts, so no run blocks however many 5xx a step sees. The fault window (`FAULT_WINDOW`) is
/// bounded only so the runs close in good time once Okta recovers: the test is about surviving
/// faults and applying each change once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_errors_are_retried_and_applied_once() {
    let (_scratch, sb) = start(Duration::ZERO).await;
    sb.okta
        .seed_group(SeedGroup::new("Sales", GroupType::OktaGroup));
    let mut leavers = Vec::new();
    for i in 1..=5 {
        let login = format!("leaver{i}@example.com");
        let user = SeedUser {
            groups: vec!["Engineering".into(), "Sales".into(), "AD All Staff".into()],
            sessions: 1,
            grants: 1,
            oauth_tokens: 1,
            apps: vec!["Slack".into()],
            ..SeedUser::new(&login, "Leaver", &format!("Number{i}"))
        };
        let id = sb.okta.seed_user(user);
        let before = sb.okta.user(&id).unwrap();
        assert_eq!(before.status, UserStatus::Active);
        assert_eq!(
            before
                .groups
                .iter()
                .filter(|g| g.group_type == GroupType::OktaGroup)
                .count(),
            2
        );
        leavers.push((login, id));
    }
    let bystander_before = sb.okta.user("john.smith@example.com").unwrap();

    sb.okta.knobs().set_error_rate_5xx(0.3);
    let mut runs = Vec::new();
    for (i, (login, _)) in leavers.iter().enumerate() {
        runs.push(post_leaver(&sb, &format!("msg_5xx_{i}"), login, &format!("E20{i}")).await);
    }
    tokio::time::sleep(FAULT_WINDOW).await;
    let served_in_window = sb.okta.counters().server_errors();
    sb.okta.knobs().set_error_rate_5xx(0.0);
    // The faults really hit the runs: they were still working when the window closed, or
    // had already retried through 5xx answers.
    assert!(
        served_in_window >= 5,
        "only {served_in_window} 5xx served; the test proved little"
    );
    for run_id in &runs {
        let run = closed(&sb, run_id).await;
        assert!(run.bundle.is_some());
        assert_all_verified(&sb, run_id).await;
    }
    sb.okta.knobs().reset();

    // Faults were really served, and Passage really retried through them.
    assert!(
        sb.okta.counters().server_errors() > 0,
        "no 5xx was served; the test proved nothing"
    );
    let mut retried_5xx = 0;
    for run_id in &runs {
        for a in sb.system.store.attempts(run_id).await.unwrap() {
            if a.result != AttemptResult::Retryable {
                continue;
            }
            // E0000009 is the emulator's 5xx; nothing else may fail here.
            assert_eq!(
                a.error_code.as_deref(),
                Some("E0000009"),
                "unexpected retryable failure {a:?}"
            );
            assert!(
                a.calls.iter().any(|c| c.status >= 500),
                "a 5xx attempt records its 5xx call: {a:?}"
            );
            retried_5xx += 1;
        }
    }
    assert!(retried_5xx > 0, "no attempt was retried after a 5xx");

    for (login, id) in &leavers {
        assert_offboarded(&sb, login, 2);
        let user = sb.okta.user(id).unwrap();
        assert!(
            user.in_group("AD All Staff"),
            "{login}: directory group kept"
        );
        assert_eq!(
            sb.okta.count_events(event_type::SESSION_CLEAR, id),
            1,
            "{login}: sessions cleared once"
        );
        assert_eq!(
            sb.okta.count_events(event_type::CONSENT_REVOKE, id),
            1,
            "{login}: the one grant revoked once"
        );
    }
    // Nobody else was touched.
    let bystander = sb.okta.user("john.smith@example.com").unwrap();
    let facts = |u: &passage_sandbox::okta::UserView| {
        (
            u.status,
            u.group_names().join(","),
            u.sessions,
            u.grants,
            u.oauth_tokens,
            u.last_updated.clone(),
        )
    };
    assert_eq!(facts(&bystander), facts(&bystander_before));
    let jane = sb.okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(jane.status, UserStatus::Active);
    let targeted: std::collections::BTreeSet<String> = sb
        .okta
        .system_log()
        .iter()
        .flat_map(|e| e.target.iter())
        .filter(|t| t.kind == "User")
        .map(|t| t.id.clone())
        .collect();
    let expected: std::collections::BTreeSet<String> =
        leavers.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(
        targeted, expected,
        "only the leavers appear in the System Log"
    );
    sb.shutdown().await;
}

/// (c) A leaver Okta does not know: a permanent error, so the run blocks at the snapshot with the
/// reason, is never retried, never closes, and nothing in Okta changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_user_blocks_the_run_and_changes_nothing() {
    let (_scratch, sb) = start(Duration::ZERO).await;
    let run_id = post_leaver(&sb, "msg_ghost", "ghost.employee@example.com", "E9999").await;
    let run = wait_for(&sb.system, &run_id, TIMEOUT, |r| {
        r.state == RunState::Blocked || r.state == RunState::Closed
    })
    .await
    .unwrap();
    assert_eq!(
        run.state,
        RunState::Blocked,
        "{}",
        describe(&sb, &run_id).await
    );
    let reason = run.blocked_reason.clone().unwrap_or_default();
    assert!(reason.contains("okta.snapshot"), "{reason}");
    assert!(reason.contains("user_not_found"), "{reason}");
    assert!(reason.contains("ghost.employee@example.com"), "{reason}");

    // Give the engine's sweeps (every 2 s) time to do anything they would do.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Blocked, "the run must stay blocked");
    assert!(run.closed_at.is_none() && run.bundle.is_none(), "{run:?}");
    let bundles = sb.system.data_dir.join("bundles");
    assert!(
        !bundles.join("demo").join(run_id.as_str()).exists(),
        "no evidence bundle for a blocked run"
    );

    let steps = sb.system.store.steps(&run_id).await.unwrap();
    for s in &steps {
        let want = if s.key.as_str() == "okta.snapshot" {
            StepState::Failed
        } else {
            StepState::Pending
        };
        assert_eq!(s.state, want, "{}", s.key);
    }
    let snapshot = steps
        .iter()
        .find(|s| s.key.as_str() == "okta.snapshot")
        .unwrap();
    assert_eq!(snapshot.attempts, 1, "a permanent error is not retried");
    assert_eq!(
        snapshot.last_error.as_ref().map(|e| e.code.as_str()),
        Some("user_not_found")
    );
    let attempts = sb.system.store.attempts(&run_id).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].result, AttemptResult::Permanent);
    assert_eq!(attempts[0].error_code.as_deref(), Some("user_not_found"));

    // Okta was only read (a lookup and a search), and nothing in it changed.
    let counters = sb.okta.counters();
    let writes: u64 = counters
        .by_route()
        .iter()
        .filter(|((method, _), _)| method != "GET")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(writes, 0, "{:?}", counters.by_route());
    assert!(sb.okta.system_log().is_empty());
    assert_eq!(
        sb.okta.user(DEMO_LEAVER).unwrap().status,
        UserStatus::Active
    );
    sb.shutdown().await;
}

/// (d) Okta applies the suspension but the response is lost (502 after the change): Passage
/// retries, reads the user back as already suspended, and does not suspend again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_response_after_suspend_is_not_applied_twice() {
    // Latency gives the test time to arm the knob between the last dependency verifying and
    // the suspend call.
    let (_scratch, sb) = start(Duration::from_millis(250)).await;
    let run_id = post_leaver(&sb, "msg_lost", DEMO_LEAVER, "E1001").await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let ready = steps
            .iter()
            .filter(|s| s.key.as_str() != "okta.suspend")
            .all(|s| s.state == StepState::Verified);
        if ready {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            describe(&sb, &run_id).await
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sb.okta.knobs().fail_after_apply(1);
    let run = closed(&sb, &run_id).await;
    assert!(run.bundle.is_some());
    assert_eq!(
        sb.okta.knobs().pending_fail_after_apply(),
        0,
        "the lost response was not consumed by the suspend call"
    );

    let steps = sb.system.store.steps(&run_id).await.unwrap();
    let suspend = steps
        .iter()
        .find(|s| s.key.as_str() == "okta.suspend")
        .unwrap();
    assert_eq!(suspend.state, StepState::Verified);
    assert!(suspend.attempts >= 2, "{}", describe(&sb, &run_id).await);
    let attempts: Vec<_> = sb
        .system
        .store
        .attempts(&run_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.step_key.as_str() == "okta.suspend")
        .collect();
    assert_eq!(attempts[0].result, AttemptResult::Retryable, "{attempts:?}");
    assert!(
        attempts[0]
            .calls
            .iter()
            .any(|c| c.method == "POST" && c.status == 502),
        "{attempts:?}"
    );
    let last = attempts.last().unwrap();
    assert_eq!(
        last.result,
        AttemptResult::Repeat,
        "the retry found the user already suspended: {attempts:?}"
    );
    assert!(
        !last.calls.iter().any(|c| c.method == "POST"),
        "the retry must not call suspend again: {last:?}"
    );

    // In Okta: one suspension, one suspend call.
    let jane = sb.okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(jane.status, UserStatus::Suspended);
    assert_eq!(sb.okta.count_events(event_type::USER_SUSPEND, &jane.id), 1);
    assert_eq!(
        sb.okta
            .counters()
            .count("POST", "/api/v1/users/{id}/lifecycle/suspend"),
        1
    );
    sb.shutdown().await;
}

/// (e) The snapshot is the record of what the leaver had (for the evidence and for restoring a
/// rehire). When Okta refuses one of its reads — here the app-links list, rate-limited by the
/// org's per-minute budget — the snapshot must not record "no apps": it must retry (or say the
/// list is unknown), so that the signed pre-state matches what the user really had.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_does_not_record_an_unread_list_as_empty() {
    let (_scratch, sb) = start(Duration::from_millis(250)).await;
    let apps_before = sb.okta.user(DEMO_LEAVER).unwrap().apps;
    assert_eq!(apps_before.len(), 3);
    // The snapshot reads user, groups, grants, then app links: the fourth call is refused.
    sb.okta.knobs().set_rate_limit_per_minute(3);
    let run_id = post_leaver(&sb, "msg_snapshot", DEMO_LEAVER, "E1001").await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let snap = steps
            .iter()
            .find(|s| s.key.as_str() == "okta.snapshot")
            .unwrap();
        if snap.attempts >= 1 && snap.state != StepState::InFlight {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sb.okta.knobs().reset();
    sb.okta.reset_rate_limit();
    assert!(
        sb.okta.counters().rate_limited() >= 1,
        "the app-links read was not refused; the test proved nothing"
    );
    // The retry honours X-Rate-Limit-Reset, up to a minute away.
    let run = closed_within(&sb, &run_id, Duration::from_secs(120)).await;

    let steps = sb.system.store.steps(&run_id).await.unwrap();
    let snap = steps
        .iter()
        .find(|s| s.key.as_str() == "okta.snapshot")
        .unwrap();
    let recorded = snap.result.as_ref().unwrap().output["app_links"]
        .as_array()
        .map(Vec::len);
    assert_eq!(
        recorded,
        Some(apps_before.len()),
        "the snapshot recorded {recorded:?} app links for a user with {apps_before:?}: {}",
        snap.result.as_ref().unwrap().summary
    );
    let dir = PathBuf::from(&run.bundle.as_ref().unwrap().location);
    let pre_state = std::fs::read_to_string(dir.join("pre-state/okta.json")).unwrap();
    for app in &apps_before {
        assert!(
            pre_state.contains(app.as_str()),
            "signed pre-state omits {app}: {pre_state}"
        );
    }
    sb.shutdown().await;
}

/// (f) `revoke_sessions` must prove "no tokens left" without counting consent grants:
/// `/users/{id}/clients` lists every client the user has grants *or* tokens for, so a read-back
/// based on it alone reported apps "still holding tokens" for a user with none while
/// `revoke_grants` (which runs in parallel) had not finished, failing the critical step's
/// attempt. Here the leaver has no OAuth tokens at all, only consent grants (enough for two
/// pages, so `revoke_grants` is slower than the session step): the first session attempt must
/// verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoke_sessions_readback_is_not_confused_by_consent_grants() {
    let (_scratch, sb) = start(Duration::from_millis(200)).await;
    let login = "grants.only@example.com";
    let id = sb.okta.seed_user(SeedUser {
        sessions: 1,
        grants: 250,
        oauth_tokens: 0,
        ..SeedUser::new(login, "Grace", "Grants")
    });
    assert_eq!(sb.okta.oauth_tokens(&id), Some(0));
    let run_id = post_leaver(&sb, "msg_grants_only", login, "E3001").await;
    closed(&sb, &run_id).await;
    let user = sb.okta.user(&id).unwrap();
    assert_eq!(user.status, UserStatus::Suspended);
    assert_eq!(user.grants, 0);

    let attempts: Vec<_> = sb
        .system
        .store
        .attempts(&run_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.step_key.as_str() == "okta.revoke_sessions")
        .collect();
    assert_eq!(
        attempts.len(),
        1,
        "revoke_sessions needed retries for a user with no tokens: {:?}",
        attempts
            .iter()
            .map(|a| (a.result, a.error_code.clone(), a.message.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(attempts[0].result, AttemptResult::Verified);
    sb.shutdown().await;
}
