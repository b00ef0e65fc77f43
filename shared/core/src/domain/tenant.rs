use crate::ids::TenantId;
use crate::secret::Secret;
use jiff::civil::Time;
use serde::{Deserialize, Serialize};

/// How a tenant wants leavers handled. Loaded by the host from its configuration; the engine
/// only reads it. Secrets here never serialize.
#[derive(Clone, Debug)]
pub struct TenantPolicy {
    pub id: TenantId,
    pub name: String,
    /// Local time on the last working day at which access is cut ("the last working minute").
    pub end_of_day: Time,
    /// Zone used when an event names none.
    pub default_time_zone: String,
    /// Standard Webhooks secrets (`whsec_…`); several at once during rotation.
    pub webhook_secrets: Vec<Secret>,
    pub okta: Option<OktaPolicy>,
    /// Attempts at one step before it is marked failed and the run blocked.
    pub max_attempts: u32,
}

/// What to do in Okta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktaPolicy {
    pub disable: DisableMode,
    /// Revoking consent grants is non-critical for tenants that rely on token revocation alone.
    #[serde(default = "yes")]
    pub grants_critical: bool,
}

fn yes() -> bool {
    true
}

/// Suspend keeps the account restorable; deactivate deprovisions every app and is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisableMode {
    Suspend,
    Deactivate,
}

impl TenantPolicy {
    /// A policy with sensible defaults, for tests and the demo.
    pub fn new(id: impl Into<String>) -> Self {
        let id = TenantId::new(id);
        Self {
            name: id.to_string(),
            id,
            end_of_day: Time::constant(17, 0, 0, 0),
            default_time_zone: "UTC".into(),
            webhook_secrets: Vec::new(),
            okta: Some(OktaPolicy {
                disable: DisableMode::Suspend,
                grants_critical: true,
            }),
            max_attempts: 6,
        }
    }
}
