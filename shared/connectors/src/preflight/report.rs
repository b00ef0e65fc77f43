//! What `passage check` found, in the form both the command's table and `--json` show.

use passage_core::{CallRecord, Provider};
use serde::Serialize;

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Proven without changing anything.
    Ok,
    /// Proven absent: the steps it names would fail.
    Missing,
    /// A read or a token request failed: the steps it names would fail too.
    Failed,
    /// Only a change could prove it; Passage did not try.
    Unproven,
    /// Held in part, or needed only for some leavers (administrators).
    Warning,
}

impl Status {
    /// How the status is shown in a table: what needs attention in capitals.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "MISSING",
            Status::Failed => "FAILED",
            Status::Unproven => "UNPROVEN",
            Status::Warning => "warning",
        }
    }

    /// Whether the steps the finding names would fail at a real leaver's cutoff.
    pub fn blocks(self) -> bool {
        matches!(self, Status::Missing | Status::Failed)
    }
}

/// A step of the tenant's plan a finding concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blocked {
    /// `microsoft.remove_groups`.
    pub step: String,
    /// Whether the run cannot close without it.
    pub critical: bool,
}

/// One check.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub status: Status,
    /// What was checked: `credential`, `Graph application permission User.Read.All`,
    /// `read: one user`.
    pub check: String,
    /// The grant it is about, as the provider spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// The provider's id for the grant (a Graph appRole GUID, a role template id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub detail: String,
    /// The steps that would fail (missing, failed) or that rest on the grant (unproven,
    /// warning).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Blocked>,
}

impl Finding {
    /// Whether the finding means a critical step would fail.
    pub fn blocks_critical(&self) -> bool {
        self.status.blocks() && self.steps.iter().any(|s| s.critical)
    }
}

/// One provider of one tenant.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderReport {
    pub provider: Provider,
    pub findings: Vec<Finding>,
    /// Every call the check made, with its method and status: the record that it only read.
    pub calls: Vec<CallRecord>,
}

/// Every configured provider of one tenant.
#[derive(Clone, Debug, Serialize)]
pub struct TenantReport {
    pub tenant: String,
    /// What the check assumed about the plan (a leaver with a manager, so hand-over steps are
    /// in it), or why there is no plan.
    pub plan: String,
    pub providers: Vec<ProviderReport>,
}

impl TenantReport {
    /// Whether any finding means a critical step would fail.
    pub fn blocks_critical(&self) -> bool {
        self.findings().any(Finding::blocks_critical)
    }

    /// The critical steps some finding says would fail, each once.
    pub fn blocked_critical_steps(&self) -> Vec<String> {
        let mut steps: Vec<String> = self
            .findings()
            .filter(|f| f.status.blocks())
            .flat_map(|f| f.steps.iter().filter(|s| s.critical))
            .map(|s| s.step.clone())
            .collect();
        steps.sort();
        steps.dedup();
        steps
    }

    fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.providers.iter().flat_map(|p| p.findings.iter())
    }
}
