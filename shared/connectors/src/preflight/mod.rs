//! `passage check`: a read-only preflight of each provider a tenant uses, before the first
//! leaver's cutoff finds a missing permission for it.
//!
//! Every provider module proves what it can with token requests and GETs (and Exchange's
//! `Get-Mailbox`, a read sent as a POST) and says, per grant of the permission table, whether
//! it is held, missing or unproven, plus how each harmless read went. This module turns that
//! into findings against the plan the tenant's policy builds: which steps a missing grant would
//! block, and whether any of them is critical. What only a change could prove is reported as
//! unproven, never as passed.

mod google;
mod jumpcloud;
mod microsoft;
mod okta;
pub mod report;

pub use report::{Blocked, Finding, ProviderReport, Status, TenantReport};

use crate::ConnectionSettings;
use crate::permissions::{self, Permission};
use passage_core::ports::ActionFailure;
use passage_core::{CallRecord, Provider, RunId, Step, TenantPolicy};

/// The stand-in delegate the plan is built with, so hand-over steps (which need one) are
/// checked too: most leavers have a manager.
const ASSUMED_DELEGATE: &str = "manager@preflight.invalid";

/// Checks every provider `policy` uses that `settings` connects, one after another.
pub async fn check_tenant(
    policy: &TenantPolicy,
    settings: &ConnectionSettings,
    http: &reqwest::Client,
) -> TenantReport {
    let delegate = policy
        .fallback_delegate
        .as_deref()
        .or(Some(ASSUMED_DELEGATE));
    let plan = match passage_core::plan::build(&RunId::new("preflight"), policy, delegate) {
        Ok(plan) => plan,
        Err(e) => {
            return TenantReport {
                tenant: policy.id.to_string(),
                plan: format!("no plan: {e}"),
                providers: Vec::new(),
            };
        }
    };
    let mut providers = Vec::new();
    if let (Some(s), Some(_)) = (&settings.okta, &policy.okta) {
        let evidence = okta::check(s, &plan, http).await;
        providers.push(assemble(Provider::Okta, &plan, evidence));
    }
    if let (Some(s), Some(p)) = (&settings.microsoft, &policy.microsoft) {
        let mut s = s.clone();
        s.policy = p.clone();
        let evidence = microsoft::check(s, &plan, http).await;
        providers.push(assemble(Provider::Microsoft, &plan, evidence));
    }
    if let (Some(s), Some(p)) = (&settings.google, &policy.google) {
        let mut s = s.clone();
        s.policy = p.clone();
        let evidence = google::check(s, &plan, http).await;
        providers.push(assemble(Provider::Google, &plan, evidence));
    }
    if let (Some(s), Some(p)) = (&settings.jumpcloud, &policy.jumpcloud) {
        let mut s = s.clone();
        s.policy = p.clone();
        let evidence = jumpcloud::check(s, &plan, http).await;
        providers.push(assemble(Provider::Jumpcloud, &plan, evidence));
    }
    TenantReport {
        tenant: policy.id.to_string(),
        plan: "a leaver with a manager (hand-over steps included)".into(),
        providers,
    }
}

/// What a provider module established about one grant.
#[derive(Clone, Debug)]
pub(crate) enum Verdict {
    Held(String),
    Missing(String),
    /// Only a change would prove it; the reason says what was seen instead.
    Unproven(String),
    /// Held for some leavers, not all.
    Partial(String),
}

/// One harmless read and how it went; a failed read blames the grants it exercised.
pub(crate) struct Probe {
    pub what: String,
    pub outcome: Result<String, String>,
    pub blames: Vec<&'static str>,
}

impl Probe {
    pub fn new(what: impl Into<String>, blames: &[&'static str]) -> Self {
        Self {
            what: what.into(),
            outcome: Ok(String::new()),
            blames: blames.to_vec(),
        }
    }

    pub fn ok(mut self, detail: impl Into<String>) -> Self {
        self.outcome = Ok(detail.into());
        self
    }

    pub fn failed(mut self, detail: impl Into<String>) -> Self {
        self.outcome = Err(detail.into());
        self
    }

    /// The read's outcome from a call's result.
    pub fn from<T>(self, result: &Result<T, ActionFailure>, ok: impl FnOnce(&T) -> String) -> Self {
        match result {
            Ok(value) => {
                let detail = ok(value);
                self.ok(detail)
            }
            Err(f) => self.failed(format!("{} ({})", f.message, f.code)),
        }
    }
}

/// Everything one provider module established.
pub(crate) struct Evidence {
    /// How the credential fared: what was issued, or why it was refused.
    pub credential: Result<String, String>,
    /// Verdicts by grant name (as the permission table spells it).
    pub grants: Vec<(&'static str, Verdict)>,
    pub reads: Vec<Probe>,
    pub calls: Vec<CallRecord>,
}

impl Evidence {
    pub fn new(credential: Result<String, String>, calls: Vec<CallRecord>) -> Self {
        Self {
            credential,
            grants: Vec::new(),
            reads: Vec::new(),
            calls,
        }
    }

