//! The fault matrix: every action of every connector, in plan order, against its emulator over
//! real HTTP, first refused by the provider's own throttling signal and then by a server fault.
//!
//! Connectors make one attempt per `execute` and leave retrying to the engine, so a refused call
//! must come back classified, carrying the provider's wait hint if it gave one: throttling (the
//! provider asking for a pause) as throttled, any other server fault as retryable. The
//! retry after the fault clears must then do exactly what the same action does in a fault-free
//! run on a twin emulator: the same state-changing requests and the same provider audit events,
//! so nothing is applied twice and nothing is skipped.

use passage_connectors::google::{DELEGATED_SCOPES, GoogleConnector};
use passage_connectors::jumpcloud::{JumpCloudConnector, JumpCloudCredential};
use passage_connectors::microsoft::{MicrosoftConnector, MicrosoftCredential};
use passage_connectors::okta::{OktaConnector, OktaCredentials, OktaSettings};
use passage_core::ports::{
    ActionDone, ActionFailure, ActionOutcome, ActionRequest, Connector, FailureClass,
};
use passage_core::secret::Secret;
use passage_core::{Action, DeviceAction, Manager, RunId, StepKey, Subject, TenantId};
use passage_sandbox::google::{GoogleConfig, GoogleEmulator, QuotaReason};
use passage_sandbox::jumpcloud::{JumpCloudConfig, JumpCloudEmulator, SeedSystem};
use passage_sandbox::microsoft::{AppCredential, MicrosoftConfig, MicrosoftEmulator};
use passage_sandbox::okta::{OktaConfig, OktaEmulator, RequestCounters};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::common;
type Prior = BTreeMap<StepKey, serde_json::Value>;
/// Requests served, by (method, route template).
type Routes = BTreeMap<(String, String), u64>;

/// Every action there is. The match makes adding a variant a compile error here, so the matrix
/// cannot silently miss an action a connector starts supporting.
fn every_action() -> [Action; 20] {
    fn listed(action: Action) {
        match action {
            Action::Snapshot
            | Action::RevokeSessions
            | Action::RevokeGrants
            | Action::RemoveGroups
            | Action::Suspend
            | Action::Deactivate
            | Action::ResetFactors
            | Action::UnassignApps
            | Action::SetAutoReply
            | Action::ForwardMail
            | Action::DelegateMailbox
            | Action::ConvertMailbox
            | Action::TransferData
            | Action::RemoveLicenses
            | Action::SecureDevices
            | Action::ReturnDevices
            | Action::ConfirmHandover
            | Action::DeactivateSeat
            | Action::RemoveSeat
            | Action::ConfirmAppRemoval => {}
            // A restore run's actions undo a leaver run and need its snapshot as input: they
            // are not part of the leaver plans this matrix replays, and `supported` checks only
            // the leaver actions.
            Action::Reactivate
            | Action::RestoreGroups
            | Action::RestoreApps
            | Action::RestoreLicences
            | Action::RestoreMailbox
            | Action::ReactivateSeat => {}
            // The shared-resource sweep's actions are not in the matrix yet: the emulators'
            // endpoints for them keep no audit trail for it to compare.
            Action::RemoveAdminRoles
            | Action::SweepSharedAccess
            | Action::HandOverOneDrive
            | Action::SweepMailAccess => {}
        }
    }
    let all = [
        Action::Snapshot,
        Action::RevokeSessions,
        Action::RevokeGrants,
        Action::RemoveGroups,
        Action::Suspend,
        Action::Deactivate,
        Action::ResetFactors,
        Action::UnassignApps,
        Action::SetAutoReply,
        Action::ForwardMail,
        Action::DelegateMailbox,
        Action::ConvertMailbox,
        Action::TransferData,
        Action::RemoveLicenses,
        Action::SecureDevices,
        Action::ReturnDevices,
        Action::ConfirmHandover,
        Action::DeactivateSeat,
        Action::RemoveSeat,
        Action::ConfirmAppRemoval,
    ];
    all.iter().copied().for_each(listed);
    all
}

