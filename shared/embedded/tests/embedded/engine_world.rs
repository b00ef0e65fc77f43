//! An engine on the SQLite store with ports that record what they are asked, a clock the test
//! sets, and an Okta connector that answers as the test scripts it: the world the engine tests
//! run in.

use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::cutoff::CutoffRequest;
use passage_core::domain::{
    Action, AttemptRecord, Provider, RunState, SignIn, Step, StepState, Subject, TenantPolicy,
    step_key,
};
use passage_core::engine::{Disposition, Engine, EngineSettings, ManualLeaver, Ports};
use passage_core::ids::{RunId, StepKey, TenantId};
use passage_core::ports::{
    ActionDone, ActionFailure, ActionOutcome, ActionReport, ActionRequest, Channel, Clock,
    Connector, ConnectorRegistry, Delivery, FailureClass, NoHrSources, Notice, NoticeDelivery,
    Notifier, QueueError, QueueMessage, RunStore, SignInError, SignInLog, SignInRead,
    StaticTenants, StepQueue, Timer, TimerError,
};
use passage_embedded::{Database, FsEvidenceStore, KeyFileVault, SqliteStore};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Ports that record what they are asked
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
pub struct RecordingQueue(Mutex<Vec<(QueueMessage, Duration)>>);

impl RecordingQueue {
    pub fn take(&self) -> Vec<(QueueMessage, Duration)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[async_trait]
impl StepQueue for RecordingQueue {
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError> {
        self.0.lock().unwrap().push((message.clone(), delay));
        Ok(())
    }
    async fn receive(&self, _: usize, _: Duration) -> Result<Vec<Delivery>, QueueError> {
        Ok(Vec::new())
    }
    async fn ack(&self, _: &str) -> Result<(), QueueError> {
        Ok(())
    }
    async fn release(&self, _: &str, _: Duration) -> Result<(), QueueError> {
        Ok(())
    }
    async fn requeue(&self, _: &str, _: Duration) -> Result<(), QueueError> {
        Ok(())
    }
    async fn dead_letter(&self, _: &str, _: &str) -> Result<(), QueueError> {
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerCall {
    Schedule(RunId, Timestamp),
    Cancel(RunId),
}

#[derive(Default)]
pub struct RecordingTimer(Mutex<Vec<TimerCall>>);

impl RecordingTimer {
    pub fn take(&self) -> Vec<TimerCall> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[async_trait]
impl Timer for RecordingTimer {
    async fn schedule(&self, _: &TenantId, run: &RunId, at: Timestamp) -> Result<(), TimerError> {
        self.0
            .lock()
            .unwrap()
            .push(TimerCall::Schedule(run.clone(), at));
        Ok(())
    }
    async fn cancel(&self, run: &RunId) -> Result<(), TimerError> {
        self.0.lock().unwrap().push(TimerCall::Cancel(run.clone()));
        Ok(())
    }
}

pub struct TestClock(Mutex<Timestamp>);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// Delivers nothing and remembers every notice, as every channel would have received it.
#[derive(Default)]
pub struct RecordingNotifier(Mutex<Vec<Notice>>);

impl RecordingNotifier {
    pub fn sent(&self) -> Vec<Notice> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(
        &self,
        _: &TenantPolicy,
        channels: &[Channel],
        notice: &Notice,
    ) -> Vec<NoticeDelivery> {
        self.0.lock().unwrap().push(notice.clone());
        channels
            .iter()
            .map(|c| NoticeDelivery {
                channel: c.kind().into(),
                target: "recorded".into(),
                delivered: true,
                detail: "recorded by the test".into(),
                at: notice.at,
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Okta, as the test scripts it
// ---------------------------------------------------------------------------------------------

/// How Okta answers one action: given the request and the time, the outcome.
pub type Answer = Box<dyn Fn(&ActionRequest, Timestamp) -> ActionOutcome + Send + Sync>;

/// Okta, answering each action as the test says (verified unless told otherwise) and
/// recording every request.
pub struct ScriptedOkta {
    clock: Arc<TestClock>,
    answers: Mutex<BTreeMap<Action, Answer>>,
    pub calls: Mutex<Vec<Action>>,
    pub requests: Mutex<Vec<ActionRequest>>,
}

impl ScriptedOkta {
    fn new(clock: Arc<TestClock>) -> Self {
        Self {
            clock,
            answers: Mutex::default(),
            calls: Mutex::default(),
            requests: Mutex::default(),
        }
    }
}

pub fn done(action: Action) -> ActionOutcome {
    ActionDone {
        repeat: false,
        summary: format!("{action} done"),
        readback: json!({}),
        output: json!({}),
    }
    .into()
}

pub fn failure(class: FailureClass) -> ActionOutcome {
    ActionFailure {
        class,
        code: "E0000006".into(),
        message: "you do not have permission".into(),
    }
    .into()
}

#[async_trait]
impl Connector for ScriptedOkta {
    fn provider(&self) -> Provider {
        Provider::Okta
    }
    fn supports(&self, _: Action) -> bool {
        true
    }
    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        self.calls.lock().unwrap().push(request.action);
        self.requests.lock().unwrap().push(request.clone());
        let now = self.clock.now();
        let outcome = match self.answers.lock().unwrap().get(&request.action) {
            Some(answer) => answer(request, now),
            None => done(request.action),
        };
        ActionReport {
            outcome,
            calls: Vec::new(),
        }
    }
}

/// Okta's sign-in log as the test scripts it: the entries it holds, and whether a read stops
/// before its last page or fails outright.
#[derive(Default)]
pub struct ScriptedSignIns {
    pub entries: Mutex<Vec<SignIn>>,
    /// Reads stop after the first page: what was read comes back with `complete: false`.
    pub partial: Mutex<bool>,
    /// Reads fail outright.
    pub broken: Mutex<bool>,
    pub reads: Mutex<u32>,
}

#[async_trait]
impl SignInLog for ScriptedSignIns {
    async fn sign_ins(&self, _: &Subject, since: Timestamp) -> Result<SignInRead, SignInError> {
        *self.reads.lock().unwrap() += 1;
        if *self.broken.lock().unwrap() {
            return Err(SignInError {
                code: "E0000009".into(),
                message: "internal server error".into(),
            });
        }
        let partial = *self.partial.lock().unwrap();
        let entries = self.entries.lock().unwrap();
        let found = entries.iter().filter(|s| s.at >= since);
        Ok(SignInRead {
            sign_ins: found
                .take(if partial { 0 } else { usize::MAX })
                .cloned()
                .collect(),
            complete: !partial,
            stopped: partial.then(|| "page 2: 500 E0000009".into()),
            calls: Vec::new(),
        })
    }
}

struct Registry(Arc<dyn Connector>, Arc<ScriptedSignIns>);

impl ConnectorRegistry for Registry {
    fn connector(&self, _: &TenantPolicy, provider: Provider) -> Option<Arc<dyn Connector>> {
        (provider == Provider::Okta).then(|| self.0.clone())
    }

    fn sign_in_log(&self, _: &TenantPolicy, provider: Provider) -> Option<Arc<dyn SignInLog>> {
        (provider == Provider::Okta).then(|| self.1.clone() as Arc<dyn SignInLog>)
    }
}

// ---------------------------------------------------------------------------------------------
// The engine under test
// ---------------------------------------------------------------------------------------------

pub struct World {
    pub engine: Engine,
    pub store: SqliteStore,
    pub queue: Arc<RecordingQueue>,
    pub timer: Arc<RecordingTimer>,
    pub clock: Arc<TestClock>,
    pub okta: Arc<ScriptedOkta>,
    pub notifier: Arc<RecordingNotifier>,
    pub sign_ins: Arc<ScriptedSignIns>,
    pub tenant: TenantId,
    pub evidence: FsEvidenceStore,
    _dir: tempfile::TempDir,
}

pub const START: &str = "2030-01-07T09:00:00Z";
pub const CUTOFF: &str = "2030-01-07T17:00:00Z";

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

impl World {
    pub fn new() -> Self {
        Self::with(|_| {}, |_| {})
    }

    /// A world whose tenant policy and engine settings the test adjusts first.
    pub fn with(
        policy: impl FnOnce(&mut TenantPolicy),
        settings: impl FnOnce(&mut EngineSettings),
    ) -> Self {
        Self::on(policy, settings, Self::clock(), |okta| okta)
    }

    /// A world whose Okta is the connector `connector` makes of the scripted one (which it
    /// may wrap).
    pub fn on(
        policy: impl FnOnce(&mut TenantPolicy),
        settings: impl FnOnce(&mut EngineSettings),
        clock: Arc<TestClock>,
        connector: impl FnOnce(Arc<ScriptedOkta>) -> Arc<dyn Connector>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut tenant_policy = TenantPolicy::new("acme");
        // Grants may be waived: the waiver test needs a step that is not critical.
        tenant_policy.okta.as_mut().unwrap().grants_critical = false;
        policy(&mut tenant_policy);
        let tenant = tenant_policy.id.clone();
        let store = SqliteStore::new(Database::in_memory().unwrap());
        let queue = Arc::new(RecordingQueue::default());
        let timer = Arc::new(RecordingTimer::default());
        let okta = Arc::new(ScriptedOkta::new(clock.clone()));
        let notifier = Arc::new(RecordingNotifier::default());
        let sign_ins = Arc::new(ScriptedSignIns::default());
        let evidence = FsEvidenceStore::new(dir.path().join("bundles"));
        let ports = Ports {
            store: Arc::new(store.clone()),
            queue: queue.clone(),
            keys: Arc::new(KeyFileVault::new(dir.path().join("keys"), None)),
            timestamps: None,
            evidence: Arc::new(evidence.clone()),
            timer: timer.clone(),
            clock: clock.clone(),
            connectors: Arc::new(Registry(connector(okta.clone()), sign_ins.clone())),
            tenants: Arc::new(StaticTenants::new(vec![tenant_policy])),
            hr: Arc::new(NoHrSources),
            notifier: notifier.clone(),
            audit: Arc::new(store.clone()),
        };
        let mut engine_settings = EngineSettings {
            worker_id: "worker-1".into(),
            ..EngineSettings::default()
        };
        settings(&mut engine_settings);
        Self {
            engine: Engine::new(ports, engine_settings),
            store,
            queue,
            timer,
            clock,
            okta,
            notifier,
            sign_ins,
            tenant,
            evidence,
            _dir: dir,
        }
    }

    pub fn clock() -> Arc<TestClock> {
        Arc::new(TestClock(Mutex::new(at(START))))
    }

    pub fn set_time(&self, s: &str) {
        *self.clock.0.lock().unwrap() = at(s);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.clock.0.lock().unwrap();
        *now = now
            .checked_add(jiff::SignedDuration::try_from(by).unwrap())
            .unwrap();
    }

    /// A leaver whose cutoff is this afternoon; the intake's own timer call is forgotten.
    pub async fn scheduled_run(&self) -> RunId {
        let leaver = ManualLeaver {
            employee_id: "e-1".into(),
            email: "jane@example.com".into(),
            display_name: None,
            cutoff: CutoffRequest::Exact(at(CUTOFF)),
            time_zone: None,
            work_location: None,
            manager: None,
            note: None,
        };
        let accepted = self
            .engine
            .start_manual(&self.tenant, leaver, "ops", "leaver-1")
            .await
            .unwrap();
        assert_eq!(accepted.state, RunState::Scheduled);
        self.timer.take();
        self.queue.take();
        accepted.run_id
    }

    /// A run past its cutoff with its snapshot claimed by nobody yet.
    pub async fn running_run(&self) -> RunId {
        let run_id = self.scheduled_run().await;
        self.set_time("2030-01-07T17:00:01Z");
        self.engine.fire_cutoff(&run_id).await.unwrap();
        self.timer.take();
        self.queue.take();
        run_id
    }

    pub async fn work(&self, run_id: &RunId, action: Action) -> Disposition {
        self.work_delivered(run_id, action, 1).await
    }

    pub async fn work_delivered(&self, run_id: &RunId, action: Action, count: u32) -> Disposition {
        self.engine
            .handle(&delivery(run_id, action, count))
            .await
            .unwrap()
    }

    /// Works the step's message as a host would, moving the clock on by each requeue's delay,
    /// until it is acked or dead-lettered or `limit` deliveries were made. Returns every
    /// disposition, the last one final.
    pub async fn work_until_settled(
        &self,
        run_id: &RunId,
        action: Action,
        limit: usize,
    ) -> Vec<Disposition> {
        let mut seen = Vec::new();
        while seen.len() < limit {
            let d = self.work(run_id, action).await;
            seen.push(d.clone());
            match d {
                Disposition::Requeue(delay) => self.advance(delay),
                Disposition::Ack | Disposition::DeadLetter(_) => break,
            }
        }
        seen
    }

    /// Okta answers `action` with whatever `answer` says for the request at the time.
    pub fn answer(
        &self,
        action: Action,
        answer: impl Fn(&ActionRequest, Timestamp) -> ActionOutcome + Send + Sync + 'static,
    ) {
        self.okta
            .answers
            .lock()
            .unwrap()
            .insert(action, Box::new(answer));
    }

    pub fn fail(&self, action: Action, class: FailureClass) {
        self.answer(action, move |_, _| failure(class));
    }

    pub async fn step(&self, run_id: &RunId, action: Action) -> Step {
        let steps = self.store.steps(run_id).await.unwrap();
        steps.into_iter().find(|s| s.key == okta(action)).unwrap()
    }

    pub async fn state_of(&self, run_id: &RunId, action: Action) -> StepState {
        self.step(run_id, action).await.state
    }

    pub async fn run_state(&self, run_id: &RunId) -> RunState {
        self.store.run(run_id).await.unwrap().unwrap().state
    }

    pub async fn event_kinds(&self, run_id: &RunId) -> Vec<String> {
        let events = self.store.events(run_id).await.unwrap();
        events.into_iter().map(|e| e.kind).collect()
    }

    /// The attempts recorded for one step, in order.
    pub async fn attempts(&self, run_id: &RunId, action: Action) -> Vec<AttemptRecord> {
        let all = self.store.attempts(run_id).await.unwrap();
        all.into_iter()
            .filter(|a| a.step_key == okta(action))
            .collect()
    }
}

pub fn okta(action: Action) -> StepKey {
    step_key(Provider::Okta, action)
}

pub fn step_message(run_id: &RunId, action: Action) -> QueueMessage {
    QueueMessage::Step {
        run_id: run_id.clone(),
        step_key: okta(action),
    }
}

pub fn delivery(run_id: &RunId, action: Action, count: u32) -> Delivery {
    Delivery {
        message: Some(step_message(run_id, action)),
        body: String::new(),
        receipt: "receipt".into(),
        receive_count: count,
    }
}

/// Verifies every Okta step but grants, which the test decides about.
pub async fn all_but_grants(world: &World, run_id: &RunId) {
    world.work(run_id, Action::Snapshot).await;
    world.work(run_id, Action::RevokeSessions).await;
    world.work(run_id, Action::RemoveGroups).await;
}

/// Works every ready step of the run until none is left, then closes it through the gate;
/// returns the bundle's sequence.
pub async fn close(world: &World, run_id: &RunId) -> u64 {
    work_ready(world, run_id).await;
    let bundle = world.engine.finalize(run_id).await.unwrap();
    bundle.expect("the gate opened").sequence
}

/// Works every ready step of the run (and those they release) until none is left.
pub async fn work_ready(world: &World, run_id: &RunId) {
    for _ in 0..10 {
        let steps = world.store.steps(run_id).await.unwrap();
        let ready: Vec<_> = steps
            .iter()
            .filter(|s| s.state == StepState::Ready)
            .collect();
        if ready.is_empty() {
            break;
        }
        for s in ready {
            let delivery = Delivery {
                message: Some(QueueMessage::Step {
                    run_id: run_id.clone(),
                    step_key: s.key.clone(),
                }),
                body: String::new(),
                receipt: "receipt".into(),
                receive_count: 1,
            };
            world.engine.handle(&delivery).await.unwrap();
        }
    }
}
