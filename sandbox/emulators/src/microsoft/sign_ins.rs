//! Entra sign-in logs: `GET /auditLogs/signIns` (Graph v1.0), newest first, with `$filter` on
//! `userId`, `userPrincipalName` (`eq`) and `createdDateTime` (`ge`/`le`), `$top` and
//! `@odata.nextLink` paging. Like Graph it needs `AuditLog.Read.All`, answers a small page
//! unless `$top` asks for more, and shows a sign-in only once its ingestion delay has passed
//! (Entra's logs run minutes behind). `status.errorCode` 0 is a success.
//!
//! Tests put sign-ins there with [`crate::microsoft::MicrosoftEmulator::inject_sign_in`].

use axum::Extension;
use axum::extract::{OriginalUri, RawQuery, State};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::common::clock;
pub use crate::common::sign_in::SignInSpec;
use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::Caller;
use crate::microsoft::odata::{Clause, Query, parse_filter};
use crate::microsoft::routes::{ApiResult, collection, need, perms};
use crate::microsoft::service::AppState;
use crate::microsoft::state::TenantState;

/// Entries per page when `$top` is not given: small, so clients must follow the next link.
pub const DEFAULT_PAGE: usize = 5;

/// One stored sign-in.
#[derive(Clone, Debug)]
pub(crate) struct SignInRecord {
    pub seq: u64,
    pub visible_from: Timestamp,
    pub at: Timestamp,
    pub user_id: String,
    pub upn: String,
    pub body: Value,
}

impl TenantState {
    /// Records `spec` for the user at index `user`; returns the entry's id and correlation id.
    pub(crate) fn record_sign_in(&mut self, user: usize, spec: &SignInSpec) -> (String, String) {
        let u = &self.users[user];
        let id = uuid::Uuid::new_v4().to_string();
        let correlation = uuid::Uuid::new_v4().to_string();
        let app = spec.app.clone().unwrap_or_else(|| "Microsoft 365".into());
        let (code, reason) = if spec.success {
            (0, "")
        } else {
            (
                50126,
                "Error validating credentials due to invalid username or password.",
            )
        };
        let body = json!({
            "id": id,
            "createdDateTime": clock::format_millis(spec.at_ms()),
            "userDisplayName": u.display_name,
            "userPrincipalName": u.upn,
            "userId": u.id,
            "appId": "00000002-0000-0ff1-ce00-000000000000",
            "appDisplayName": app,
            "ipAddress": spec.ip,
            "clientAppUsed": "Browser",
            "correlationId": correlation,
            "conditionalAccessStatus": "notApplied",
            "isInteractive": true,
            "status": {"errorCode": code, "failureReason": reason, "additionalDetails": null},
        });
        let record = SignInRecord {
            seq: self.sign_ins.len() as u64 + 1,
            visible_from: spec.visible_from(),
            at: spec.at_ms(),
            user_id: u.id.clone(),
            upn: u.upn.clone(),
            body,
        };
        self.sign_ins.push(record);
        (id, correlation)
    }
}

/// `GET /auditLogs/signIns`.
pub(crate) async fn list_sign_ins(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, perms::AUDIT_READ)?;
    let q = Query::parse(raw);
    let top = q.top(DEFAULT_PAGE)?;
    let before = q.skiptoken()?;
    let clauses = match q.get("$filter") {
        Some(f) => parse_filter(f)?,
        None => Vec::new(),
    };
    let now = app.shared.knobs.timeline().now_ms();
    let state = app.tenant();
    let mut matching = Vec::new();
    for r in state.sign_ins.iter().rev() {
        if r.visible_from > now || before.is_some_and(|b| r.seq >= b) {
            continue;
        }
        if keep(r, &clauses)? {
            matching.push(r);
        }
    }
    // Newest first, as Graph lists them.
    matching.sort_by(|a, b| b.at.cmp(&a.at).then(b.seq.cmp(&a.seq)));
    let page: Vec<_> = matching.iter().take(top).collect();
    let next = (matching.len() > page.len())
        .then(|| {
            page.last()
                .map(|r| q.next_link(&app.shared.base_url, uri.path(), r.seq))
        })
        .flatten();
    let value = page.iter().map(|r| r.body.clone()).collect();
    Ok(collection(
        format!("{}/v1.0/$metadata#auditLogs/signIns", app.shared.base_url),
        next,
        value,
    ))
}

/// Whether `r` passes every clause; a clause Graph would refuse is refused.
fn keep(r: &SignInRecord, clauses: &[Clause]) -> Result<bool, GraphError> {
    for clause in clauses {
        let ok = match clause {
            Clause::Eq(p, v) if p == "userId" => r.user_id.eq_ignore_ascii_case(v),
            Clause::Eq(p, v) if p == "userPrincipalName" => r.upn.eq_ignore_ascii_case(v),
            Clause::Ge(p, v) | Clause::Le(p, v) if p == "createdDateTime" => {
                let bound = clock::parse(v)
                    .ok_or_else(|| GraphError::bad_request("Invalid filter clause"))?;
                if matches!(clause, Clause::Ge(..)) {
                    r.at >= bound
                } else {
                    r.at <= bound
                }
            }
            _ => return Err(GraphError::bad_request("Invalid filter clause")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
