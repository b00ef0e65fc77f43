//! The operator API: start, list and inspect runs; confirm human steps; waive, retry, cancel,
//! reschedule; reconcile with the HR system. Every call is authenticated (a bearer token, or
//! the IAM principal API Gateway verified) and scoped to the operator's tenants: a tenant
//! outside the scope answers exactly as a tenant that does not exist.

use crate::ApiState;
use crate::console::oidc::{OidcIdentity, OidcProvider};
use crate::error::ApiError;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use passage_core::cutoff::CutoffRequest;
use passage_core::engine::{ConfirmRequest, EngineError, ErrorKind, ManualLeaver};
use passage_core::ports::RunFilter;
use passage_core::secret::Secret;
use passage_core::{ItemOutcome, Manager, RunId, RunState, StepKey, TenantId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// One operator: who they are and which tenants they may touch.
#[derive(Clone, Debug)]
pub struct Operator {
    pub name: String,
    /// Tenant ids; `"*"` means every tenant.
    pub tenants: Vec<String>,
    token_sha256: Option<[u8; 32]>,
    iam_principal: Option<String>,
    /// An Argon2 PHC string: signs the operator in to the console.
    /// Kept as a secret so a Debug print shows no hash to attack offline.
    password_phc: Option<Secret>,
    /// Who the operator is at a sign-in provider: (provider name, identity).
    oidc: Option<(String, OidcIdentity)>,
}

impl Operator {
    pub fn new(
        name: impl Into<String>,
        token: Option<&Secret>,
        iam_principal: Option<String>,
        tenants: Vec<String>,
    ) -> Self {
        Self {
            name: name.into(),
            tenants,
            // Only a hash is kept, so a heap dump or a Debug print holds no usable token.
            token_sha256: token.map(|t| Sha256::digest(t.expose().as_bytes()).into()),
            iam_principal,
            password_phc: None,
            oidc: None,
        }
    }

    /// Lets the operator sign in to the console with a password, checked against this Argon2
    /// PHC string (`passage operator hash-password` makes one).
    pub fn with_password_hash(mut self, phc: impl Into<String>) -> Self {
        self.password_phc = Some(Secret::new(phc.into()));
        self
    }

    /// Lets the operator sign in to the console through the OpenID Connect provider named
    /// `provider`, as `identity`.
    pub fn with_oidc(mut self, provider: impl Into<String>, identity: OidcIdentity) -> Self {
        self.oidc = Some((provider.into(), identity));
        self
    }

    /// Whether the operator can sign in with something other than a bearer token or IAM.
    pub fn oidc_provider(&self) -> Option<&str> {
        self.oidc.as_ref().map(|(p, _)| p.as_str())
    }

    pub(crate) fn password_phc(&self) -> Option<&str> {
        self.password_phc.as_ref().map(Secret::expose)
    }

    pub fn may_access(&self, tenant: &str) -> bool {
        self.tenants.iter().any(|t| t == "*" || t == tenant)
    }
}

/// The operators of a deployment, and the identity providers people among them sign in with.
#[derive(Clone, Debug, Default)]
pub struct Operators(Arc<Vec<Operator>>, Arc<Vec<OidcProvider>>);

impl Operators {
    pub fn new(list: Vec<Operator>) -> Self {
        Self(Arc::new(list), Arc::default())
    }

    /// The console offers sign-in through each of `providers`.
    pub fn with_oidc(self, providers: Vec<OidcProvider>) -> Self {
        Self(self.0, Arc::new(providers))
    }

    pub(crate) fn oidc_providers(&self) -> &[OidcProvider] {
        &self.1
    }

    pub(crate) fn oidc_provider(&self, name: &str) -> Option<&OidcProvider> {
        self.1.iter().find(|p| p.name == name)
    }

    /// The operator known at `provider` by an identity `matches` accepts.
    pub(crate) fn by_oidc(
        &self,
        provider: &str,
        matches: impl Fn(&OidcIdentity) -> bool,
    ) -> Option<&Operator> {
        self.0.iter().find(|op| {
            op.oidc
                .as_ref()
                .is_some_and(|(p, id)| p == provider && matches(id))
        })
    }

    pub(crate) fn by_token(&self, token: &str) -> Option<&Operator> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Compare against every operator so timing says nothing about which one matched.
        let mut found = None;
        for op in self.0.iter() {
            if let Some(h) = &op.token_sha256
                && bool::from(h.ct_eq(&presented))
            {
                found = Some(op);
            }
        }
        found
    }

    /// The operator of this name: a console session names its operator, whose tenants are read
    /// afresh on every request.
    pub(crate) fn by_name(&self, name: &str) -> Option<&Operator> {
        self.0.iter().find(|op| op.name == name)
    }

    /// The operator whose configured principal the verified caller is: the same ARN, or a
    /// session of the configured role.
    fn by_principal(&self, arn: &str) -> Option<&Operator> {
        self.0.iter().find(|op| {
            op.iam_principal
                .as_deref()
                .is_some_and(|configured| crate::principal_matches(configured, arn))
        })
    }
}

