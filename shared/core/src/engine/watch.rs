//! The sign-in watch: after a run closes, each provider's sign-in log is read for the
//! tenant's window. A successful sign-in by the leaver after the cutoff (plus clock slack)
//! means access was not cut: the run reopens, that provider's lockout steps run again, and
//! the tenant is alerted. The run closes again only through the gate, and its next bundle
//! carries the sign-in and the reopening.
//!
//! The watch rides on the run's timer (the scheduler that fired its cutoff): closing sets it
//! for the first read, each read sets it for the next, until the window and the logs'
//! ingestion delay have passed. A read that stops before the log's last page grades that
//! provider unknown, never "no sign-in", and the next read tries again.

use super::effects::Write;
use super::{Engine, EngineError, after};
use crate::domain::{
    Action, LogReading, Provider, Reopening, Run, RunEvent, RunState, SignIn, SignInWatch, Step,
    StepState, TenantPolicy,
};
use crate::ids::RunId;
use crate::machine::run::RunInput;
use crate::machine::step::StepInput;
use crate::ports::{Notice, NoticeKind};
use jiff::Timestamp;
use serde_json::json;

/// The providers whose sign-in logs the watch reads: the identity providers.
const WATCHED: [Provider; 4] = [
    Provider::Okta,
    Provider::Microsoft,
    Provider::Google,
    Provider::Jumpcloud,
];

/// The steps that shut a provider's door: done again when the leaver got through it.
const LOCKOUT: [Action; 3] = [Action::RevokeSessions, Action::Suspend, Action::Deactivate];

/// What one round of reads found, before it is stored.
struct Round {
    logs: Vec<(Provider, LogReading)>,
    sign_ins: Vec<SignIn>,
}

/// What the watch did at one wake, for the timer that woke it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    /// The logs were read; the timer is set for the next read.
    Again,
    /// The watch is over (or the run has none): the timer is spent.
    Done,
}

impl Engine {
    /// Starts the watch on a run about to close, from the tenant's policy. A run reopened by
    /// the watch keeps the watch it had: the window counts from the cutoff, not the closing.
    pub(super) async fn begin_watch(&self, run: &mut Run) -> Result<(), EngineError> {
        // A restore run gives access back: the person's sign-ins after it are expected.
        if run.sign_in_watch.is_some()
            || run.state == RunState::Cancelled
            || run.restore().is_some()
        {
            return Ok(());
        }
        let Some(policy) = self.ports.tenants.tenant(&run.tenant).await? else {
            return Ok(());
        };
        if !policy.sign_in_watch.window.is_zero() {
            run.sign_in_watch = Some(SignInWatch::new(run.cutoff.at, &policy.sign_in_watch));
        }
        Ok(())
    }

    /// Sets the run's timer for the watch's next read, if the watch goes on.
    pub(super) async fn arm_watch(&self, run: &Run) -> Result<Watched, EngineError> {
        let now = self.now();
        let Some(watch) = run.sign_in_watch.as_ref().filter(|w| w.is_watching(now)) else {
            return Ok(Watched::Done);
        };
        let every = match self.ports.tenants.tenant(&run.tenant).await? {
            Some(policy) => policy.sign_in_watch.every,
            None => return Ok(Watched::Done),
        };
        let next = after(now, every).min(watch.last_read);
        self.ports
            .timer
            .schedule(&run.tenant, &run.id, next)
            .await?;
        Ok(Watched::Again)
    }

    /// Reads the closed run's sign-in logs once: records what they say, reopens the run on a
    /// successful sign-in after the cutoff, alerts, and sets the timer for the next read.
    pub async fn watch_sign_ins(&self, run_id: &RunId) -> Result<Watched, EngineError> {
        let Some(run) = self.ports.store.run(run_id).await? else {
            return Err(EngineError::NotFound(format!("run {run_id}")));
        };
        let now = self.now();
        let watching = run
            .sign_in_watch
            .as_ref()
            .is_some_and(|w| w.is_watching(now));
        let Some(policy) = self.ports.tenants.tenant(&run.tenant).await? else {
            return Ok(Watched::Done);
        };
        if !watching {
            return Ok(Watched::Done);
        }
        let steps = self.ports.store.steps(run_id).await?;
        let round = self.read_logs(&policy, &run, &steps).await;
        let Some((run, reopened)) = self.record_round(run_id, round).await? else {
            return Ok(Watched::Done);
        };
        for sign_in in &reopened {
            self.alert_sign_in(&policy, &run, &steps, sign_in).await?;
        }
        self.arm_watch(&run).await
    }

