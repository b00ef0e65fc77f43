//! Fair sharing of the workers across tenants, and one finalizer per tenant.
//!
//! Every tenant's steps share one queue and one pool of step functions. A worker takes one of
//! its tenant's [`FairShare::step_slots`] before it works a step, across every instance; a
//! tenant at its share has its further steps sent again for a little later. A layoff of
//! thousands of leavers in one tenant therefore holds at most that many of the workers, and
//! every other tenant's steps find the rest free (docs/aws-deployment.md states the bound).
//!
//! The finalizer takes its tenant's single finalize slot before it closes a run: a tenant's
//! evidence chain is extended by one finalizer at a time across instances, so no KMS signature
//! is made for a chain position another finalizer takes meanwhile.

use crate::AwsHost;
use passage_aws::{DynamoStore, Slot, TenantSlots};
use passage_core::ports::{Delivery, QueueMessage};
use std::sync::Arc;
use std::time::Duration;

/// How the workers are shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FairShare {
    /// Steps of one tenant worked at once, across every instance (`TENANT_STEP_SLOTS`).
    pub step_slots: u32,
    /// How long a step turned away waits before it is offered again (plus jitter).
    pub step_wait: Duration,
    /// Likewise for a finalization while another of its tenant's runs is being closed.
    pub finalize_wait: Duration,
}

impl Default for FairShare {
    fn default() -> Self {
        Self {
            step_slots: 10,
            step_wait: Duration::from_secs(15),
            finalize_wait: Duration::from_secs(3),
        }
    }
}

/// Whether a delivery may be worked now.
pub enum Admission {
    /// Work it, holding this slot (none for deliveries that need none).
    Go(Option<Slot>),
    /// Offer it again after this long.
    Wait(Duration),
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

    /// Takes the delivery's tenant slot, or says how long to wait for one.
    pub async fn admit(&self, host: &AwsHost, delivery: &Delivery, lease: Duration) -> Admission {
        let Some(message) = &delivery.message else {
            // Undecodable: the engine dead-letters it at once.
            return Admission::Go(None);
        };
        let (kind, capacity, wait) = match message {
            QueueMessage::Step { .. } => ("step", self.share.step_slots, self.share.step_wait),
            QueueMessage::Finalize { .. } => ("finalize", 1, self.share.finalize_wait),
        };
        let tenant = match self.store.run_tenant(message.run_id()).await {
            Ok(Some(tenant)) => tenant,
            // No such run: the engine acknowledges the message.
            Ok(None) => return Admission::Go(None),
            Err(e) => {
                tracing::warn!(error = %e, "tenant of the run unknown; trying later");
                return Admission::Wait(jitter(wait));
            }
        };
        let owner = format!(
            "{}/{}",
            host.engine.settings().worker_id,
            uuid::Uuid::new_v4().simple()
        );
        let scope = format!("{kind}#{tenant}");
        match self.slots.acquire(&scope, capacity, &owner, lease).await {
            Ok(Some(slot)) => Admission::Go(Some(slot)),
            Ok(None) => Admission::Wait(jitter(wait)),
            Err(e) => {
                tracing::warn!(%scope, error = %e, "slot not taken; trying later");
                Admission::Wait(jitter(wait))
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
