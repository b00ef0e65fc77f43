//! Connectors paced in one shared budget against the sandbox Okta, as the workers of one host
//! are: what one worker's answer says about the org's budget governs every worker's next call.
//! Each worker here will not wait at all, so a call the budget holds back shows as a `paced`
//! failure that sent nothing, and no assertion depends on timing.

use passage_connectors::okta::{OktaConnector, OktaCredentials, OktaSettings};
use passage_connectors::{PacePlan, Pacing};
use passage_core::pace::Rate;
use passage_core::ports::{ActionFailure, ActionReport, ActionRequest, Connector, FailureClass};
use passage_core::secret::Secret;
use passage_core::{Action, Provider, RunId, Subject, TenantId};
use passage_embedded::InProcessPacer;
use passage_sandbox::okta::{DEMO_LEAVER, OktaConfig, OktaEmulator};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn snapshot() -> ActionRequest {
    ActionRequest {
        tenant: TenantId::new("acme"),
        run_id: RunId::new("run_pacing"),
        step_key: passage_core::step_key(Provider::Okta, Action::Snapshot),
        action: Action::Snapshot,
        subject: Subject {
            employee_id: "E1".into(),
            email: DEMO_LEAVER.into(),
            display_name: None,
            time_zone: "UTC".into(),
            manager: None,
        },
        delegate: None,
        attempt: 1,
        prior: BTreeMap::new(),
        operation: None,
    }
}

/// A worker of a host whose workers share `pacer`, with one budget of 600 a minute for the
/// org (far above what these tests send: only the org's own word holds them back).
fn worker(okta: &OktaEmulator, pacer: &InProcessPacer) -> OktaConnector {
    let settings = OktaSettings {
        org_url: url::Url::parse(&okta.base_url()).unwrap(),
        credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
    };
    let mut plan = PacePlan::documented(Provider::Okta);
    plan.single(Rate::per_minute(600));
    let pacing = Pacing::new(Arc::new(pacer.clone()), Duration::ZERO);
    OktaConnector::new(settings, passage_connectors::http::client()).paced(pacing, "org", plan)
}

fn failure(report: &ActionReport) -> &ActionFailure {
    match &report.outcome {
        passage_core::ports::ActionOutcome::Failed(f) => f,
        other => panic!("the action did not fail: {other:?}"),
    }
}

/// The failure of a call the budget held back: nothing was sent, and the step is told when
/// its turn comes.
fn assert_paced(report: &ActionReport, within: Duration) {
    let f = failure(report);
    assert_eq!(f.code, "paced", "{f:?}");
    let FailureClass::Throttled {
        retry_after: Some(wait),
    } = f.class
    else {
        panic!("a paced call is retryable after its turn: {f:?}");
    };
    assert!(wait > Duration::ZERO && wait <= within, "{wait:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_one_worker_meets_pauses_the_other_workers() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let pacer = InProcessPacer::new(Arc::new(passage_core::ports::SystemClock));
    let (first, second) = (worker(&okta, &pacer), worker(&okta, &pacer));
    okta.knobs().burst_429(1);

    let refused = first.execute(&snapshot()).await;
    assert_eq!(failure(&refused).code, "E0000047", "{refused:?}");
    let sent = okta.counters().total();
    let held = second.execute(&snapshot()).await;
    // The emulator's forced 429 resets within two seconds (one, rounded up to the second).
    assert_paced(&held, Duration::from_secs(2));
    assert!(held.calls.is_empty(), "{:?}", held.calls);
    assert_eq!(
        okta.counters().total(),
        sent,
        "the second worker sent nothing"
    );
    okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orgs_count_stops_every_worker_before_the_org_refuses_one() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    // Two calls a minute: the snapshot's first two calls spend them, and Okta says so.
    okta.knobs().set_rate_limit_per_minute(2);
    let pacer = InProcessPacer::new(Arc::new(passage_core::ports::SystemClock));
    let (first, second) = (worker(&okta, &pacer), worker(&okta, &pacer));

    let stopped = first.execute(&snapshot()).await;
    assert_eq!(stopped.calls.len(), 2, "{:?}", stopped.calls);
    assert!(stopped.calls.iter().all(|c| c.status == 200));
    assert_paced(&stopped, Duration::from_secs(61));
    // Deferred after the first, the second worker is told the place after the first's.
    assert_paced(&second.execute(&snapshot()).await, Duration::from_secs(62));
    assert_eq!(okta.counters().rate_limited(), 0, "no call met a 429");
    assert_eq!(okta.counters().total(), 2);
    okta.shutdown().await;
}
