//! Intake of HR vendors' own webhooks (BambooHR, HiBob, Gusto, Merge, Finch, Personio,
//! Rippling). Each is authenticated with the vendor's scheme, read as a hint, and — since most
//! carry no facts — followed by a fetch of the employee's record from the tenant's HR system;
//! the record, not the delivery, decides what happens.

use super::Engine;
use super::hr::{HrOrigin, HrOutcome};
use super::intake::IntakeError;
use crate::ports::HrError;
use crate::secret::Secret;
use passage_hris::{HeaderLookup, HintKind, Vendor, VerifiedDelivery};
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

/// Gusto's subscription handshake: an unsigned `{"verification_token": "..."}`.
fn gusto_handshake(body: &[u8]) -> Option<Secret> {
    #[derive(serde::Deserialize)]
    struct Handshake {
        verification_token: String,
    }
    let h: Handshake = serde_json::from_slice(body).ok()?;
    let token = h.verification_token.trim();
    (!token.is_empty() && token.len() <= 256).then(|| Secret::new(token))
}

impl Engine {
    /// Completes Gusto's webhook-subscription handshake. The token arrived unauthenticated, so
    /// it is kept only once Gusto itself confirms it (the subscription's verify call, made with
    /// the tenant's Gusto credentials); from then on it authenticates Gusto's deliveries.
    async fn complete_gusto_handshake(
        &self,
        policy: &crate::domain::TenantPolicy,
        token: Secret,
    ) -> Result<HrAccepted, IntakeError> {
        let source = self
            .ports
            .hr
            .source(policy)
            .filter(|s| s.vendor() == Vendor::Gusto.as_str())
            .ok_or_else(|| IntakeError::NoHrSource(policy.id.to_string()))?;
        match source.confirm_webhook_token(&token).await {
            Ok(true) => {}
            Ok(false) => return Err(IntakeError::HandshakeRefused("gusto".into())),
            Err(HrError::Unavailable(why)) => return Err(IntakeError::HrUnavailable(why)),
            Err(e) => return Err(IntakeError::HrRefused(e.to_string())),
        }
        self.ports
            .store
            .learn_secret(&policy.id, Vendor::Gusto.as_str(), &token)
            .await
            .map_err(|e| IntakeError::Unavailable(e.into()))?;
        tracing::info!(tenant = %policy.id, "gusto webhook subscription verified; its token now authenticates deliveries");
        Ok(HrAccepted {
            vendor: Vendor::Gusto.as_str().to_owned(),
            delivery_id: "subscription-handshake".into(),
            event_type: "subscription.verification_token".into(),
            outcome: HrOutcome::Unchanged {
                run_id: None,
                why: "Gusto confirmed the verification token; the webhook subscription is verified and the token now authenticates its deliveries".into(),
            },
        })
    }

    /// Authenticates and applies one delivery of `vendor`'s webhook for `tenant`.
    pub async fn receive_hr_webhook(
        &self,
        tenant: &str,
        vendor: &str,
        headers: &(dyn HeaderLookup + Sync),
        body: &[u8],
    ) -> Result<HrAccepted, IntakeError> {
        let policy = self.intake_tenant(tenant, body)?;
        let vendor: Vendor = vendor
            .parse()
            .map_err(|e: passage_hris::UnknownVendor| IntakeError::UnknownVendor(e.to_string()))?;
        let Some(hook) = policy
            .hr_webhooks
            .iter()
            .find(|h| h.vendor == vendor.as_str())
        else {
            return Err(IntakeError::VendorNotConfigured {
                tenant: tenant.to_owned(),
                vendor: vendor.as_str().to_owned(),
            });
        };
        let now = self.now();
        if vendor == Vendor::Gusto
            && headers
                .header(passage_hris::verify::gusto::HEADER_SIGNATURE)
                .is_none()
            && let Some(token) = gusto_handshake(body)
        {
            return self.complete_gusto_handshake(&policy, token).await;
        }
        let delivery = if hook.unsigned {
            VerifiedDelivery::unauthenticated(vendor.as_str(), body, now.as_second())
        } else {
            let mut secrets = hook.secrets.clone();
            if vendor == Vendor::Gusto
                && let Some(learned) = self
                    .ports
                    .store
                    .learned_secret(&policy.id, vendor.as_str())
                    .await
                    .map_err(|e| IntakeError::Unavailable(e.into()))?
            {
                secrets.push(learned);
            }
            if secrets.is_empty() {
                return Err(IntakeError::BadSecret(
                    tenant.to_owned(),
                    format!(
                        "no {} secret yet (for Gusto: the subscription handshake has not been completed)",
                        vendor.as_str()
                    ),
                ));
            }
            let secrets: Vec<&str> = secrets.iter().map(Secret::expose).collect();
            let verifier = vendor
                .verifier(&secrets)
                .map_err(|e| IntakeError::BadSecret(tenant.to_owned(), e.to_string()))?;
            verifier.verify(headers, body, now.as_second())?
        };
        let hint = vendor
            .parse_hint(body)
            .map_err(|e| IntakeError::Hint(e.to_string()))?;
        let answer = |outcome| HrAccepted {
            vendor: vendor.as_str().to_owned(),
            delivery_id: delivery.delivery_id.clone(),
            event_type: hint.event_type.clone(),
            outcome,
        };
        if hint.kind == HintKind::Ignored {
            return Ok(answer(HrOutcome::Unchanged {
                run_id: None,
                why: format!("{} events do not concern leavers", hint.event_type),
            }));
        }
        let source = self
            .ports
            .hr
            .source(&policy)
            .ok_or_else(|| IntakeError::NoHrSource(tenant.to_owned()))?;
        let Some(employee_id) = hint.employee_id.clone() else {
            // A batch naming several employees (BambooHR does this): compare everything.
            let report = self
                .reconcile(&policy.id, None)
                .await
                .map_err(|e| match e {
                    super::EngineError::Unavailable(why) => IntakeError::HrUnavailable(why),
                    other => IntakeError::Unavailable(other),
                })?;
            return Ok(answer(HrOutcome::Unchanged {
                run_id: None,
                why: format!(
                    "the {} event names several employees; reconciled {} records ({} runs created, {} rescheduled, {} cancelled)",
                    hint.event_type,
                    report.checked,
                    report.created.len(),
                    report.rescheduled.len(),
                    report.cancelled.len()
                ),
            }));
        };
        let record = match source.employee(&employee_id).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                return Err(IntakeError::Hint(format!(
                    "employee {employee_id} named by the {} event does not exist in {}",
                    hint.event_type,
                    source.vendor()
                )));
            }
            Err(HrError::Unavailable(why)) => return Err(IntakeError::HrUnavailable(why)),
            Err(e) => return Err(IntakeError::HrRefused(e.to_string())),
        };
        let origin = HrOrigin::Webhook {
            vendor: vendor.as_str().to_owned(),
            delivery_id: delivery.delivery_id.clone(),
            verified_by: delivery.method.clone(),
            received_at: now,
            body_sha256: hex::encode(Sha256::digest(body)),
            hint: serde_json::to_value(&hint).unwrap_or_default(),
        };
        let key = format!("{}:{}", vendor.as_str(), delivery.delivery_id);
        let outcome = self
            .apply_hr_record(&policy, &record, origin, &key)
            .await
            .map_err(|e| match e {
                super::EngineError::NotAllowed(why) => IntakeError::Hint(why),
                other => IntakeError::Unavailable(other),
            })?;
        Ok(answer(outcome))
    }
}
