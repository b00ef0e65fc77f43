//! `/metrics`: what a Prometheus scrape sees of a deployment, for the calling operator's
//! tenants (an operator token is required, as for the operator API).
//!
//! Two kinds of figures. What the store and queue say *now* is read at each scrape (runs by
//! state, open steps by provider and state, runs past their SLA, the queue backlog), so it
//! is right on every host, one process or many Lambda containers. What *happened* is counted
//! in this process since it started (step outcomes and throttles by provider, webhook
//! refusals by status): the engine's transition events are counted by [`EventCounter`], a
//! tracing layer the host installs, so the engine itself knows nothing of metrics.

use crate::ApiState;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use passage_core::engine::EngineError;
use passage_core::ports::RunFilter;
use passage_core::{Run, RunState, TenantId};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::LazyLock;

/// The content type Prometheus's text format is served with.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    provider: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    tenant: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    tenant: String,
    provider: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

/// This process's counters. Global, as a process's counters are: every router and the
/// tracing layer of one process add to the same figures.
struct Counters {
    step_outcomes: Family<OutcomeLabels, Counter>,
    throttles: Family<ProviderLabels, Counter>,
    webhook_refusals: Family<StatusLabels, Counter>,
}

static COUNTERS: LazyLock<Counters> = LazyLock::new(|| Counters {
    step_outcomes: Family::default(),
    throttles: Family::default(),
    webhook_refusals: Family::default(),
});

/// The step transitions counted as outcomes; others (claimed, ready) are bookkeeping.
const OUTCOMES: &[&str] = &[
    "verified",
    "failed",
    "dead_lettered",
    "waived",
    "not_applicable",
    "retried",
    "retry_scheduled",
    "awaiting_completion",
    "past_sla",
];

/// Counts one engine transition event (`step.verified` of step `okta.suspend`, …).
fn count_event(kind: &str, step: &str) {
    let Some(what) = kind.strip_prefix("step.") else {
        return;
    };
    let provider = step.split('.').next().unwrap_or("").to_owned();
    if what == "throttled" {
        COUNTERS
            .throttles
            .get_or_create(&ProviderLabels { provider })
            .inc();
    } else if OUTCOMES.contains(&what) {
        COUNTERS
            .step_outcomes
            .get_or_create(&OutcomeLabels {
                provider,
                outcome: what.to_owned(),
            })
            .inc();
    }
}

/// Counts the engine's transition events (target `passage::events`) as they are logged.
/// Installed by the host beside its log output; it sees the events whatever the log level.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventCounter;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for EventCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() != "passage::events" {
            return;
        }
        let mut fields = EventFields::default();
        event.record(&mut fields);
        count_event(&fields.kind, &fields.step);
    }
}

#[derive(Default)]
struct EventFields {
    kind: String,
    step: String,
}

impl tracing::field::Visit for EventFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "kind" => self.kind = value.to_owned(),
            "step" => self.step = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "kind" => self.kind = format!("{value:?}"),
            "step" => self.step = format!("{value:?}"),
            _ => {}
        }
    }
}

/// Counts the webhook routes' refusals by HTTP status.
pub(crate) async fn count_refusals(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        COUNTERS
            .webhook_refusals
            .get_or_create(&StatusLabels {
                status: status.as_u16().to_string(),
            })
            .inc();
    }
    response
}