/// The fault put in front of the provider's next API request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// 429 with the provider's own wait hint (Okta `X-Rate-Limit-Reset`, Graph `Retry-After`).
    TooManyRequests,
    /// Google's other throttling answer: 403 with reason `rateLimitExceeded`.
    RateLimitExceeded403,
    /// The next request answered with this 5xx status.
    Server(u16),
}

impl Fault {
    /// Whether the provider's answer asks for a pause (throttling, never counted as a failure)
    /// rather than reporting a fault: a 429, Google's rate-limit 403, or a 503 that names how
    /// long to wait.
    fn asks_for_a_pause(self, hint: Hint) -> bool {
        match self {
            Fault::TooManyRequests | Fault::RateLimitExceeded403 => true,
            Fault::Server(503) => !matches!(hint, Hint::None),
            Fault::Server(_) => false,
        }
    }

    /// The status the refused request is answered with.
    fn status(self) -> u16 {
        match self {
            Fault::TooManyRequests => 429,
            Fault::RateLimitExceeded403 => 403,
            Fault::Server(status) => status,
        }
    }
}

/// The wait a connector must pass on with a retryable failure.
#[derive(Clone, Copy, Debug)]
enum Hint {
    /// The provider sent none, so the connector must not invent one.
    None,
    /// Exactly this long.
    Exactly(Duration),
    /// A wait within these bounds (Okta's reset is an epoch second, so the wait depends on
    /// when in the second the request landed).
    Between(Duration, Duration),
}

/// What the matrix needs from an emulator: a way to fault it and to see what it did.
trait Emulated {
    fn inject(&self, fault: Fault);
    fn clear(&self);
    /// The provider's audit trail as event names, oldest first.
    fn audit(&self) -> Vec<String>;
    fn counters(&self) -> &RequestCounters;
    /// The hint the provider's answer to `fault` carries.
    fn hint(fault: Fault) -> Hint;
}

impl Emulated for OktaEmulator {
    fn inject(&self, fault: Fault) {
        match fault {
            Fault::TooManyRequests => self.knobs().burst_429(1),
            Fault::Server(status) => self.knobs().fail_next_5xx(status, 1),
            Fault::RateLimitExceeded403 => unreachable!("Okta throttles with 429 only"),
        }
    }
    fn clear(&self) {
        self.knobs().reset();
    }
    fn audit(&self) -> Vec<String> {
        self.system_log()
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }
    fn counters(&self) -> &RequestCounters {
        OktaEmulator::counters(self)
    }
    fn hint(fault: Fault) -> Hint {
        match fault {
            Fault::TooManyRequests => {
                Hint::Between(Duration::from_millis(500), Duration::from_secs(2))
            }
            _ => Hint::None,
        }
    }
}

impl Emulated for MicrosoftEmulator {
    fn inject(&self, fault: Fault) {
        match fault {
            Fault::TooManyRequests => self.knobs().burst_429(1),
            Fault::Server(status) => self.knobs().fail_next_5xx(status, 1),
            Fault::RateLimitExceeded403 => unreachable!("Graph throttles with 429 only"),
        }
    }
    fn clear(&self) {
        self.knobs().reset();
    }
    fn audit(&self) -> Vec<String> {
        self.audit_log().into_iter().map(|e| e.activity).collect()
    }
    fn counters(&self) -> &RequestCounters {
        MicrosoftEmulator::counters(self)
    }
    fn hint(fault: Fault) -> Hint {
        match fault {
            // A forced burst answers `Retry-After: 1`, and so does Graph's 503.
            Fault::TooManyRequests | Fault::Server(503) => Hint::Exactly(Duration::from_secs(1)),
            _ => Hint::None,
        }
    }
}

impl Emulated for GoogleEmulator {
    fn inject(&self, fault: Fault) {
        match fault {
            Fault::TooManyRequests => self.knobs().burst_429(1),
            Fault::RateLimitExceeded403 => self
                .quota_knobs()
                .burst_403(QuotaReason::RateLimitExceeded, 1),
            Fault::Server(status) => self.knobs().fail_next_5xx(status, 1),
        }
    }
    fn clear(&self) {
        self.knobs().reset();
        self.quota_knobs().reset();
    }
    fn audit(&self) -> Vec<String> {
        self.audit_log().into_iter().map(|e| e.name).collect()
    }
    fn counters(&self) -> &RequestCounters {
        GoogleEmulator::counters(self)
    }
    fn hint(_: Fault) -> Hint {
        // Google documents no wait header on its throttling answers.
        Hint::None
    }
}

