//! The closure gate's last act: assemble, sign and store the evidence, then close the run.

use super::effects::Write;
use super::{Engine, EngineError};
use crate::domain::{BundleRef, Run, RunEvent, RunState, Step};
use crate::evidence::{BundleFiles, BundleInput, Statement, build_bundle};
use crate::gate::{self, Gate};
use crate::ids::RunId;
use crate::machine::run::RunInput;
use crate::ports::{ChainHead, Signer};
use jiff::Timestamp;
use serde_json::json;

impl Engine {
    /// Closes the run if its gate is open. Idempotent: a closed run is left alone, and a crash
    /// after storing the bundle but before closing simply rebuilds and re-stores it.
    pub async fn finalize(&self, run_id: &RunId) -> Result<Option<BundleRef>, EngineError> {
        let Some(run) = self.ports.store.run(run_id).await? else {
            return Err(EngineError::NotFound(format!("run {run_id}")));
        };
        // This process's turn at the tenant's chain: a second closer waits here rather than
        // build a bundle only to lose the chain's compare-and-set (or give its message back and
        // run into the dead-letter limit during a layoff). Across processes the compare-and-set
        // still decides.
        let turn = self.chain_lock(&run.tenant);
        let _turn = turn.lock().await;
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            if run.state == RunState::Closed || run.bundle.is_some() {
                return Ok(run.bundle);
            }
            // A cancelled run gets a signed record too: why no access was cut is evidence.
            let cancelled = run.state == RunState::Cancelled;
            if !run.state.is_open() && !cancelled {
                return Ok(None);
            }
            let steps = self.ports.store.steps(run_id).await?;
            if !cancelled && gate::evaluate_run(&steps, &run.exceptions, self.now()) != Gate::Open {
                return Ok(None);
            }
            if !self.take_finalizer_lease(&mut run).await? {
                continue;
            }
            // A rotation waiting for its link goes in first, so this bundle is signed by
            // the key the chain hands over to.
            self.settle_rotation(&run.tenant).await?;
            if let Some(bundle) = self.seal(run, &steps).await? {
                return Ok(Some(bundle));
            }
            // Another run of the tenant took this sequence, or the run changed: rebuild.
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Takes (or renews) the run's finalizer lease before any file is written. `false` when
    /// the run changed meanwhile; [`EngineError::Busy`] while another finalizer holds it.
    async fn take_finalizer_lease(&self, run: &mut Run) -> Result<bool, EngineError> {
        let now = self.now();
        if let Some(lease) = &run.finalizing
            && lease.until > now
            && lease.owner != self.settings.worker_id
        {
            return Err(EngineError::Busy(super::until(now, lease.until)));
        }
        run.finalizing = Some(crate::domain::Lease {
            owner: self.settings.worker_id.clone(),
            until: super::after(now, self.settings.lease),
        });
        let stored = self
            .try_commit(crate::ports::Commit {
                runs: vec![run.clone()],
                ..crate::ports::Commit::default()
            })
            .await?;
        if stored {
            run.version += 1;
        }
        Ok(stored)
    }

    /// Builds, signs and stores the run's bundle, then closes the run (a cancelled one stays
    /// cancelled) and moves the tenant's chain head, in one write. `None` when that write lost
    /// to another: the caller rebuilds.
    async fn seal(&self, mut run: Run, steps: &[Step]) -> Result<Option<BundleRef>, EngineError> {
        let cancelled = run.state == RunState::Cancelled;
        self.begin_watch(&mut run).await?;
        let mut write = Write::new(&run, self.now());
        if run.state == RunState::Blocked {
            write.run(&mut run, RunInput::Unblocked)?;
            run.blocked_reason = None;
        }
        let attempts = self.ports.store.attempts(&run.id).await?;
        let now = self.now();
        let mut events = self.ports.store.events(&run.id).await?;
        let kind = if cancelled {
            "run.cancellation_recorded"
        } else {
            "run.closed"
        };
        let closing = RunEvent::new(&run.id, now, kind, "system", json!({}));
        events.push(closing.clone());
        let head = self.ports.store.chain_head(&run.tenant).await?;
        let sequence = head.sequence + 1;
        let signer = self.current_signer(&run.tenant, &head).await?;
        let (files, statement) = self
            .signed_bundle(&run, steps, &attempts, &events, &head, now, signer.as_ref())
            .await?;
        let location = self
            .ports
            .evidence
            .put_bundle(&run.tenant, &super::watch::bundle_slot(&run), &files)
            .await?;
        if !cancelled {
            write.run(&mut run, RunInput::Close)?;
            run.closed_at = Some(now);
        }
        run.finalizing = None;
        let bundle = BundleRef {
            sequence,
            manifest_sha256: statement.manifest_sha256.clone(),
            location,
        };
        run.bundle = Some(bundle.clone());
        let new_head = ChainHead {
            sequence,
            manifest_sha256: statement.manifest_sha256,
        };
        let mut closed = closing;
        closed.detail = json!({"sequence": sequence, "manifest_sha256": new_head.manifest_sha256, "location": bundle.location});
        let tenant = run.tenant.clone();
        write.commit.chain = Some((tenant.clone(), head, new_head.clone()));
        write.commit.runs.push(run.clone());
        write.commit.events.push(closed);
        if self.write(write).await?.is_none() {
            return Ok(None);
        }
        self.arm_watch(&run).await?;
        self.publish_checkpoint_after(&tenant, &new_head, signer.as_ref())
            .await;
        Ok(Some(bundle))
    }

    /// The run's bundle, signed: every evidence file, the statement, its signature and the
    /// public key to check it with.
    #[allow(clippy::too_many_arguments)]
    async fn signed_bundle(
        &self,
        run: &Run,
        steps: &[Step],
        attempts: &[crate::domain::AttemptRecord],
        events: &[RunEvent],
        head: &ChainHead,
        now: Timestamp,
        signer: &dyn Signer,
    ) -> Result<(BundleFiles, Statement), EngineError> {
        let key_id = signer.key_id();
        let pem = signer.public_key_pem();
        let (files, statement) = build_bundle(&BundleInput {
            run,
            steps,
            attempts,
            events,
            sequence: head.sequence + 1,
            prev_manifest_sha256: &head.manifest_sha256,
            key_id: &key_id,
            public_key_pem: &pem,
            created_at: now,
        })
        .map_err(EngineError::Bundle)?;
        let files = self.sealed(files, &statement, signer).await?;
        Ok((files, statement))
    }
}

impl Engine {
    /// The in-process lock of a tenant's evidence chain.
    pub(super) fn chain_lock(
        &self,
        tenant: &crate::ids::TenantId,
    ) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.finalizing.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(tenant.clone()).or_default().clone()
    }
}
