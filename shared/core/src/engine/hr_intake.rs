//! Intake of HR vendors' own webhooks (BambooHR, HiBob, Gusto, Merge, Finch, Personio,
//! Rippling). Each is authenticated with the vendor's scheme, read as a hint, and — since most
//! carry no facts — followed by a fetch of the employee's record from the tenant's HR system;
//! the record, not the delivery, decides what happens.
//!
//! A vendor that hands its signing secret over by posting it (a subscription handshake, which
//! the vendor's module in `passage-hris` recognises) gets that secret kept only once the vendor
//! itself confirms it, whichever vendor it is.

use super::hr::{HrOrigin, HrOutcome};
use super::intake::IntakeError;
use super::{Engine, EngineError};
use crate::domain::{HrWebhook, TenantPolicy};
use crate::ports::{HrRecord, HrSource};
use crate::secret::Secret;
use jiff::Timestamp;
use passage_hris::{HandshakeToken, HeaderLookup, Hint, HintKind, Vendor, VerifiedDelivery};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The answer to an accepted vendor delivery.
#[derive(Clone, Debug, Serialize)]
pub struct HrAccepted {
    pub vendor: String,
    pub delivery_id: String,
    pub event_type: String,
    #[serde(flatten)]
    pub outcome: HrOutcome,
}

/// What a handshake is answered with as its delivery id: it carries no id of its own.
const HANDSHAKE_DELIVERY_ID: &str = "subscription-handshake";

impl Engine {
    /// Authenticates and applies one delivery of `vendor`'s webhook for `tenant`.
    pub async fn receive_hr_webhook(
        &self,
        tenant: &str,
        vendor: &str,
        headers: &(dyn HeaderLookup + Sync),
        body: &[u8],
    ) -> Result<HrAccepted, IntakeError> {
        let policy = self.intake_tenant(tenant, body).await?;
        let (vendor, hook) = hr_webhook(&policy, vendor)?;
        if let Some(token) = vendor.handshake().and_then(|h| h.recognise(headers, body)) {
            return self.complete_handshake(&policy, vendor, token).await;
        }
        let now = self.now();
        let delivery = self
            .authenticate_hr_delivery(&policy, vendor, hook, headers, body, now)
            .await?;
        let hint = vendor
            .parse_hint(body)
            .map_err(|e| IntakeError::Hint(e.to_string()))?;
        let origin = HrOrigin::Webhook {
            vendor: vendor.as_str().to_owned(),
            delivery_id: delivery.delivery_id.clone(),
            verified_by: delivery.method.clone(),
            received_at: now,
            body_sha256: hex::encode(Sha256::digest(body)),
            hint: serde_json::to_value(&hint).unwrap_or_default(),
        };
        let key = format!("{}:{}", vendor.as_str(), delivery.delivery_id);
        let outcome = self.follow_hint(&policy, &hint, origin, &key).await?;
        Ok(HrAccepted {
            vendor: vendor.as_str().to_owned(),
            delivery_id: delivery.delivery_id,
            event_type: hint.event_type,
            outcome,
        })
    }

    /// Completes a vendor's subscription handshake. The token arrived unauthenticated, so it is
    /// kept only once the vendor confirms it (through the tenant's HR source, with the tenant's
    /// own credentials); from then on it authenticates the vendor's deliveries.
    async fn complete_handshake(
        &self,
        policy: &TenantPolicy,
        vendor: Vendor,
        token: HandshakeToken,
    ) -> Result<HrAccepted, IntakeError> {
        let source = self
            .ports
            .hr
            .source(policy)
            .filter(|s| s.vendor() == vendor.as_str())
            .ok_or_else(|| IntakeError::NoHrSource(policy.id.to_string()))?;
        let secret = Secret::new(token.expose());
        if !source.confirm_webhook_token(&secret).await? {
            return Err(IntakeError::HandshakeRefused(vendor.as_str().to_owned()));
        }
        self.ports
            .store
            .learn_secret(&policy.id, vendor.as_str(), &secret)
            .await
            .map_err(EngineError::from)?;
        tracing::info!(tenant = %policy.id, %vendor, "webhook subscription verified; its token now authenticates deliveries");
        Ok(HrAccepted {
            vendor: vendor.as_str().to_owned(),
            delivery_id: HANDSHAKE_DELIVERY_ID.into(),
            event_type: token.event_type().into(),
            outcome: HrOutcome::Unchanged {
                run_id: None,
                why: format!(
                    "{vendor} confirmed the verification token; the webhook subscription is verified and the token now authenticates its deliveries"
                ),
            },
        })
    }

