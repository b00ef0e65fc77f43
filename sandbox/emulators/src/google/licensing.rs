//! Enterprise License Manager API (`/apps/licensing/v1`): read and remove
//! a user's licence, and list a product's assignments.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::google::errors::GoogleError;
use crate::google::model::{self, content_etag};
use crate::google::query::{Query, list_response, page};
use crate::google::service::AppState;
use crate::google::state::{Caller, GoogleState};

type ApiResult = Result<Response, GoogleError>;

pub(crate) fn routes() -> Router<AppState> {
    let l = "/apps/licensing/v1/product/{productId}";
    Router::new()
        .route(
            &format!("{l}/sku/{{skuId}}/user/{{userId}}"),
            get(get_assignment).delete(delete_assignment),
        )
        .route(&format!("{l}/sku/{{skuId}}/user"), post(insert_assignment))
        .route(&format!("{l}/users"), get(list_for_product))
        .route(
            &format!("{l}/sku/{{skuId}}/users"),
            get(list_for_product_and_sku),
        )
}

fn render(state: &GoogleState, user: usize, license: usize) -> Value {
    let u = &state.users[user];
    let l = &u.licenses[license];
    let (product_name, sku_name) =
        model::sku_names(&l.product_id, &l.sku_id).unwrap_or((&l.product_id, &l.sku_id));
    json!({
        "kind": "licensing#licenseAssignment",
        "etags": content_etag(&format!("license/{}/{}/{}", u.id, l.product_id, l.sku_id)),
        "selfLink": format!(
            "{}/apps/licensing/v1/product/{}/sku/{}/user/{}",
            state.base_url, l.product_id, l.sku_id, u.primary_email
        ),
        "userId": u.primary_email,
        "productId": l.product_id,
        "skuId": l.sku_id,
        "skuName": sku_name,
        "productName": product_name,
    })
}

/// Resolves `userId` and the assignment. Licensing documents `userId` as the user's current
/// primary e-mail address: a numeric user id or an alias names nobody, and, like a user
/// without the licence, answers 404 "User does not have a license …" (so a client that sends
/// the id sees every licence as absent).
fn resolve(
    state: &GoogleState,
    product_id: &str,
    sku_id: &str,
    user_id: &str,
) -> Result<(usize, usize), GoogleError> {
    let user = state
        .users
        .iter()
        .position(|u| u.primary_email.eq_ignore_ascii_case(user_id))
        .ok_or_else(GoogleError::license_not_found)?;
    let license = state
        .find_license(user, product_id, sku_id)
        .ok_or_else(GoogleError::license_not_found)?;
    Ok((user, license))
}

/// `licenseAssignments.get`.
async fn get_assignment(
    State(app): State<AppState>,
    Path((product_id, sku_id, user_id)): Path<(String, String, String)>,
) -> ApiResult {
    let state = app.domain();
    let (user, license) = resolve(&state, &product_id, &sku_id, &user_id)?;
    Ok(Json(render(&state, user, license)).into_response())
}

/// `licenseAssignments.delete`: 200 with an empty object; 404 when the
/// licence is not (or no longer) assigned; 412 `conditionNotMet` when the
/// user's OU assigns it automatically.
/// `licenseAssignments.insert` (`POST …/sku/{skuId}/user` with `{"userId"}`): the assignment.
async fn insert_assignment(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((product_id, sku_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    let body: Value =
        serde_json::from_slice(&body).map_err(|_| GoogleError::required_parameter("userId"))?;
    let user_id = body["userId"]
        .as_str()
        .ok_or_else(|| GoogleError::required_parameter("userId"))?
        .to_owned();
    let mut state = app.domain();
    let user = state
        .find_user(&user_id)
        .ok_or_else(|| GoogleError::not_found("userId"))?;
    state.insert_license(user, &product_id, &sku_id, &caller)?;
    let license = state.find_license(user, &product_id, &sku_id).unwrap_or(0);
    Ok(Json(render(&state, user, license)).into_response())
}

async fn delete_assignment(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((product_id, sku_id, user_id)): Path<(String, String, String)>,
) -> ApiResult {
    let mut state = app.domain();
    let (user, _) = resolve(&state, &product_id, &sku_id, &user_id)?;
    state.delete_license(user, &product_id, &sku_id, &caller)?;
    Ok(Json(json!({})).into_response())
}

fn list(app: &AppState, product_id: &str, sku_id: Option<&str>, raw: Option<String>) -> ApiResult {
    let query = Query::parse(raw);
    let customer = query
        .get("customerId")
        .ok_or_else(|| GoogleError::required_parameter("customerId"))?
        .to_owned();
    let max = query.max_results(100, 1000, false)?;
    let state = app.domain();
    if customer != state.customer_id && !customer.eq_ignore_ascii_case(&state.domain) {
        return Err(GoogleError::not_authorized());
    }
    let mut keyed: Vec<(u64, (usize, usize))> = Vec::new();
    for (u, user) in state.users.iter().enumerate() {
        for (l, license) in user.licenses.iter().enumerate() {
            if license.product_id == product_id && sku_id.is_none_or(|s| license.sku_id == s) {
                keyed.push((license.seq, (u, l)));
            }
        }
    }
    keyed.sort_by_key(|(seq, _)| *seq);
    let context = format!("licenses/{product_id}/{}", sku_id.unwrap_or("*"));
    let (items, next) = page(&keyed, query.get("pageToken"), &context, max)?;
    let items = items
        .into_iter()
        .map(|(u, l)| render(&state, u, l))
        .collect();
    Ok(Json(list_response(
        "licensing#licenseAssignmentList",
        "items",
        items,
        next,
    ))
    .into_response())
}

/// `licenseAssignments.listForProduct` (`customerId` required,
/// `maxResults` ≤ 1000, default 100).
async fn list_for_product(
    State(app): State<AppState>,
    Path(product_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    list(&app, &product_id, None, raw)
}

/// `licenseAssignments.listForProductAndSku`.
async fn list_for_product_and_sku(
    State(app): State<AppState>,
    Path((product_id, sku_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    list(&app, &product_id, Some(&sku_id), raw)
}