impl Emulated for JumpCloudEmulator {
    fn inject(&self, fault: Fault) {
        match fault {
            Fault::TooManyRequests => self.knobs().burst_429(1),
            Fault::Server(status) => self.knobs().fail_next_5xx(status, 1),
            Fault::RateLimitExceeded403 => unreachable!("JumpCloud throttles with 429 only"),
        }
    }
    fn clear(&self) {
        self.knobs().reset();
    }
    fn audit(&self) -> Vec<String> {
        self.audit_log().into_iter().map(|e| e.event_type).collect()
    }
    fn counters(&self) -> &RequestCounters {
        JumpCloudEmulator::counters(self)
    }
    fn hint(_: Fault) -> Hint {
        // JumpCloud documents no rate-limit headers; its 429 carries only a body.
        Hint::None
    }
}

/// A seeded emulator, a connector talking to it, and whose offboarding it runs.
struct Setup<E> {
    emulator: E,
    connector: Box<dyn Connector>,
    email: &'static str,
    delegate: Option<&'static str>,
}

impl<E> Setup<E> {
    fn request(&self, action: Action, prior: &Prior) -> ActionRequest {
        let provider = self.connector.provider();
        ActionRequest {
            tenant: TenantId::new("acme"),
            run_id: RunId::new("run_fault_matrix"),
            step_key: passage_core::step_key(provider, action),
            action,
            subject: Subject {
                employee_id: "E1".into(),
                email: self.email.into(),
                display_name: None,
                time_zone: "UTC".into(),
                manager: self.delegate.map(|d| Manager {
                    email: d.into(),
                    employee_id: None,
                }),
            },
            delegate: self.delegate.map(str::to_owned),
            attempt: 1,
            prior: prior.clone(),
            operation: None,
        }
    }
}

/// What one successful action did, as the emulator saw it.
#[derive(Debug, PartialEq)]
struct Effect {
    repeat: bool,
    /// State-changing requests (token requests aside), by route.
    writes: Routes,
    /// Audit events the action caused, in order.
    audit: Vec<String>,
}

fn routes_since(before: &Routes, after: &Routes) -> Routes {
    after
        .iter()
        .filter_map(|(route, n)| {
            let grew = n - before.get(route).copied().unwrap_or(0);
            (grew > 0).then(|| (route.clone(), grew))
        })
        .collect()
}

/// Requests that change state at the provider. Token requests are left out: a connector fetches
/// one whenever its cache is empty, which is a matter of timing rather than of the action.
fn writes(routes: &Routes) -> Routes {
    routes
        .iter()
        .filter(|((method, template), _)| {
            method != "GET" && method != "HEAD" && !template.ends_with("/token")
        })
        .map(|(route, n)| (route.clone(), *n))
        .collect()
}

/// The plan-ordered actions this connector supports, checked against `supports` so the matrix
/// covers each of them and nothing else.
fn supported(connector: &dyn Connector, plan: &[Action]) -> Vec<Action> {
    let provider = connector.provider();
    for action in every_action() {
        assert_eq!(
            connector.supports(action),
            plan.contains(&action),
            "{provider} {action}: the plan order used here disagrees with what the connector supports"
        );
    }
    plan.to_vec()
}

/// Runs the plan with no faults and returns each action's effect.
async fn fault_free<E: Emulated>(setup: &Setup<E>, plan: &[Action]) -> Vec<Effect> {
    let mut prior = Prior::new();
    let mut effects = Vec::new();
    for &action in plan {
        let (routes, audit) = (setup.emulator.counters().by_route(), setup.emulator.audit());
        let done = succeed(setup, action, &prior).await;
        effects.push(Effect {
            repeat: done.repeat,
            writes: writes(&routes_since(
                &routes,
                &setup.emulator.counters().by_route(),
            )),
            audit: setup.emulator.audit()[audit.len()..].to_vec(),
        });
        prior.insert(step_key(setup, action), done.output);
    }
    effects
}

