//! The embedded host: one process running the intake and auditor HTTP endpoints, step workers,
//! the cutoff timer and the sweep, all over the same engine the AWS functions use.

use crate::listener::{self, HttpLimits};
use passage_core::engine::{Disposition, Engine};
use passage_core::ports::StepQueue;
use passage_core::secret::Secret;
use passage_embedded::{SqliteQueue, SqliteTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

#[derive(Clone, Debug)]
pub struct HostSettings {
    pub listen: SocketAddr,
    /// Concurrent step workers.
    pub workers: usize,
    /// How often the sweep repairs what a crash interrupted.
    pub sweep_every: Duration,
    /// Longest a worker waits before looking at the queue again when not woken.
    pub idle_poll: Duration,
    /// How long a received message stays hidden (must exceed the engine's lease).
    pub visibility: Duration,
    /// HMAC key for auditor links.
    pub link_key: Secret,
    /// Held exclusively while serving: one host per data directory.
    pub lock_file: Option<std::path::PathBuf>,
    /// Who may use the operator API.
    pub operators: passage_http::Operators,
    /// Tenants whose HR system is compared with Passage every `reconcile_every`.
    pub reconcile: Vec<passage_core::TenantId>,
    pub reconcile_every: Duration,
    /// Deadlines and the connection cap of the HTTP listener.
    pub http: HttpLimits,
}

/// The parts of the embedded adapter set the host loops need beyond the engine's ports.
#[derive(Clone)]
pub struct Host {
    pub engine: Engine,
    pub queue: SqliteQueue,
    pub timer: SqliteTimer,
    pub settings: HostSettings,
}

/// A running host. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    _lock: Option<std::fs::File>,
    tasks: JoinSet<()>,
    /// The step workers, apart: a graceful stop lets them finish what they hold.
    workers: JoinSet<()>,
    /// Set to tell workers to take no more work.
    draining: tokio::sync::watch::Sender<bool>,
    queue: SqliteQueue,
    stop: Arc<tokio::sync::Notify>,
}

/// How a graceful stop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drained {
    /// Every worker finished the step it held.
    Finished,
    /// Some worker was still acting after the grace period: stopped, and its message given
    /// back to the queue at once (the step's lease lets the next start take it over).
    Released(u64),
}

impl Running {
    /// Stops every loop and the HTTP server.
    pub async fn shutdown(mut self) {
        self.stop.notify_waiters();
        self.tasks.abort_all();
        self.workers.abort_all();
        while self.tasks.join_next().await.is_some() {}
        while self.workers.join_next().await.is_some() {}
    }