    /// The delivery as authenticated by the vendor's scheme, with the configured secrets and
    /// any learned in a handshake; or, for a tenant that takes the vendor's deliveries unsigned,
    /// as an unauthenticated hint.
    async fn authenticate_hr_delivery(
        &self,
        policy: &TenantPolicy,
        vendor: Vendor,
        hook: &HrWebhook,
        headers: &(dyn HeaderLookup + Sync),
        body: &[u8],
        now: Timestamp,
    ) -> Result<VerifiedDelivery, IntakeError> {
        if hook.unsigned {
            return Ok(VerifiedDelivery::unauthenticated(
                vendor.as_str(),
                body,
                now.as_second(),
            ));
        }
        let mut secrets = hook.secrets.clone();
        if vendor.handshake().is_some()
            && let Some(learned) = self
                .ports
                .store
                .learned_secret(&policy.id, vendor.as_str())
                .await
                .map_err(EngineError::from)?
        {
            secrets.push(learned);
        }
        let bad_secret = |why: String| IntakeError::BadSecret(policy.id.to_string(), why);
        if secrets.is_empty() {
            let pending = if vendor.handshake().is_some() {
                " (the vendor's subscription handshake has not been completed)"
            } else {
                ""
            };
            return Err(bad_secret(format!("no {vendor} secret yet{pending}")));
        }
        let secrets: Vec<&str> = secrets.iter().map(Secret::expose).collect();
        let verifier = vendor
            .verifier(&secrets)
            .map_err(|e| bad_secret(e.to_string()))?;
        Ok(verifier.verify(headers, body, now.as_second())?)
    }

    /// Acts on a hint: ignores what does not concern leavers, reconciles a batch that names no
    /// single employee, and otherwise lets the employee's record in the HR system decide.
    async fn follow_hint(
        &self,
        policy: &TenantPolicy,
        hint: &Hint,
        origin: HrOrigin,
        idempotency_key: &str,
    ) -> Result<HrOutcome, IntakeError> {
        if hint.kind == HintKind::Ignored {
            return Ok(HrOutcome::Unchanged {
                run_id: None,
                why: format!("{} events do not concern leavers", hint.event_type),
            });
        }
        let source = self
            .ports
            .hr
            .source(policy)
            .ok_or_else(|| IntakeError::NoHrSource(policy.id.to_string()))?;
        let Some(employee_id) = &hint.employee_id else {
            return self.reconcile_batch(policy, hint).await;
        };
        let record = fetch_record(&*source, employee_id, hint).await?;
        self.apply_hr_record(policy, &record, origin, idempotency_key)
            .await
            .map_err(|e| match e {
                EngineError::NotAllowed(why) => IntakeError::Hint(why),
                other => IntakeError::from(other),
            })
    }

    /// A batch naming several employees (BambooHR sends these): compare everything.
    async fn reconcile_batch(
        &self,
        policy: &TenantPolicy,
        hint: &Hint,
    ) -> Result<HrOutcome, IntakeError> {
        let report = self
            .reconcile(&policy.id, None)
            .await
            .map_err(|e| match e {
                EngineError::Unavailable(why) => IntakeError::HrUnavailable(why),
                other => IntakeError::from(other),
            })?;
        Ok(HrOutcome::Unchanged {
            run_id: None,
            why: format!(
                "the {} event names several employees; reconciled {} records ({} runs created, {} rescheduled, {} cancelled)",
                hint.event_type,
                report.checked,
                report.created.len(),
                report.rescheduled.len(),
                report.cancelled.len()
            ),
        })
    }
}

/// The vendor named in the path and the tenant's webhook settings for it.
fn hr_webhook<'p>(
    policy: &'p TenantPolicy,
    vendor: &str,
) -> Result<(Vendor, &'p HrWebhook), IntakeError> {
    let vendor: Vendor = vendor
        .parse()
        .map_err(|e: passage_hris::UnknownVendor| IntakeError::UnknownVendor(e.to_string()))?;
    let hook = policy
        .hr_webhooks
        .iter()
        .find(|h| h.vendor == vendor.as_str())
        .ok_or_else(|| IntakeError::VendorNotConfigured {
            tenant: policy.id.to_string(),
            vendor: vendor.as_str().to_owned(),
        })?;
    Ok((vendor, hook))
}

/// The employee the hint names, as the HR system has them now.
async fn fetch_record(
    source: &dyn HrSource,
    employee_id: &str,
    hint: &Hint,
) -> Result<HrRecord, IntakeError> {
    source.employee(employee_id).await?.ok_or_else(|| {
        IntakeError::Hint(format!(
            "employee {employee_id} named by the {} event does not exist in {}",
            hint.event_type,
            source.vendor()
        ))
    })
}