fn step_key<E>(setup: &Setup<E>, action: Action) -> StepKey {
    passage_core::step_key(setup.connector.provider(), action)
}

/// Runs `action` to its end as the engine would, polling an operation the provider reports
/// pending.
async fn succeed<E>(setup: &Setup<E>, action: Action, prior: &Prior) -> ActionDone {
    let provider = setup.connector.provider();
    let request = setup.request(action, prior);
    common::execute_polling(setup.connector.as_ref(), &request, 5)
        .await
        .outcome
        .done()
        .unwrap_or_else(|f| panic!("{provider} {action} failed with no fault injected: {f:?}"))
}

/// Runs the plan with `fault` injected before each action, then cleared for the retry, and
/// checks every action against the fault-free run of the twin emulator.
async fn faulted<E: Emulated>(setup: &Setup<E>, plan: &[Action], fault: Fault, twin: &[Effect]) {
    let provider = setup.connector.provider();
    let emulator = &setup.emulator;
    let mut prior = Prior::new();
    for (&action, expected) in plan.iter().zip(twin) {
        let at = format!("{provider} {action} after {fault:?}");
        let audit = emulator.audit();
        let statuses = |c: &RequestCounters| (c.with_status(fault.status()), c.total());
        let (refused_before, total_before) = statuses(emulator.counters());

        emulator.inject(fault);
        let report = setup
            .connector
            .execute(&setup.request(action, &prior))
            .await;
        emulator.clear();
        let failure: ActionFailure = match report.outcome {
            ActionOutcome::Failed(failure) => failure,
            other => panic!("{at}: not refused despite the fault: {other:?}"),
        };
        let (throttled, retry_after) = match failure.class {
            FailureClass::Throttled { retry_after } => (true, retry_after),
            FailureClass::Retryable { retry_after } => (false, retry_after),
            FailureClass::Permanent => panic!("{at}: classified as permanent: {failure:?}"),
        };
        assert_eq!(
            throttled,
            fault.asks_for_a_pause(E::hint(fault)),
            "{at}: throttling must be told from a failure: {failure:?}"
        );
        match (E::hint(fault), retry_after) {
            (Hint::None, None) => {}
            (Hint::Exactly(want), Some(got)) if got == want => {}
            (Hint::Between(least, most), Some(got)) if (least..=most).contains(&got) => {}
            (want, got) => panic!("{at}: retry hint {got:?}, expected {want:?}"),
        }
        // The connector stopped at the one refused request, and the refusal changed nothing.
        let (refused_after, _) = statuses(emulator.counters());
        assert_eq!(refused_after - refused_before, 1, "{at}: requests refused");
        assert_eq!(
            report.calls.last().map(|c| c.status),
            Some(fault.status()),
            "{at}: the attempt went on after the refusal: {:?}",
            report.calls
        );
        assert!(
            emulator.counters().total() - total_before <= 2,
            "{at}: more than a token request and the refused one: {:?}",
            report.calls
        );
        assert_eq!(
            emulator.audit(),
            audit,
            "{at}: the refused attempt left audit events"
        );

        let routes = emulator.counters().by_route();
        let done = succeed(setup, action, &prior).await;
        let got = Effect {
            repeat: done.repeat,
            writes: writes(&routes_since(&routes, &emulator.counters().by_route())),
            audit: emulator.audit()[audit.len()..].to_vec(),
        };
        assert_eq!(
            &got, expected,
            "{at}: the retry did not do what the fault-free run did"
        );
        prior.insert(step_key(setup, action), done.output);
    }
}