/// `GET /metrics`.
pub(crate) async fn scrape(
    State(state): State<ApiState>,
    headers: HeaderMap,
    iam: Option<axum::Extension<crate::IamCaller>>,
) -> Result<Response, ApiError> {
    let op = crate::operator::authenticate(&state, &headers, iam.as_ref().map(|e| &e.0))?;
    let runs = visible_runs(&state, &op).await?;
    let mut registry = Registry::with_prefix("passage");
    register_runs(&state, &mut registry, &runs).await?;
    register_backlog(&state, &mut registry).await;
    register_counters(&mut registry);
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &registry).map_err(|e| {
        ApiError::new(
            passage_core::engine::ErrorKind::Internal,
            "metrics_encoding",
            e.to_string(),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response())
}

/// Every run of the tenants the operator may see.
async fn visible_runs(state: &ApiState, op: &crate::Operator) -> Result<Vec<Run>, ApiError> {
    let store = &state.engine.ports().store;
    let every = RunFilter {
        tenant: None,
        state: None,
        employee_id: None,
        limit: None,
    };
    if op.tenants.iter().any(|t| t == "*") {
        return Ok(store.list_runs(&every).await.map_err(EngineError::from)?);
    }
    let mut runs = Vec::new();
    for tenant in &op.tenants {
        let filter = RunFilter {
            tenant: Some(TenantId::new(tenant.as_str())),
            ..every.clone()
        };
        runs.extend(store.list_runs(&filter).await.map_err(EngineError::from)?);
    }
    Ok(runs)
}

/// Runs by state; the open runs' steps by provider and state; open runs with a step past its
/// SLA (as the engine's SLA sweep marked it).
async fn register_runs(
    state: &ApiState,
    registry: &mut Registry,
    runs: &[Run],
) -> Result<(), ApiError> {
    let by_state = Family::<RunLabels, Gauge>::default();
    let steps = Family::<StepLabels, Gauge>::default();
    let past_sla = Family::<TenantLabels, Gauge>::default();
    for run in runs {
        let tenant = run.tenant.to_string();
        by_state
            .get_or_create(&RunLabels {
                tenant: tenant.clone(),
                state: run.shown_state().to_owned(),
            })
            .inc();
        if !matches!(run.state, RunState::Running | RunState::Blocked) {
            continue;
        }
        let open = state
            .engine
            .ports()
            .store
            .steps(&run.id)
            .await
            .map_err(EngineError::from)?;
        for step in &open {
            steps
                .get_or_create(&StepLabels {
                    tenant: tenant.clone(),
                    provider: step.provider.as_str().to_owned(),
                    state: step.state.as_str().to_owned(),
                })
                .inc();
        }
        let late = open
            .iter()
            .any(|s| s.sla_alerted_at.is_some() && s.state.is_in_progress());
        past_sla
            .get_or_create(&TenantLabels { tenant })
            .inc_by(i64::from(late));
    }
    registry.register("runs", "Runs by tenant and state", by_state);
    registry.register(
        "open_run_steps",
        "Steps of running and blocked runs, by provider and state",
        steps,
    );
    registry.register(
        "runs_past_sla",
        "Open runs with a provider step unverified past the tenant's SLA",
        past_sla,
    );
    Ok(())
}

/// The step queue's backlog, where the backend reports it; a failed read is left out rather
/// than failing the scrape, so the other figures still arrive.
async fn register_backlog(state: &ApiState, registry: &mut Registry) {
    match state.engine.ports().queue.backlog().await {
        Ok(Some(b)) => {
            let queued = Gauge::<i64>::default();
            queued.set(i64::try_from(b.queued).unwrap_or(i64::MAX));
            let dead = Gauge::<i64>::default();
            dead.set(i64::try_from(b.dead_letters).unwrap_or(i64::MAX));
            registry.register(
                "queue_messages",
                "Step messages waiting, delayed or in flight",
                queued,
            );
            registry.register("dead_letters", "Messages moved to dead letters", dead);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "queue backlog not read for /metrics"),
    }
}

fn register_counters(registry: &mut Registry) {
    registry.register(
        "step_outcomes",
        "Step outcomes by provider, counted by this process since it started",
        COUNTERS.step_outcomes.clone(),
    );
    registry.register(
        "throttles",
        "Provider calls answered with a throttle, by provider, since this process started",
        COUNTERS.throttles.clone(),
    );
    registry.register(
        "webhook_refusals",
        "Webhook deliveries refused, by HTTP status, since this process started",
        COUNTERS.webhook_refusals.clone(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_events_count_by_provider_and_outcome() {
        count_event("step.verified", "okta.suspend");
        count_event("step.throttled", "google.snapshot");
        count_event("step.claimed", "okta.suspend");
        count_event("run.closed", "");
        let verified = COUNTERS
            .step_outcomes
            .get_or_create(&OutcomeLabels {
                provider: "okta".into(),
                outcome: "verified".into(),
            })
            .get();
        assert!(verified >= 1);
        let claimed = COUNTERS
            .step_outcomes
            .get_or_create(&OutcomeLabels {
                provider: "okta".into(),
                outcome: "claimed".into(),
            })
            .get();
        assert_eq!(claimed, 0);
        let throttles = COUNTERS
            .throttles
            .get_or_create(&ProviderLabels {
                provider: "google".into(),
            })
            .get();
        assert!(throttles >= 1);
    }
}