    /// Reads each watched provider of the run's plan once.
    async fn read_logs(&self, policy: &TenantPolicy, run: &Run, steps: &[Step]) -> Round {
        let mut round = Round {
            logs: Vec::new(),
            sign_ins: Vec::new(),
        };
        let now = self.now();
        for provider in WATCHED {
            if !steps.iter().any(|s| s.provider == provider) {
                continue;
            }
            let Some(log) = self.ports.connectors.sign_in_log(policy, provider) else {
                let why = "the connection cannot read this provider's sign-in log".to_owned();
                round
                    .logs
                    .push((provider, LogReading::NotObservable { why }));
                continue;
            };
            let reading = match log.sign_ins(&run.subject, run.cutoff.at).await {
                Ok(read) => {
                    round.sign_ins.extend(read.sign_ins);
                    match (read.complete, read.stopped) {
                        (true, _) => LogReading::Complete { read_at: now },
                        (false, why) => LogReading::Unknown {
                            read_at: now,
                            why: why.unwrap_or_else(|| "the read stopped early".into()),
                        },
                    }
                }
                Err(e) => LogReading::Unknown {
                    read_at: now,
                    why: e.to_string(),
                },
            };
            round.logs.push((provider, reading));
        }
        round
    }

    /// Stores one round: the readings, the sign-ins not seen before, and for each successful
    /// one after the cutoff a reopening with that provider's lockout steps readied again.
    /// Returns the run as stored and the sign-ins that reopened it; `None` when the run has
    /// no watch.
    async fn record_round(
        &self,
        run_id: &RunId,
        round: Round,
    ) -> Result<Option<(Run, Vec<SignIn>)>, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            let Some(mut watch) = run.sign_in_watch.take() else {
                return Ok(None);
            };
            let now = self.now();
            let mut write = Write::new(&run, now);
            watch.logs.extend(round.logs.iter().cloned());
            let fresh: Vec<SignIn> = round
                .sign_ins
                .iter()
                .filter(|s| s.at >= run.cutoff.at && !watch.knows(s))
                .cloned()
                .collect();
            let reopening: Vec<SignIn> =
                fresh.iter().filter(|s| watch.reopens(s)).cloned().collect();
            for sign_in in &fresh {
                write.commit.events.push(sign_in_event(
                    &run.id,
                    now,
                    sign_in,
                    watch.reopens(sign_in),
                ));
            }
            watch.sign_ins.extend(fresh);
            let mut steps = self.ports.store.steps(run_id).await?;
            for sign_in in &reopening {
                reopen(&mut write, &mut run, &mut watch, &mut steps, sign_in, now)?;
            }
            run.sign_in_watch = Some(watch);
            write
                .commit
                .steps
                .extend(steps.into_iter().filter(|s| relocked(s, &reopening)));
            write.commit.runs.push(run.clone());
            if self.write(write).await?.is_none() {
                continue;
            }
            run.version += 1;
            return Ok(Some((run, reopening)));
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Tells the tenant the leaver signed in after the cutoff, on its escalation channels
    /// (else its reminder channels), and records the deliveries in the run's timeline.
    async fn alert_sign_in(
        &self,
        policy: &TenantPolicy,
        run: &Run,
        steps: &[Step],
        sign_in: &SignIn,
    ) -> Result<(), EngineError> {
        let channels = policy.human.escalation_channels();
        let Some(step) = steps
            .iter()
            .find(|s| lockout_of(s, sign_in.provider))
            .or_else(|| steps.iter().find(|s| s.provider == sign_in.provider))
        else {
            return Ok(());
        };
        let now = self.now();
        let notice = alert_for(run, step, sign_in, now);
        let deliveries = self.ports.notifier.send(policy, channels, &notice).await;
        let event = RunEvent::new(
            &run.id,
            now,
            "sign_in.alerted",
            "sign_in_watch",
            json!({"event_id": sign_in.event_id, "provider": sign_in.provider, "deliveries": deliveries}),
        );
        let commit = crate::ports::Commit {
            events: vec![event],
            ..Default::default()
        };
        self.ports.store.commit(commit).await?;
        Ok(())
    }
}

