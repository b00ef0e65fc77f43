//! How a connector waits its turn before each call and reports what each answer said about
//! the provider's budget. The budgets themselves live behind the host's
//! [`Pacer`](passage_core::ports::Pacer): in memory for `passage serve`, in DynamoDB for the
//! Lambda functions; here is only which budget a call draws from and how long it may wait.
//!
//! A call whose turn is further away than the host's patience is not sent: it fails as
//! retryable `paced`, with the wait as its retry-after, and the engine puts the step back on
//! the queue until then (on AWS, an SQS visibility delay), instead of holding a worker or a
//! Lambda invocation idle.

use crate::{google, jumpcloud, microsoft, okta};
use passage_core::Provider;
use passage_core::pace::{Bucket, PaceKey, PaceSignal, Rate, Turn};
use passage_core::ports::{ActionFailure, FailureClass, Pacer, Unpaced};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The host's pacer, and how long one call may wait for its turn before its step is put back
/// on the queue instead.
#[derive(Clone)]
pub struct Pacing {
    pacer: Arc<dyn Pacer>,
    patience: Duration,
}

impl Pacing {
    pub fn new(pacer: Arc<dyn Pacer>, patience: Duration) -> Self {
        Self { pacer, patience }
    }

    /// No pacing: for tests and tools that call a provider alone.
    pub fn off() -> Self {
        Self::new(Arc::new(Unpaced), Duration::ZERO)
    }
}

/// The budget of each endpoint family of one provider connection: the provider's documented
/// limits (see docs/pacing.md) unless the tenant's configuration says otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacePlan {
    families: BTreeMap<&'static str, Rate>,
    /// One budget for every call to the org, in place of the families'.
    all: Option<Rate>,
}

/// The family every call draws from once a plan has a single budget.
pub const ALL: &str = "all";

impl PacePlan {
    /// The provider's documented limits, one budget per family it limits separately.
    pub fn documented(provider: Provider) -> Self {
        let families = match provider {
            Provider::Okta => okta::pace::budgets(),
            Provider::Microsoft => microsoft::pace::budgets(),
            Provider::Google => google::pace::budgets(),
            Provider::Jumpcloud => jumpcloud::pace::budgets(),
            // SaaS apps make a handful of calls per leaver and are not paced yet: their
            // connectors wait out each 429's Retry-After as throttling instead.
            Provider::Scim | Provider::Slack | Provider::Github | Provider::Human => Vec::new(),
        };
        Self {
            families: families.into_iter().collect(),
            all: None,
        }
    }

    /// The families this plan knows, by name.
    pub fn families(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.families.keys().copied()
    }

    /// Sets one family's budget.
    pub fn set(&mut self, family: &str, rate: Rate) -> Result<(), UnknownFamily> {
        let known = self.families.keys().copied().collect::<Vec<_>>();
        match self.families.get_mut(family) {
            Some(slot) => {
                *slot = rate;
                Ok(())
            }
            None => Err(UnknownFamily {
                family: family.to_owned(),
                known: known.join(", "),
            }),
        }
    }

    /// One budget for every call to the org (the org's limit is not split by endpoint, or
    /// Passage should keep to a share of it).
    pub fn single(&mut self, rate: Rate) {
        self.all = Some(rate);
    }

    /// Lets `percent` of every budget go at once.
    pub fn burst_percent(&mut self, percent: u32) {
        for rate in self.families.values_mut().chain(self.all.as_mut()) {
            *rate = rate.burst_percent(percent);
        }
    }