/// The caller's IAM principal (user or role ARN), as API Gateway's IAM authorizer verified it.
/// Set only by the Lambda shell, from the request context; never read from a header.
#[derive(Clone, Debug)]
pub struct IamCaller(pub String);

/// The operator routes and their OpenAPI description, from one list: a handler is routed
/// only through `routes!`, which reads its `#[utoipa::path]`, so the published document cannot
/// miss a route or name one that is not served.
pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(whoami))
        .routes(routes!(find_run))
        .routes(routes!(list_runs, start_run))
        .routes(routes!(show_run))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(except))
        .routes(routes!(waive))
        .routes(routes!(retry))
        .routes(routes!(not_applicable))
        .routes(routes!(confirm))
        .routes(routes!(reconcile))
        .routes(routes!(plan))
        .routes(routes!(approve))
}

/// Who is calling, or a 401 that says what is missing.
pub(crate) fn authenticate(
    state: &ApiState,
    headers: &HeaderMap,
    iam: Option<&IamCaller>,
) -> Result<Operator, ApiError> {
    if let Some(IamCaller(arn)) = iam {
        return state.operators.by_principal(arn).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorKind::Forbidden,
                "not_an_operator",
                "this IAM principal is not configured as a Passage operator",
            )
        });
    }
    let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::new(
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "send `Authorization: Bearer <operator token>`",
        ));
    };
    let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    else {
        return Err(ApiError::new(
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "the Authorization header must use the Bearer scheme",
        ));
    };
    state
        .operators
        .by_token(token.trim())
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::Unauthenticated,
                "unauthenticated",
                "the operator token is not valid",
            )
        })
}

/// Authenticates and checks the tenant is in the operator's scope (and exists).
async fn authorise(
    state: &ApiState,
    headers: &HeaderMap,
    iam: Option<&IamCaller>,
    tenant: &str,
) -> Result<Operator, ApiError> {
    let op = authenticate(state, headers, iam)?;
    visible(state, &op, tenant).await?;
    Ok(op)
}

/// Whether the tenant exists and is in the operator's scope; a tenant outside it answers as
/// one that does not exist. The one check the API and the console share.
pub(crate) async fn visible(state: &ApiState, op: &Operator, tenant: &str) -> Result<(), ApiError> {
    let exists = passage_core::ids::is_valid_tenant_id(tenant)
        && op.may_access(tenant)
        && tenant_exists(state, tenant).await?;
    if !exists {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("no tenant {tenant:?} is visible to this operator"),
        ));
    }
    Ok(())
}

/// The run, when it belongs to a tenant the operator may see; not found otherwise, so a run id
/// from another tenant reveals nothing.
pub(crate) async fn visible_run(
    state: &ApiState,
    op: &Operator,
    tenant: &str,
    run: &str,
) -> Result<passage_core::Run, ApiError> {
    visible(state, op, tenant).await?;
    let not_found = || {
        ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("no run {run:?} in tenant {tenant:?}"),
        )
    };
    match state.engine.ports().store.run(&RunId::new(run)).await {
        Ok(Some(r)) if r.tenant.as_str() == tenant => Ok(r),
        Ok(_) => Err(not_found()),
        Err(e) => Err(EngineError::from(e).into()),
    }
}

