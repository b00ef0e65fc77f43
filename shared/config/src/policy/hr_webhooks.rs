//! `[[tenants.hr_webhooks]]`: an HR vendor's own webhooks, each checked against what that
//! vendor's verification scheme needs.

use crate::file::HrWebhookConfig;
use crate::secrets::resolve_secret;
use anyhow::{Result, bail};
use passage_core::HrWebhook;
use passage_core::secret::Secret;
use passage_hris::Vendor;

pub(super) fn hr_webhook(h: &HrWebhookConfig) -> Result<HrWebhook> {
    let vendor: Vendor = h
        .vendor
        .parse()
        .map_err(|e: passage_hris::UnknownVendor| anyhow::anyhow!("hr_webhooks: {e}"))?;
    if h.unsigned {
        return unsigned(h, vendor);
    }
    let secrets: Vec<Secret> = h
        .secrets
        .iter()
        .map(|s| resolve_secret(s))
        .collect::<Result<_>>()?;
    // Gusto may start without a token: Passage completes its subscription handshake and keeps
    // the token Gusto confirms (hr_api needs webhook_subscription_uuid and system_token).
    if !(vendor == Vendor::Gusto && secrets.is_empty()) {
        let exposed: Vec<&str> = secrets.iter().map(Secret::expose).collect();
        vendor
            .verifier(&exposed)
            .map_err(|e| anyhow::anyhow!("hr_webhooks {}: {e}", h.vendor))?;
    }
    Ok(HrWebhook {
        vendor: vendor.as_str().to_owned(),
        secrets,
        unsigned: false,
    })
}

/// Rippling without a token: deliveries are unauthenticated hints, so nothing else may claim
/// to be unsigned and no secret may sit beside the switch.
fn unsigned(h: &HrWebhookConfig, vendor: Vendor) -> Result<HrWebhook> {
    if vendor != Vendor::Rippling {
        bail!(
            "hr_webhooks {}: unsigned is only for rippling; {} signs its webhooks, so configure its secret",
            h.vendor,
            h.vendor
        );
    }
    if !h.secrets.is_empty() {
        bail!(
            "hr_webhooks {}: unsigned and secrets exclude each other (with a token configured in Rippling, drop unsigned)",
            h.vendor
        );
    }
    Ok(HrWebhook {
        vendor: vendor.as_str().to_owned(),
        secrets: Vec::new(),
        unsigned: true,
    })
}
