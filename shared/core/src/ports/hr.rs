//! The HR system as a source of truth: after a webhook hint, and on every reconcile, the engine
//! asks the HR system itself what is true of an employee, rather than trusting a delivery.

use crate::domain::{Manager, TenantPolicy};
use async_trait::async_trait;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where an employee stands in the HR system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    /// Employed, no termination on record (or a termination was rescinded).
    Active,
    /// A termination is on record (effective in the future or already past).
    Terminated,
}

/// The authoritative facts about one employee, as fetched from the HR system's API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HrRecord {
    /// The HR system's employee id (the same id its webhooks carry).
    pub employee_id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub status: EmploymentStatus,
    /// The termination (employment end) date, if one is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_date: Option<Date>,
    /// The last day actually worked, when the HR system records it separately. Preferred over
    /// `termination_date` for the cutoff: access ends after the last day of work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_day_worked: Option<Date>,
    /// The work location's name as the HR system spells it (matched against tenant policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_location: Option<String>,
    /// IANA zone of the work location, when the HR system has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
    /// True for involuntary terminations, when the HR system says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub involuntary: Option<bool>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HrError {
    /// The HR API could not be reached or answered 5xx/429: try again later.
    #[error("HR system unavailable: {0}")]
    Unavailable(String),
    /// Credentials refused or missing permission: needs an administrator.
    #[error("HR system refused the request: {0}")]
    Denied(String),
    /// The HR system answered something Passage cannot read.
    #[error("HR system answered unexpectedly: {0}")]
    Malformed(String),
}

/// Read access to one tenant's HR system.
#[async_trait]
pub trait HrSource: Send + Sync {
    /// Vendor name as recorded in evidence (`bamboohr`, `hibob`, `personio`, `merge`).
    fn vendor(&self) -> &'static str;
    /// The employee's current record; `None` when the HR system has no such employee.
    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError>;
    /// Every employee with a termination dated on or after `since`, for reconciliation.
    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError>;
    /// Completes a webhook-subscription handshake (Gusto's): asks the HR system to verify the
    /// configured subscription with `token`, which arrived at Passage's webhook address.
    /// `Ok(true)` when the vendor accepted it, `Ok(false)` when the token is not the one it
    /// issued. Vendors without such a handshake refuse.
    async fn confirm_webhook_token(&self, token: &crate::secret::Secret) -> Result<bool, HrError> {
        let _ = token;
        Err(HrError::Denied(format!(
            "{} has no webhook subscription handshake",
            self.vendor()
        )))
    }
}

/// Finds a tenant's HR source (each tenant has its own HR system and credentials).
pub trait HrSourceRegistry: Send + Sync {
    fn source(&self, tenant: &TenantPolicy) -> Option<Arc<dyn HrSource>>;
}

/// A registry with no HR systems: tenants whose leavers arrive as full Passage events only.
pub struct NoHrSources;

impl HrSourceRegistry for NoHrSources {
    fn source(&self, _tenant: &TenantPolicy) -> Option<Arc<dyn HrSource>> {
        None
    }
}