    /// Stops gracefully (SIGTERM): takes no more work (intake, timer, sweep and the queue all
    /// stop), lets each worker finish the step it holds for up to `grace`, and gives back to
    /// the queue whatever is still held after that, so a restart neither waits a lease out for
    /// messages nor finds a half-recorded attempt.
    pub async fn drain(mut self, grace: Duration) -> Drained {
        let _ = self.draining.send(true);
        self.stop.notify_waiters();
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        let workers = &mut self.workers;
        let finished = tokio::time::timeout(grace, async {
            while workers.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if finished {
            return Drained::Finished;
        }
        self.workers.abort_all();
        while self.workers.join_next().await.is_some() {}
        match self.queue.recover_in_flight().await {
            Ok(n) => Drained::Released(n),
            Err(e) => {
                tracing::error!(error = %e, "could not give held messages back; the next start will");
                Drained::Released(0)
            }
        }
    }
}

impl Host {
    /// Binds the listener, repairs what a previous process left (sweep), and starts the loops.
    pub async fn start(self) -> std::io::Result<Running> {
        let lock = match &self.settings.lock_file {
            Some(path) => {
                let file = passage_embedded::private_file()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path)?;
                file.try_lock().map_err(|_| {
                    std::io::Error::other(format!(
                        "{} is locked: another passage serve uses this data directory",
                        path.display()
                    ))
                })?;
                Some(file)
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(self.settings.listen).await?;
        let addr = listener.local_addr()?;
        match self.queue.recover_in_flight().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                messages = n,
                "recovered messages left in flight by a previous process"
            ),
            Err(e) => tracing::error!(error = %e, "could not recover in-flight messages"),
        }
        if let Err(e) = self.engine.sweep().await {
            tracing::error!(error = %e, "start-up sweep failed; the periodic sweep will retry");
        }
        let stop = Arc::new(tokio::sync::Notify::new());
        let mut tasks = JoinSet::new();
        let app = passage_http::router(passage_http::ApiState {
            engine: self.engine.clone(),
            link_key: self.settings.link_key.clone(),
            confirm_key: self.settings.link_key.clone(),
            files: passage_http::FileDelivery::Inline,
            operators: self.settings.operators.clone(),
        });
        tasks.spawn(listener::serve(listener, app, self.settings.http.clone()));
        let (draining, drain_seen) = tokio::sync::watch::channel(false);
        let mut workers = JoinSet::new();
        for n in 0..self.settings.workers.max(1) {
            let host = self.clone();
            let drain_seen = drain_seen.clone();
            workers.spawn(async move { host.worker_loop(n, drain_seen).await });
        }
        let host = self.clone();
        tasks.spawn(async move { host.timer_loop().await });
        let host = self.clone();
        tasks.spawn(async move { host.sweep_loop().await });
        if !self.settings.reconcile.is_empty() {
            let host = self.clone();
            tasks.spawn(async move { host.reconcile_loop().await });
        }
        Ok(Running {
            addr,
            _lock: lock,
            tasks,
            workers,
            draining,
            queue: self.queue.clone(),
            stop,
        })
    }

    /// Takes one message at a time until told to drain; a message being handled is always
    /// finished first.
    async fn worker_loop(self, n: usize, mut draining: tokio::sync::watch::Receiver<bool>) {
        let wake = self.queue.wake();
        loop {
            if *draining.borrow() {
                return;
            }
            let notified = wake.notified();
            let deliveries = match self.queue.receive(1, self.settings.visibility).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(worker = n, error = %e, "queue receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if deliveries.is_empty() {
                tokio::select! {
                    _ = tokio::time::timeout(self.settings.idle_poll, notified) => {}
                    _ = draining.changed() => {}
                }
                continue;
            }
            for d in deliveries {
                let outcome = self.engine.handle(&d).await;
                let result = match outcome {
                    Ok(Disposition::Ack) => self.queue.ack(&d.receipt).await,
                    Ok(Disposition::Requeue(delay)) => self.queue.requeue(&d.receipt, delay).await,
                    Ok(Disposition::DeadLetter(reason)) => {
                        tracing::warn!(worker = n, %reason, "message dead-lettered");
                        self.queue.dead_letter(&d.receipt, &reason).await
                    }
                    Err(e) => {
                        // Infrastructure trouble: let the message come back after a pause.
                        tracing::error!(worker = n, error = %e, "step handling failed; will retry");
                        self.queue.release(&d.receipt, Duration::from_secs(2)).await
                    }
                };
                if let Err(e) = result {
                    tracing::warn!(worker = n, error = %e, "queue update failed");
                }
            }
        }
    }

    /// Fires due cutoffs, sleeping until the next one (at most 250 ms, so a timer set by
    /// another process is noticed quickly and every cutoff fires within a second).
    async fn timer_loop(self) {
        loop {
            let now = jiff::Timestamp::now();
            match self.timer.due(now).await {
                Ok(due) => {
                    for run in due {
                        match self.engine.fire_cutoff(&run).await {
                            Ok(passage_core::engine::Fired::NotYet) => {}
                            Ok(_) => {
                                use passage_core::ports::Timer;
                                let _ = self.timer.cancel(&run).await;
                            }
                            Err(e) => {
                                tracing::error!(%run, error = %e, "cutoff failed; will retry")
                            }
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "timer read failed"),
            }
            let next = self.timer.next().await.ok().flatten();
            let cap = Duration::from_millis(250);
            let wait = next
                .map(|at| {
                    Duration::try_from(at.duration_since(jiff::Timestamp::now()))
                        .unwrap_or_default()
                })
                .map_or(cap, |d| d.min(cap));
            tokio::time::sleep(wait).await;
        }
    }

    async fn sweep_loop(self) {
        loop {
            tokio::time::sleep(self.settings.sweep_every).await;
            match self.engine.sweep().await {
                Ok(r) if r.started + r.requeued + r.finalizations > 0 => {
                    tracing::debug!(?r, "sweep")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "sweep failed"),
            }
        }
    }

    /// Catches what webhooks missed: terminations of the last 30 days without a run, moved
    /// dates and rescinded terminations.
    async fn reconcile_loop(self) {
        loop {
            for tenant in &self.settings.reconcile {
                match self.engine.reconcile(tenant, None).await {
                    Ok(r) => tracing::info!(
                        %tenant,
                        checked = r.checked,
                        created = r.created.len(),
                        rescheduled = r.rescheduled.len(),
                        cancelled = r.cancelled.len(),
                        errors = r.errors.len(),
                        "reconciled with the HR system"
                    ),
                    Err(e) => {
                        tracing::warn!(%tenant, error = %e, "reconcile failed; next pass retries")
                    }
                }
            }
            tokio::time::sleep(self.settings.reconcile_every).await;
        }
    }
}