/// Whether the tenant is configured. A tenant whose configuration is broken still exists: its
/// operators must be able to look at and stop its runs while it is being fixed.
async fn tenant_exists(state: &ApiState, tenant: &str) -> Result<bool, ApiError> {
    match state
        .engine
        .ports()
        .tenants
        .tenant(&TenantId::new(tenant))
        .await
    {
        Ok(found) => Ok(found.is_some()),
        Err(passage_core::ports::TenantError::Misconfigured { .. }) => Ok(true),
        Err(e) => Err(ApiError::new(
            ErrorKind::Unavailable,
            "tenant_config_unavailable",
            e.to_string(),
        )),
    }
}

/// Parses a JSON body strictly: unknown fields and wrong types are named in the 400.
pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.is_empty() {
        b"{}".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorKind::Malformed,
            "invalid_body",
            format!("the request body is not valid: {e}"),
        )
    })
}

/// The operator calling, authenticated and authorised for the `{tenant}` in the path.
pub(crate) struct TenantCall {
    pub(crate) op: Operator,
    pub(crate) tenant: String,
}

impl FromRequestParts<ApiState> for TenantCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let tenant = path_param(parts, state, "tenant").await?;
        let iam = parts.extensions.get::<IamCaller>();
        let op = authorise(state, &parts.headers, iam, &tenant).await?;
        Ok(Self { op, tenant })
    }
}

/// As [`TenantCall`], with the `{run}` in the path, which must belong to that tenant (so a run
/// id from another tenant is simply not found).
pub(crate) struct RunCall {
    pub(crate) op: Operator,
    pub(crate) run: passage_core::Run,
}

impl FromRequestParts<ApiState> for RunCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let TenantCall { op, tenant } = TenantCall::from_request_parts(parts, state).await?;
        let run = path_param(parts, state, "run").await?;
        let run = visible_run(state, &op, &tenant, &run).await?;
        Ok(Self { op, run })
    }
}

/// The `{step}` of a step route.
fn step_of(path: &HashMap<String, String>) -> StepKey {
    StepKey::new(path.get("step").map_or("", String::as_str))
}

async fn path_param(parts: &mut Parts, state: &ApiState, name: &str) -> Result<String, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Malformed, "invalid_path", e.body_text()))?;
    params
        .get(name)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, "not_found", "no such route"))
}

fn json(value: serde_json::Value) -> Response {
    axum::Json(value).into_response()
}