    /// The budget a call of `family` draws from.
    fn budget(&self, family: &'static str) -> Option<(&'static str, Rate)> {
        match self.all {
            Some(rate) => Some((ALL, rate)),
            None => self.families.get(family).map(|rate| (family, *rate)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no endpoint family {family:?} (known: {known})")]
pub struct UnknownFamily {
    family: String,
    known: String,
}

/// One provider org's pacing: the host's pacer, whose org it is, and the org's budgets.
#[derive(Clone)]
pub(crate) struct OrgPace {
    pacing: Option<Pacing>,
    provider: Provider,
    org: String,
    plan: PacePlan,
}

impl OrgPace {
    pub fn new(pacing: Pacing, provider: Provider, org: String, plan: PacePlan) -> Self {
        Self {
            pacing: Some(pacing),
            provider,
            org,
            plan,
        }
    }

    /// Calls go at once (a connector built on its own, as tests do).
    pub fn off(provider: Provider) -> Self {
        Self {
            pacing: None,
            provider,
            org: String::new(),
            plan: PacePlan::documented(provider),
        }
    }

    /// The turn of one call of `family`, or none when the connector is not paced.
    pub fn turn(&self, family: &'static str) -> Option<Paced<'_>> {
        let pacing = self.pacing.as_ref()?;
        let (family, rate) = self.plan.budget(family)?;
        let key = PaceKey {
            provider: self.provider,
            org: self.org.clone(),
            family: family.to_owned(),
        };
        Some(Paced {
            pacing,
            bucket: Bucket { key, rate },
        })
    }
}

/// One call's place in its budget.
pub(crate) struct Paced<'a> {
    pacing: &'a Pacing,
    bucket: Bucket,
}

impl Paced<'_> {
    /// Waits for the call's turn, or fails as throttled `paced` when it is further away than
    /// the host's patience (waiting for the org's budget uses none of the step's deadline). A pacer that cannot answer (its table unreachable) lets the call go:
    /// an offboarding is not held up for want of pacing, and a 429 is still handled.
    pub async fn wait_turn(&self) -> Result<(), ActionFailure> {
        let pacer = &self.pacing.pacer;
        match pacer.acquire(&self.bucket, 1, self.pacing.patience).await {
            Ok(Turn::Go(wait)) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok(())
            }
            Ok(Turn::Defer(wait)) => Err(ActionFailure {
                class: FailureClass::Throttled {
                    retry_after: Some(wait),
                },
                code: "paced".into(),
                message: format!(
                    "the {} budget has no room for {:.1} s; the step waits its turn",
                    self.bucket.key,
                    wait.as_secs_f64()
                ),
            }),
            Err(e) => {
                tracing::warn!(bucket = %self.bucket.key, error = %e, "pacing unavailable; calling unpaced");
                Ok(())
            }
        }
    }

    /// Reports what an answer said about the budget, if it said anything.
    pub async fn observe(&self, signal: PaceSignal) {
        if signal.is_silent() {
            return;
        }
        if let Err(e) = self.pacing.pacer.observe(&self.bucket, &signal).await {
            tracing::warn!(bucket = %self.bucket.key, error = %e, "pace signal not kept");
        }
    }
}

/// What any provider's answer says: a 429 is a refusal for the rate, with the wait its
/// `Retry-After` names (seconds, the only form providers use for API throttling).
pub(crate) fn refusal_signal(status: StatusCode, headers: &HeaderMap) -> PaceSignal {
    if status == StatusCode::TOO_MANY_REQUESTS {
        throttled(headers)
    } else {
        PaceSignal::default()
    }
}

/// A refusal for the rate, with the wait its `Retry-After` names, if any.
pub(crate) fn throttled(headers: &HeaderMap) -> PaceSignal {
    PaceSignal {
        throttled: true,
        retry_after: header_u64(headers, reqwest::header::RETRY_AFTER.as_str())
            .map(Duration::from_secs),
        ..PaceSignal::default()
    }
}

pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The budgets a provider module documents: `(family, "calls/period")`, read once.
pub(crate) fn read_budgets(table: &[(&'static str, &str)]) -> Vec<(&'static str, Rate)> {
    table
        .iter()
        .map(|(family, rate)| (*family, rate.parse().expect("documented rates parse")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_documents_parseable_budgets() {
        for provider in [
            Provider::Okta,
            Provider::Microsoft,
            Provider::Google,
            Provider::Jumpcloud,
        ] {
            let plan = PacePlan::documented(provider);
            assert!(plan.families().count() > 0, "{provider}");
        }
    }

    #[test]
    fn a_plan_takes_budgets_by_family_or_one_for_all() {
        let mut plan = PacePlan::documented(Provider::Okta);
        plan.set("users", Rate::per_minute(2000)).unwrap();
        assert_eq!(
            plan.budget("users"),
            Some(("users", Rate::per_minute(2000)))
        );
        let err = plan.set("usres", Rate::per_minute(1)).unwrap_err();
        assert!(err.to_string().contains("users"), "{err}");
        plan.single(Rate::per_minute(40));
        plan.burst_percent(10);
        assert_eq!(
            plan.budget("users"),
            Some((ALL, Rate::per_minute(40).burst_percent(10)))
        );
        assert_eq!(plan.budget("logs").map(|b| b.0), Some(ALL));
    }

    #[test]
    fn a_429_is_a_refusal_with_its_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        let signal = refusal_signal(StatusCode::TOO_MANY_REQUESTS, &headers);
        assert!(signal.throttled);
        assert_eq!(signal.retry_after, Some(Duration::from_secs(7)));
        assert!(refusal_signal(StatusCode::OK, &HeaderMap::new()).is_silent());
    }
}
