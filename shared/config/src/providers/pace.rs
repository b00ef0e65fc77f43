//! `[tenants.<provider>.pace]`: how fast Passage may call the provider's org, where the
//! documented limits (docs/pacing.md) are not the org's: a plan with higher limits, a limit
//! raised on request, or a share of the limit other integrations need.
//!
//! ```toml
//! [tenants.okta.pace]
//! families = { users = "1000/min", logs = "120/min" }   # per endpoint family
//! burst_percent = 10                                   # of each budget, at once
//!
//! [tenants.jumpcloud.pace]
//! all = "120/min"                                      # one budget for every call
//! ```

use anyhow::{Result, bail};
use passage_connectors::PacePlan;
use passage_core::Provider;
use passage_core::pace::Rate;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaceConfig {
    /// One budget for every call to the org, instead of one per endpoint family.
    #[serde(default)]
    pub all: Option<String>,
    /// Budgets of endpoint families by name, as calls per period (`"600/min"`, `"200/20s"`).
    #[serde(default)]
    pub families: BTreeMap<String, String>,
    /// The share of each budget that may go at once, in percent (default 5).
    #[serde(default)]
    pub burst_percent: Option<u32>,
}

impl PaceConfig {
    /// The provider's documented budgets with this section's changes; `at` names the tenant
    /// and provider in messages ("tenant acme: okta.pace").
    pub(crate) fn plan(section: Option<&Self>, provider: Provider, at: &str) -> Result<PacePlan> {
        let mut plan = PacePlan::documented(provider);
        let Some(section) = section else {
            return Ok(plan);
        };
        if section.all.is_some() && !section.families.is_empty() {
            bail!("{at}.pace: give either `all` or `families`, not both");
        }
        if let Some(all) = &section.all {
            plan.single(rate(at, "all", all)?);
        }
        for (family, value) in &section.families {
            let parsed = rate(at, family, value)?;
            plan.set(family, parsed)
                .map_err(|e| anyhow::anyhow!("{at}.pace.families: {e}"))?;
        }
        if let Some(percent) = section.burst_percent {
            if !(1..=100).contains(&percent) {
                bail!("{at}.pace.burst_percent: {percent} is not a percentage from 1 to 100");
            }
            plan.burst_percent(percent);
        }
        Ok(plan)
    }
}

fn rate(at: &str, key: &str, value: &str) -> Result<Rate> {
    value
        .parse()
        .map_err(|e| anyhow::anyhow!("{at}.pace.{key}: {e}"))
}