#[utoipa::path(
    get,
    path = "/v1/operator/whoami",
    tag = "operator",
    responses(
        (status = 200, description = "The calling operator and the tenants they may see", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn whoami(
    State(state): State<ApiState>,
    headers: HeaderMap,
    iam: Option<axum::Extension<IamCaller>>,
) -> Result<Response, ApiError> {
    let op = authenticate(&state, &headers, iam.as_ref().map(|e| &e.0))?;
    Ok(json(json!({"operator": op.name, "tenants": op.tenants})))
}

#[utoipa::path(
    get,
    path = "/v1/operator/runs/{run}",
    tag = "operator",
    params(("run" = String, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run's tenant, for the tenant-scoped routes", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
/// Which tenant a run belongs to, so a client holding only a run id (the remote CLI) can use
/// the tenant-scoped routes. A run of a tenant outside the operator's scope is not found.
async fn find_run(
    State(state): State<ApiState>,
    headers: HeaderMap,
    iam: Option<axum::Extension<IamCaller>>,
    Path(run): Path<String>,
) -> Result<Response, ApiError> {
    let op = authenticate(&state, &headers, iam.as_ref().map(|e| &e.0))?;
    let found = state
        .engine
        .ports()
        .store
        .run(&RunId::new(&run))
        .await
        .map_err(EngineError::from)?;
    match found {
        Some(r) if op.may_access(r.tenant.as_str()) => Ok(json(
            json!({"run_id": r.id, "tenant": r.tenant, "state": r.state}),
        )),
        _ => Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("no run {run:?} is visible to this operator"),
        )),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    employee_id: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/v1/operator/tenants/{tenant}/runs",
    tag = "operator",
    params(ListQuery, ("tenant" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant's runs, newest first, each with what resolves it", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn list_runs(
    State(state): State<ApiState>,
    call: TenantCall,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(Query(q)) = query else {
        return Err(ApiError::new(
            ErrorKind::Malformed,
            "invalid_query",
            "query parameters are state, employee_id and limit",
        ));
    };
    let run_state = q
        .state
        .as_deref()
        .map(str::parse::<RunState>)
        .transpose()
        .map_err(|why| ApiError::new(ErrorKind::Malformed, "invalid_query", why))?;
    let filter = RunFilter {
        tenant: Some(TenantId::new(call.tenant.as_str())),
        state: run_state,
        employee_id: q.employee_id,
        limit: Some(q.limit.unwrap_or(100).min(1000)),
    };
    let runs = state
        .engine
        .ports()
        .store
        .list_runs(&filter)
        .await
        .map_err(EngineError::from)?;
    let mut list = Vec::with_capacity(runs.len());
    for r in &runs {
        let resolve = remedies(&state, r).await?;
        list.push(
            json!({"run_id": r.id, "state": r.state, "shown_state": r.shown_state(),
                "employee_id": r.subject.employee_id, "email": r.subject.email,
                "cutoff_at": r.cutoff.at, "created_at": r.created_at,
                "blocked_reason": r.blocked_reason, "hold": r.hold, "resolve": resolve}),
        );
    }
    Ok(json(json!({"tenant": call.tenant, "runs": list})))
}

/// What resolves a blocked or held run; nothing for any other (their steps are not read).
pub(crate) async fn remedies(
    state: &ApiState,
    run: &passage_core::Run,
) -> Result<Vec<passage_core::remedy::Remedy>, ApiError> {
    if run.state != RunState::Blocked && !run.is_held() {
        return Ok(Vec::new());
    }
    let steps = state
        .engine
        .ports()
        .store
        .steps(&run.id)
        .await
        .map_err(EngineError::from)?;
    Ok(passage_core::remedy::for_run(
        run,
        &steps,
        state.engine.now(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExceptBody {
    item: String,
    reason: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<jiff::Timestamp>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/exceptions",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id")),
    request_body = ExceptBody,
    responses(
        (status = 200, description = "The item is accepted as an exception", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
/// Accepts an access item that remains or is pending as an exception, by the calling operator.
async fn except(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ExceptBody = body(&bytes)?;
    let r = state
        .engine
        .except(&run.id, &b.item, &op.name, &b.reason, b.expires_at)
        .await?;
    Ok(json(
        json!({"run_id": r.id, "state": r.state, "exceptions": r.exceptions}),
    ))
}

/// `last_working_day`, `cutoff_at` or `immediate`: exactly one.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct When {
    last_working_day: Option<jiff::civil::Date>,
    cutoff_at: Option<jiff::Timestamp>,
    #[serde(default)]
    immediate: bool,
}

impl When {
    fn request(&self) -> Result<CutoffRequest, ApiError> {
        match (self.last_working_day, self.cutoff_at, self.immediate) {
            (Some(d), None, false) => Ok(CutoffRequest::LastWorkingDay(d)),
            (None, Some(t), false) => Ok(CutoffRequest::Exact(t)),
            (None, None, true) => Ok(CutoffRequest::Immediate),
            _ => Err(ApiError::new(
                ErrorKind::Unprocessable,
                "invalid",
                "give exactly one of last_working_day, cutoff_at or immediate: true",
            )),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StartBody {
    employee_id: String,
    email: String,
    display_name: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    last_working_day: Option<jiff::civil::Date>,
    #[schema(value_type = Option<String>, format = DateTime)]
    cutoff_at: Option<jiff::Timestamp>,
    #[serde(default)]
    immediate: bool,
    time_zone: Option<String>,
    work_location: Option<String>,
    manager_email: Option<String>,
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("idempotency-key" = Option<String>, Header, description = "Makes a resent request return the same run")),
    request_body = StartBody,
    responses(
        (status = 201, description = "The run was created", body = serde_json::Value),
        (status = 200, description = "The run already existed (same idempotency key or open run)", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn start_run(
    State(state): State<ApiState>,
    TenantCall { op, tenant }: TenantCall,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: StartBody = body(&bytes)?;
    let when = When {
        last_working_day: b.last_working_day,
        cutoff_at: b.cutoff_at,
        immediate: b.immediate,
    };
    let cutoff = when.request()?;
    // A client-chosen key makes a resent request return the same run; without one, each
    // request is its own (the one-open-run-per-leaver rule still prevents duplicates).
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("{}:{k}", op.name))
        .unwrap_or_else(|| format!("{}:{}", op.name, RunId::generate()));
    let leaver = ManualLeaver {
        employee_id: b.employee_id,
        email: b.email,
        display_name: b.display_name,
        cutoff,
        time_zone: b.time_zone,
        work_location: b.work_location,
        manager: b.manager_email.map(|email| Manager {
            email,
            employee_id: None,
        }),
        note: b.note,
    };
    let accepted = state
        .engine
        .start_manual(&TenantId::new(tenant.as_str()), leaver, &op.name, &key)
        .await?;
    let status = if accepted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(accepted)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/operator/tenants/{tenant}/runs/{run}",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run, its gate, steps, graded access, exceptions and events", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn show_run(
    State(state): State<ApiState>,
    RunCall { run, .. }: RunCall,
) -> Result<Response, ApiError> {
    let store = &state.engine.ports().store;
    let steps = store.steps(&run.id).await.map_err(EngineError::from)?;
    let events = store.events(&run.id).await.map_err(EngineError::from)?;
    let now = state.engine.now();
    let gate = match passage_core::gate::evaluate_run(&steps, &run.exceptions, now) {
        passage_core::gate::Gate::Open => json!({"state": "open"}),
        passage_core::gate::Gate::Waiting { outstanding } => {
            json!({"state": "waiting", "outstanding": outstanding})
        }
        passage_core::gate::Gate::Blocked { failed } => {
            json!({"state": "blocked", "failed": failed})
        }
        passage_core::gate::Gate::Held { items } => json!({"state": "held", "items": items}),
    };
    let resolve = passage_core::remedy::for_run(&run, &steps, now);
    let access = passage_core::access::grade(&steps);
    Ok(json(json!({
        "run": run,
        "gate": gate,
        "resolve": resolve,
        "access": access,
        "exceptions": run.exceptions,
        "steps": steps,
        "events": events,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: String,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/cancel",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The run is cancelled", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn cancel(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ReasonBody = body(&bytes)?;
    let r = state.engine.cancel(&run.id, &op.name, &b.reason).await?;
    Ok(json(json!({"run_id": r.id, "state": r.state})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RescheduleBody {
    reason: String,
    #[schema(value_type = Option<String>, format = Date)]
    last_working_day: Option<jiff::civil::Date>,
    #[schema(value_type = Option<String>, format = DateTime)]
    cutoff_at: Option<jiff::Timestamp>,
    #[serde(default)]
    immediate: bool,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/reschedule",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id")),
    request_body = RescheduleBody,
    responses(
        (status = 200, description = "The cutoff moved", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn reschedule(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: RescheduleBody = body(&bytes)?;
    let request = When {
        last_working_day: b.last_working_day,
        cutoff_at: b.cutoff_at,
        immediate: b.immediate,
    }
    .request()?;
    let r = state
        .engine
        .reschedule(&run.id, &request, &op.name, &b.reason)
        .await?;
    Ok(json(
        json!({"run_id": r.id, "state": r.state, "cutoff_at": r.cutoff.at, "cutoff": r.cutoff}),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/steps/{step}/waive",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id"), ("step" = String, Path, description = "Step key, e.g. okta.revoke_grants")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The step is waived", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn waive(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    Path(path): Path<HashMap<String, String>>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ReasonBody = body(&bytes)?;
    let s = state
        .engine
        .waive(&run.id, &step_of(&path), &op.name, &b.reason)
        .await?;
    Ok(json(
        json!({"step": s.key, "state": s.state, "waiver": s.waiver}),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/steps/{step}/not-applicable",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id"), ("step" = String, Path, description = "Step key, e.g. okta.revoke_grants")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The provider's steps are closed with the proof of absence", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
/// Closes a provider's steps as not applicable once a fresh read proves the leaver has no
/// account there; any other answer from the provider refuses, with why.
async fn not_applicable(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    Path(path): Path<HashMap<String, String>>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ReasonBody = body(&bytes)?;
    let closed = state
        .engine
        .not_applicable(&run.id, &step_of(&path), &op.name, &b.reason)
        .await?;
    let proof = closed.first().and_then(|s| s.absence.clone());
    Ok(json(json!({
        "steps": closed.iter().map(|s| json!({"step": s.key, "state": s.state})).collect::<Vec<_>>(),
        "proof": proof,
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/steps/{step}/retry",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id"), ("step" = String, Path, description = "Step key, e.g. okta.revoke_grants")),
    responses(
        (status = 200, description = "The step is queued again", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn retry(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    Path(path): Path<HashMap<String, String>>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    body::<Empty>(&bytes)?;
    let s = state
        .engine
        .retry(&run.id, &step_of(&path), &op.name)
        .await?;
    Ok(json(json!({"step": s.key, "state": s.state})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    item: String,
    /// `received`, `handed_over`, `written_off`, `attested` or `no_account`.
    #[schema(value_type = String, example = "received")]
    outcome: ItemOutcome,
    condition: Option<String>,
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/steps/{step}/confirm",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id"), ("run" = String, Path, description = "Run id"), ("step" = String, Path, description = "Step key, e.g. okta.revoke_grants")),
    request_body = ConfirmBody,
    responses(
        (status = 200, description = "The item is confirmed", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn confirm(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    Path(path): Path<HashMap<String, String>>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ConfirmBody = body(&bytes)?;
    let request = ConfirmRequest {
        item: b.item,
        outcome: b.outcome,
        actor: format!("operator:{}", op.name),
        condition: b.condition,
        note: b.note,
    };
    let s = state
        .engine
        .confirm(&run.id, &step_of(&path), &request)
        .await?;
    Ok(json(
        json!({"step": s.key, "state": s.state, "items": s.human.map(|h| h.items)}),
    ))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReconcileBody {
    /// Terminations dated from this day on are compared; default 30 days ago.
    #[schema(value_type = Option<String>, format = Date)]
    since: Option<jiff::civil::Date>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/reconcile",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id")),
    request_body = ReconcileBody,
    responses(
        (status = 200, description = "What was compared and changed", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn reconcile(
    State(state): State<ApiState>,
    TenantCall { tenant, .. }: TenantCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ReconcileBody = body(&bytes)?;
    let report = state
        .engine
        .reconcile(&TenantId::new(tenant.as_str()), b.since)
        .await?;
    Ok(axum::Json(report).into_response())
}

/// `run_id`, or `all: true`: exactly one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    run_id: Option<String>,
    #[serde(default)]
    all: bool,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/approve",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id")),
    request_body = ApproveBody,
    responses(
        (status = 200, description = "The runs released", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
/// Releases runs the go-live guard holds: one, or all of the tenant's.
async fn approve(
    State(state): State<ApiState>,
    TenantCall { op, tenant }: TenantCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ApproveBody = body(&bytes)?;
    let which = match (b.run_id, b.all) {
        (Some(id), false) => passage_core::engine::Approval::One(RunId::new(id.as_str())),
        (None, true) => passage_core::engine::Approval::All,
        _ => {
            return Err(ApiError::new(
                ErrorKind::Malformed,
                "invalid_body",
                "give either run_id or \"all\": true",
            ));
        }
    };
    let runs = state
        .engine
        .approve(&TenantId::new(tenant.as_str()), which, &op.name)
        .await?;
    let list: Vec<_> = runs
        .iter()
        .map(|r| json!({"run_id": r.id, "state": r.state, "cutoff_at": r.cutoff.at}))
        .collect();
    Ok(json(json!({"tenant": tenant, "approved": list})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    email: String,
    employee_id: Option<String>,
    manager_email: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/plan",
    tag = "operator",
    params(("tenant" = String, Path, description = "Tenant id")),
    request_body = PlanBody,
    responses(
        (status = 200, description = "What a run would change, read live; nothing changes", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
/// What a run for this leaver would change, read live from every provider; nothing changes.
async fn plan(
    State(state): State<ApiState>,
    TenantCall { tenant, .. }: TenantCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: PlanBody = body(&bytes)?;
    let request = passage_core::engine::PlanRequest {
        email: b.email,
        employee_id: b.employee_id,
        manager: b.manager_email,
    };
    let preview = state
        .engine
        .preview(&TenantId::new(tenant.as_str()), request)
        .await?;
    Ok(axum::Json(preview).into_response())
}
