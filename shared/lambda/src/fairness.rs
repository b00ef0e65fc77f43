//! Fair sharing of the workers across tenants, and one finalizer per tenant.
//!
//! Every tenant's steps share one queue and one pool of step functions. An invocation takes one
//! of its tenant's [`FairShare::step_slots`] before it works that tenant's steps of its batch,
//! across every instance; a tenant at its share has its further steps sent again for a little
//! later. A layoff of thousands of leavers in one tenant therefore holds at most that many of
//! the step invocations, and every other tenant's steps find the rest free
//! (docs/aws-deployment.md states the bound).
//!
//! The finalizer takes its tenant's single finalize slot before it closes a run: a tenant's
//! evidence chain is extended by one finalizer at a time across instances, so no KMS signature
//! is made for a chain position another finalizer takes meanwhile.

use crate::AwsHost;
use passage_aws::{DynamoStore, Slot, TenantSlots};
use passage_core::TenantId;
use passage_core::ports::{Delivery, QueueMessage, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// How the workers are shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FairShare {
    /// Step invocations one tenant may hold at once, across every instance
    /// (`TENANT_STEP_SLOTS`); each works all of that tenant's steps in its batch.
    pub step_slots: u32,
    /// How long a step turned away waits before it is offered again (plus jitter).
    pub step_wait: Duration,
    /// Likewise for a finalization while another of its tenant's runs is being closed.
    pub finalize_wait: Duration,
}

impl Default for FairShare {
    fn default() -> Self {
        Self {
            step_slots: 4,
            step_wait: Duration::from_secs(15),
            finalize_wait: Duration::from_secs(3),
        }
    }
}

/// Whether a tenant's deliveries may be worked now.
pub enum Admission {
    /// Work them, holding this slot (none for deliveries that need none).
    Go(Option<Slot>),
    /// Offer them again after this long.
    Wait(Duration),
}

/// What a delivery needs a slot of: its kind of work and its run's tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    kind: &'static str,
    tenant: TenantId,
}

/// The slots and the share, as one function instance uses them.
pub struct Fairness {
    slots: TenantSlots,
    store: Arc<DynamoStore>,
    pub share: FairShare,
}

impl Fairness {
    pub fn new(store: Arc<DynamoStore>, share: FairShare) -> Self {
        Self {
            slots: TenantSlots::new((*store).clone()),
            store,
            share,
        }
    }

    /// The slot scope the delivery needs; `Ok(None)` for one that needs none (undecodable, or
    /// its run is gone: the engine settles those at once).
    pub async fn scope_of(&self, delivery: &Delivery) -> Result<Option<Scope>, StoreError> {
        let Some(message) = &delivery.message else {
            return Ok(None);
        };
        let kind = match message {
            QueueMessage::Step { .. } => "step",
            QueueMessage::Finalize { .. } => "finalize",
        };
        Ok(self
            .store
            .run_tenant(message.run_id())
            .await?
            .map(|tenant| Scope { kind, tenant }))
    }

    /// How long a delivery of `scope` waits when it cannot be worked now.
    pub fn wait_of(&self, scope: &Scope) -> Duration {
        jitter(match scope.kind {
            "finalize" => self.share.finalize_wait,
            _ => self.share.step_wait,
        })
    }

    /// Takes one of the scope's slots for this invocation's deliveries of it, or says how long
    /// to wait. A step slot covers every step of the tenant in one batch: a tenant holds at
    /// most `step_slots` invocations, so the others always find the rest free.
    pub async fn admit(&self, host: &AwsHost, scope: &Scope, lease: Duration) -> Admission {
        let capacity = match scope.kind {
            "finalize" => 1,
            _ => self.share.step_slots,
        };
        let owner = format!(
            "{}/{}",
            host.engine.settings().worker_id,
            uuid::Uuid::new_v4().simple()
        );
        let name = format!("{}#{}", scope.kind, scope.tenant);
        match self.slots.acquire(&name, capacity, &owner, lease).await {
            Ok(Some(slot)) => Admission::Go(Some(slot)),
            Ok(None) => Admission::Wait(self.wait_of(scope)),
            Err(e) => {
                tracing::warn!(scope = %name, error = %e, "slot not taken; trying later");
                Admission::Wait(self.wait_of(scope))
            }
        }
    }

    pub async fn release(&self, slot: &Slot) {
        self.slots.release(slot).await;
    }
}

/// `wait` plus up to half again, so deferred messages do not all return at once.
fn jitter(wait: Duration) -> Duration {
    use rand::Rng;
    let extra = rand::thread_rng().gen_range(0..=wait.as_millis() as u64 / 2);
    wait + Duration::from_millis(extra)
}