/// Starts a fault-free twin and a faulted run, compares them action by action, and returns the
/// faulted run's emulator for checks of its end state.
async fn matrix<E, F, Fut>(start: F, plan: &[Action], fault: Fault) -> (E, Vec<Effect>)
where
    E: Emulated,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Setup<E>>,
{
    let twin = start().await;
    let plan = supported(twin.connector.as_ref(), plan);
    let effects = fault_free(&twin, &plan).await;
    // Without effects to compare, "applies once" would prove nothing: every action but the
    // snapshot must change something for the seeded leaver.
    for (action, effect) in plan.iter().zip(&effects) {
        assert_eq!(
            effect.writes.is_empty() || effect.audit.is_empty() || effect.repeat,
            *action == Action::Snapshot,
            "{action} in the fault-free run: {effect:?}"
        );
    }
    let setup = start().await;
    faulted(&setup, &plan, fault, &effects).await;
    (setup.emulator, effects)
}

// ---- Okta ----

/// Okta's plan: record, then strip access, then disable. Suspend and deactivate are
/// alternatives in a real plan; both run here, deactivation last since it is final.
const OKTA_PLAN: [Action; 8] = [
    Action::Snapshot,
    Action::ResetFactors,
    Action::RevokeSessions,
    Action::RevokeGrants,
    Action::RemoveGroups,
    Action::UnassignApps,
    Action::Suspend,
    Action::Deactivate,
];

async fn okta() -> Setup<OktaEmulator> {
    use passage_sandbox::okta::DEMO_LEAVER;
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let connector = OktaConnector::new(
        OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
        },
        passage_connectors::http::client(),
    );
    Setup {
        emulator: okta,
        connector: Box::new(connector),
        email: DEMO_LEAVER,
        delegate: None,
    }
}