/// Reopens `run` (if it is closed) for `sign_in` and readies its provider's verified lockout
/// steps again, all within `write`.
fn reopen(
    write: &mut Write,
    run: &mut Run,
    watch: &mut SignInWatch,
    steps: &mut [Step],
    sign_in: &SignIn,
    now: Timestamp,
) -> Result<(), EngineError> {
    let previous_bundle = if run.state == RunState::Closed {
        write.run(run, RunInput::Reopen)?;
        run.closed_at = None;
        run.bundle.take()
    } else {
        None
    };
    watch.reopenings.push(Reopening {
        at: now,
        event_id: sign_in.event_id.clone(),
        provider: sign_in.provider,
        previous_bundle: previous_bundle.clone(),
    });
    let mut relocked = Vec::new();
    for step in steps.iter_mut().filter(|s| lockout_of(s, sign_in.provider)) {
        if step.state == StepState::Verified {
            write.step(step, StepInput::Relock)?;
            step.streaks = Default::default();
            step.not_before = None;
            relocked.push(step.key.to_string());
        }
    }
    write.commit.events.push(RunEvent::new(
        &run.id,
        now,
        "run.reopened",
        "sign_in_watch",
        json!({
            "provider": sign_in.provider,
            "sign_in": sign_in,
            "previous_bundle": previous_bundle,
            "relocked_steps": relocked,
        }),
    ));
    Ok(())
}

/// Where the run's bundle is stored: under the run's id, and for a run the watch reopened,
/// beside it (`<run>.reopened-<n>`), so the bundle it closed with first stays where the chain
/// and the auditors' links found it.
pub(super) fn bundle_slot(run: &Run) -> RunId {
    match run.sign_in_watch.as_ref().map_or(0, |w| w.reopenings.len()) {
        0 => run.id.clone(),
        n => reopened_slot(&run.id, n),
    }
}

/// Where the bundle a run closed with after its `n`th reopening is kept, beside the first
/// (numbered from 1, without gaps): the one naming rule stores and archives both follow.
pub fn reopened_slot(run: &RunId, n: usize) -> RunId {
    RunId::new(format!("{run}.reopened-{n}"))
}

/// The run a bundle slot belongs to: itself, or the run of a `reopened_slot`.
pub fn run_of_slot(slot: &str) -> &str {
    match slot.rsplit_once(".reopened-") {
        Some((run, n)) if n.parse::<usize>().is_ok_and(|n| n > 0) => run,
        _ => slot,
    }
}

fn lockout_of(step: &Step, provider: Provider) -> bool {
    step.provider == provider && LOCKOUT.contains(&step.action)
}

/// Whether the round readied `step` again (it belongs in the write).
fn relocked(step: &Step, reopening: &[SignIn]) -> bool {
    step.state == StepState::Ready && reopening.iter().any(|s| lockout_of(step, s.provider))
}

fn sign_in_event(run_id: &RunId, at: Timestamp, sign_in: &SignIn, reopens: bool) -> RunEvent {
    let kind = if sign_in.success {
        "sign_in.after_cutoff"
    } else {
        "sign_in.failed_after_cutoff"
    };
    RunEvent::new(
        run_id,
        at,
        kind,
        "sign_in_watch",
        json!({"sign_in": sign_in, "reopens": reopens}),
    )
}

fn alert_for(run: &Run, step: &Step, sign_in: &SignIn, now: Timestamp) -> Notice {
    let app = sign_in
        .app
        .as_deref()
        .unwrap_or("an app the log does not name");
    let ip = sign_in
        .ip
        .as_deref()
        .unwrap_or("an address the log does not give");
    Notice {
        kind: NoticeKind::SignInAfterCutoff,
        tenant: run.tenant.to_string(),
        run_id: run.id.clone(),
        step: Some(step.key.clone()),
        subject: format!(
            "{} signed in to {} after the cutoff: run reopened",
            run.subject.email, sign_in.provider
        ),
        text: format!(
            "{}'s {} sign-in log shows a successful sign-in at {} to {app} from {ip} \
             (log entry {}), after the run's cutoff at {}. Passage reopened the run and is \
             blocking sign-in and revoking sessions at {} again; see `passage runs show {}`.",
            run.subject.email,
            sign_in.provider,
            sign_in.at,
            sign_in.event_id,
            run.cutoff.at,
            sign_in.provider,
            run.id,
        ),
        recipients: Vec::new(),
        at: now,
    }
}
