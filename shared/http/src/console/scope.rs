//! What a signed-in operator may see: the tenants in their scope and those tenants' runs. The
//! tenant check itself is the operator API's ([`crate::operator::visible`]).

use crate::ApiState;
use crate::error::ApiError;
use crate::operator::Operator;
use passage_core::engine::EngineError;
use passage_core::ports::RunFilter;
use passage_core::{Run, RunState, TenantId};
use std::collections::BTreeSet;

/// How many runs one listing reads at most.
const LIST_LIMIT: usize = 500;

/// The tenants the operator sees: those named in their scope that exist and, for an
/// all-tenants operator, every tenant with runs (the directory has no list of its own, since
/// on AWS tenants are loaded one secret at a time).
pub(crate) async fn tenants(state: &ApiState, op: &Operator) -> Result<Vec<String>, ApiError> {
    let mut out = BTreeSet::new();
    for t in op.tenants.iter().filter(|t| *t != "*") {
        if crate::operator::visible(state, op, t).await.is_ok() {
            out.insert(t.clone());
        }
    }
    if op.tenants.iter().any(|t| t == "*") {
        for run in list(state, None, None).await? {
            out.insert(run.tenant.to_string());
        }
    }
    Ok(out.into_iter().collect())
}

/// The operator's runs, newest first, of one tenant (which must be visible) or of all theirs.
pub(crate) async fn runs(
    state: &ApiState,
    op: &Operator,
    tenant: Option<&str>,
    run_state: Option<RunState>,
) -> Result<Vec<Run>, ApiError> {
    let mut out = Vec::new();
    match tenant {
        Some(t) => {
            crate::operator::visible(state, op, t).await?;
            out = list(state, Some(t), run_state).await?;
        }
        None if op.tenants.iter().any(|t| t == "*") => {
            out = list(state, None, run_state).await?;
        }
        None => {
            for t in tenants(state, op).await? {
                out.extend(list(state, Some(&t), run_state).await?);
            }
        }
    }
    out.retain(|r| op.may_access(r.tenant.as_str()));
    out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    Ok(out)
}

async fn list(
    state: &ApiState,
    tenant: Option<&str>,
    run_state: Option<RunState>,
) -> Result<Vec<Run>, ApiError> {
    let filter = RunFilter {
        tenant: tenant.map(TenantId::new),
        state: run_state,
        employee_id: None,
        limit: Some(LIST_LIMIT),
    };
    Ok(state
        .engine
        .ports()
        .store
        .list_runs(&filter)
        .await
        .map_err(EngineError::from)?)
}