async fn okta_case(fault: Fault) {
    use passage_sandbox::okta::DEMO_LEAVER;
    let (okta, _) = matrix(okta, &OKTA_PLAN, fault).await;
    let user = okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(format!("{:?}", user.status), "Deprovisioned");
    assert!(
        okta.user_groups(DEMO_LEAVER)
            .iter()
            .all(|g| format!("{:?}", g.group_type) != "OktaGroup")
    );
    assert_eq!(okta.app_assignments(DEMO_LEAVER).unwrap().len(), 0);
    for event in [
        "user.mfa.factor.reset_all",
        "user.lifecycle.suspend",
        "user.lifecycle.deactivate",
    ] {
        assert_eq!(okta.count_events(event, &user.id), 1, "{event}");
    }
    okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_every_action_refused_with_429_and_reset_is_throttled_then_applies_once() {
    okta_case(Fault::TooManyRequests).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_every_action_refused_with_500_is_retryable_then_applies_once() {
    okta_case(Fault::Server(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_every_action_refused_with_503_is_retryable_then_applies_once() {
    okta_case(Fault::Server(503)).await;
}

// ---- Microsoft ----

async fn microsoft() -> Setup<MicrosoftEmulator> {
    use passage_sandbox::microsoft::{DEMO_LEAVER, DEMO_MANAGER, demo_seed};
    const CLIENT_ID: &str = "5a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";
    const SECRET: &str = "passage~fault-matrix.secret";
    let ms = MicrosoftEmulator::start(MicrosoftConfig::default())
        .await
        .unwrap();
    demo_seed(&ms);
    ms.register_app(CLIENT_ID, AppCredential::Secret(SECRET.into()));
    let connector = MicrosoftConnector::new(
        common::microsoft_settings(
            &ms,
            CLIENT_ID,
            MicrosoftCredential::Secret(Secret::new(SECRET)),
            common::microsoft_policy(DeviceAction::Retire),
        ),
        passage_connectors::http::client(),
    );
    Setup {
        emulator: ms,
        connector: Box::new(connector),
        email: DEMO_LEAVER,
        delegate: Some(DEMO_MANAGER),
    }
}

async fn microsoft_case(fault: Fault) {
    use passage_sandbox::microsoft::DEMO_LEAVER;
    let (ms, _) = matrix(microsoft, &common::MICROSOFT_PLAN, fault).await;
    let user = ms.user(DEMO_LEAVER).unwrap();
    assert!(!user.account_enabled);
    assert!(ms.licenses(DEMO_LEAVER).is_empty());
    assert!(!ms.devices(DEMO_LEAVER).is_empty());
    ms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_every_action_refused_with_429_and_retry_after_is_throttled_then_applies_once() {
    microsoft_case(Fault::TooManyRequests).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_every_action_refused_with_500_is_retryable_then_applies_once() {
    microsoft_case(Fault::Server(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_every_action_refused_with_503_and_retry_after_is_throttled_then_applies_once() {
    microsoft_case(Fault::Server(503)).await;
}

// ---- Google ----

async fn google() -> Setup<GoogleEmulator> {
    use passage_connectors::google::TransferPolling;
    use passage_sandbox::google::{DEMO_LEAVER, DEMO_MANAGER};
    let google = GoogleEmulator::start(GoogleConfig::default())
        .await
        .unwrap();
    passage_sandbox::google::demo_seed(&google);
    common::register_google_service_account(&google, DELEGATED_SCOPES);
    let connector = GoogleConnector::new(
        common::google_settings(&google, common::google_policy(DeviceAction::Retire)),
        passage_connectors::http::client(),
    )
    .with_transfer_polling(TransferPolling {
        polls: 20,
        interval: Duration::from_millis(20),
    });
    Setup {
        emulator: google,
        connector: Box::new(connector),
        email: DEMO_LEAVER,
        delegate: Some(DEMO_MANAGER),
    }
}

async fn google_case(fault: Fault) {
    use passage_sandbox::google::DEMO_LEAVER;
    let (google, _) = matrix(google, &common::GOOGLE_PLAN, fault).await;
    let user = google.user(DEMO_LEAVER).unwrap();
    assert!(user.suspended);
    assert_eq!(user.sessions, 0);
    assert!(user.tokens.is_empty());
    let transfers: Vec<_> = google
        .transfers()
        .into_iter()
        .filter(|t| t.old_owner == DEMO_LEAVER)
        .collect();
    assert_eq!(transfers.len(), 1, "one data transfer only: {transfers:?}");
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_every_action_refused_with_429_is_throttled_then_applies_once() {
    google_case(Fault::TooManyRequests).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_every_action_refused_with_403_rate_limit_exceeded_is_throttled_then_applies_once() {
    google_case(Fault::RateLimitExceeded403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_every_action_refused_with_500_is_retryable_then_applies_once() {
    google_case(Fault::Server(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_every_action_refused_with_503_is_retryable_then_applies_once() {
    google_case(Fault::Server(503)).await;
}

// ---- JumpCloud ----

async fn jumpcloud() -> Setup<JumpCloudEmulator> {
    use passage_sandbox::jumpcloud::{DEMO_LEAVER, demo_seed};
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let demo = demo_seed(&jc);
    jc.seed_system(SeedSystem::linux("build-box").bound_to(&demo.leaver_id));
    let connector = JumpCloudConnector::new(
        common::jumpcloud_settings(
            &jc,
            JumpCloudCredential::ApiKey(Secret::new(jc.api_key())),
            Some(jc.org_id()),
            DeviceAction::Lock,
        ),
        passage_connectors::http::client(),
    );
    Setup {
        emulator: jc,
        connector: Box::new(connector),
        email: DEMO_LEAVER,
        delegate: None,
    }
}

async fn jumpcloud_case(fault: Fault) {
    use passage_sandbox::jumpcloud::DEMO_LEAVER;
    let (jc, _) = matrix(jumpcloud, &common::JUMPCLOUD_PLAN, fault).await;
    let user = jc.user(DEMO_LEAVER).unwrap();
    assert!(user.suspended);
    assert!(user.groups.is_empty());
    let systems = jc.systems(DEMO_LEAVER);
    let commands = jc.commands();
    assert!(!systems.is_empty());
    for system in &systems {
        let sent = commands.iter().filter(|c| c.system_id == system.id).count();
        assert_eq!(sent, 1, "one device command per system: {commands:?}");
    }
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpcloud_every_action_refused_with_429_is_throttled_then_applies_once() {
    jumpcloud_case(Fault::TooManyRequests).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpcloud_every_action_refused_with_500_is_retryable_then_applies_once() {
    jumpcloud_case(Fault::Server(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpcloud_every_action_refused_with_503_is_retryable_then_applies_once() {
    jumpcloud_case(Fault::Server(503)).await;
}