    pub fn grant(&mut self, name: &'static str, verdict: Verdict) {
        self.grants.retain(|(n, _)| *n != name);
        self.grants.push((name, verdict));
    }
}

/// The sentence every unproven grant carries.
pub fn unproven_sentence(permission: &str, console: &str) -> String {
    format!(
        "UNPROVEN {permission}: only a change would prove it; Passage did not try. Confirm at \
         {console} or run a canary leaver."
    )
}

/// Findings for one provider: the credential, each grant the plan needs, each read.
fn assemble(provider: Provider, plan: &[Step], evidence: Evidence) -> ProviderReport {
    let needed = permissions::needed(provider, plan);
    let credential = |status, detail: &str, steps| Finding {
        status,
        check: "credential".into(),
        permission: None,
        id: None,
        detail: detail.to_owned(),
        steps,
    };
    let mut findings = Vec::new();
    match &evidence.credential {
        Err(why) => {
            // Without a credential every step of the provider fails.
            let steps = plan
                .iter()
                .filter(|s| s.provider == provider)
                .map(blocked)
                .collect();
            findings.push(credential(Status::Failed, why, steps));
        }
        Ok(detail) => {
            findings.push(credential(Status::Ok, detail, Vec::new()));
            for (permission, steps) in &needed {
                let verdict = evidence
                    .grants
                    .iter()
                    .find(|(n, _)| *n == permission.name)
                    .map(|(_, v)| v.clone());
                findings.push(grant_finding(permission, steps, verdict));
            }
            for probe in evidence.reads {
                findings.push(read_finding(probe, &needed));
            }
        }
    }
    ProviderReport {
        provider,
        findings,
        calls: evidence.calls,
    }
}

fn blocked(step: &Step) -> Blocked {
    Blocked {
        step: step.key.0.clone(),
        critical: step.critical,
    }
}

fn grant_finding(permission: &Permission, steps: &[&Step], verdict: Option<Verdict>) -> Finding {
    let unproven = || unproven_sentence(permission.name, permission.console);
    let (status, detail) = match verdict {
        Some(Verdict::Held(how)) => (Status::Ok, how),
        Some(Verdict::Missing(why)) if permission.privileged_only => (
            Status::Warning,
            format!("{why}; a leaver who is an administrator would be refused"),
        ),
        Some(Verdict::Missing(why)) => (
            Status::Missing,
            format!("{why}. Grant it at {}", permission.console),
        ),
        Some(Verdict::Partial(why)) => (Status::Warning, why),
        Some(Verdict::Unproven(seen)) if seen.is_empty() => (Status::Unproven, unproven()),
        Some(Verdict::Unproven(seen)) => (Status::Unproven, format!("{seen}. {}", unproven())),
        None => (Status::Unproven, unproven()),
    };
    Finding {
        status,
        check: format!("{} {}", permission.kind.label(), permission.name),
        permission: Some(permission.name.to_owned()),
        id: permission.id.map(str::to_owned),
        detail,
        steps: steps.iter().map(|s| blocked(s)).collect(),
    }
}

fn read_finding(probe: Probe, needed: &[(&Permission, Vec<&Step>)]) -> Finding {
    let (status, detail) = match probe.outcome {
        Ok(detail) => (Status::Ok, detail),
        Err(detail) => (Status::Failed, detail),
    };
    let mut steps: Vec<Blocked> = Vec::new();
    if status == Status::Failed {
        for (_, on) in needed
            .iter()
            .filter(|(p, _)| probe.blames.contains(&p.name))
        {
            for s in on {
                if !steps.iter().any(|b| b.step == s.key.0) {
                    steps.push(blocked(s));
                }
            }
        }
    }
    Finding {
        status,
        check: format!("read: {}", probe.what),
        permission: probe.blames.first().map(|p| (*p).to_owned()),
        id: None,
        detail,
        steps,
    }
}

/// The claims of a JWT access token, read without checking its signature: the preflight only
/// reports what the token says, and the provider checks the signature on every call.
pub(crate) fn token_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The strings of a JSON array claim (`roles`, `wids`, `scp`).
pub(crate) fn strings(claims: &serde_json::Value, key: &str) -> Vec<String> {
    claims[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
