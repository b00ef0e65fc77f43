//! Outlook endpoints on Graph: `mailboxSettings` (automatic replies,
//! `userPurpose`) and inbox rules (paged: a mailbox can hold many).
//!
//! Every call needs a reachable mailbox: a user mailbox whose owner lost all
//! Exchange licences answers 404 `MailboxNotEnabledForRESTAPI`, which is how
//! the "licence removed before conversion" trap shows on Graph. Rule names
//! are not unique, exactly as in Exchange: POSTing the same rule twice makes
//! two rules.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::{Caller, RequestCtx};
use crate::microsoft::model::{AutoReplyRecord, RuleRecord};
use crate::microsoft::odata::Query;
use crate::microsoft::render;
use crate::microsoft::routes::{ApiResult, collection, entity, json_object, perms};
use crate::microsoft::service::AppState;
use crate::microsoft::state::TenantState;

fn need_mail(caller: &Caller, roles: &[&str]) -> Result<(), GraphError> {
    if caller.has_any(roles) {
        Ok(())
    } else {
        Err(GraphError::outlook_denied())
    }
}

/// The mailbox owner, with a reachable mailbox.
fn mailbox_user(state: &TenantState, id: &str) -> Result<usize, GraphError> {
    let user = state
        .find_user(id)
        .ok_or_else(|| GraphError::outlook_invalid_user(id))?;
    if !state.mailbox_accessible(user) {
        return Err(GraphError::mailbox_not_enabled());
    }
    Ok(user)
}

fn invalid_literal(value: &Value, ty: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "RequestBodyRead",
        format!(
            "Cannot convert the literal '{}' to the expected type '{ty}'.",
            literal(value)
        ),
    )
}

fn literal(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn no_such_property(key: &str, ty: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "RequestBodyRead",
        format!(
            "The property '{key}' does not exist on type '{ty}'. Make sure to only use property names that are defined by the type or mark the type as open type."
        ),
    )
}

// ----- mailboxSettings -----------------------------------------------------------

pub(crate) async fn get_settings(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need_mail(&caller, perms::MAILBOX_READ)?;
    let q = Query::parse(raw);
    let select = q.select();
    let state = app.tenant();
    let user = mailbox_user(&state, &id)?;
    let u = &state.users[user];
    let Some(mb) = u.mailbox.as_ref() else {
        return Err(GraphError::mailbox_not_enabled());
    };
    let purpose = state.graph_purpose(user).unwrap_or(mb.purpose);
    let props = render::mailbox_settings(mb, purpose, &select)?;
    let context = if select.is_empty() {
        format!(
            "{}/v1.0/$metadata#users('{}')/mailboxSettings",
            app.shared.base_url, u.id
        )
    } else {
        format!(
            "{}/v1.0/$metadata#users('{}')/mailboxSettings({})",
            app.shared.base_url,
            u.id,
            select.join(",")
        )
    };
    Ok(Json(Value::Object(entity(context, props))).into_response())
}

/// `PATCH /users/{id}/mailboxSettings`: merges `automaticRepliesSetting`
/// and `timeZone`; answers 200 with the properties it was sent.
pub(crate) async fn patch_settings(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    need_mail(&caller, perms::MAILBOX_WRITE)?;
    let map = json_object(&body)?;
    let mut state = app.tenant();
    let user = mailbox_user(&state, &id)?;
    let Some(current) = state.users[user]
        .mailbox
        .as_ref()
        .map(|m| m.auto_reply.clone())
    else {
        return Err(GraphError::mailbox_not_enabled());
    };
    let mut next_auto = None;
    let mut time_zone = None;
    for (key, value) in &map {
        match key.as_str() {
            "automaticRepliesSetting" => {
                next_auto = Some(merge_auto_reply(&current, value)?);
            }
            "timeZone" => {
                time_zone = Some(
                    value
                        .as_str()
                        .ok_or_else(|| invalid_literal(value, "Edm.String"))?
                        .to_owned(),
                );
            }
            "userPurpose" => {
                return Err(GraphError::outlook_invalid(
                    "The property 'userPurpose' is read-only and cannot be set.",
                ));
            }
            "archiveFolder"
            | "language"
            | "workingHours"
            | "dateFormat"
            | "timeFormat"
            | "delegateMeetingMessageDeliveryOptions"
            | "@odata.context" => {}
            other => return Err(no_such_property(other, "microsoft.graph.mailboxSettings")),
        }
    }
    let actor = caller.actor(&ctx);
    if let Some(next) = next_auto {
        state.set_auto_reply(user, next, &actor);
    }
    if let Some(tz) = time_zone {
        state.set_time_zone(user, tz);
    }
    let u = &state.users[user];
    let Some(mb) = u.mailbox.as_ref() else {
        return Err(GraphError::mailbox_not_enabled());
    };
    let sent: Vec<String> = map
        .keys()
        .filter(|k| !k.starts_with('@'))
        .cloned()
        .collect();
    let purpose = state.graph_purpose(user).unwrap_or(mb.purpose);
    let props = render::mailbox_settings(mb, purpose, &sent)?;
    let context = format!(
        "{}/v1.0/$metadata#users('{}')/mailboxSettings",
        app.shared.base_url, u.id
    );
    Ok(Json(Value::Object(entity(context, props))).into_response())
}

fn merge_auto_reply(
    current: &AutoReplyRecord,
    patch: &Value,
) -> Result<AutoReplyRecord, GraphError> {
    let Value::Object(fields) = patch else {
        return Err(invalid_literal(
            patch,
            "microsoft.graph.automaticRepliesSetting",
        ));
    };
    let mut next = current.clone();
    for (key, value) in fields {
        match key.as_str() {
            "status" => {
                let s = value.as_str().unwrap_or_default();
                if !["disabled", "alwaysEnabled", "scheduled"].contains(&s) {
                    return Err(invalid_literal(
                        value,
                        "microsoft.graph.automaticRepliesStatus",
                    ));
                }
                next.status = s.to_owned();
            }
            "externalAudience" => {
                let s = value.as_str().unwrap_or_default();
                if !["none", "contactsOnly", "all"].contains(&s) {
                    return Err(invalid_literal(
                        value,
                        "microsoft.graph.externalAudienceScope",
                    ));
                }
                next.external_audience = s.to_owned();
            }
            "internalReplyMessage" | "externalReplyMessage" => {
                let s = match value {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => return Err(invalid_literal(other, "Edm.String")),
                };
                if key == "internalReplyMessage" {
                    next.internal_message = s;
                } else {
                    next.external_message = s;
                }
            }
            "scheduledStartDateTime" | "scheduledEndDateTime" => {
                let ok = value.get("dateTime").and_then(Value::as_str).is_some();
                if !ok {
                    return Err(invalid_literal(value, "microsoft.graph.dateTimeTimeZone"));
                }
                if key == "scheduledStartDateTime" {
                    next.scheduled_start = value.clone();
                } else {
                    next.scheduled_end = value.clone();
                }
            }
            "@odata.type" => {}
            other => {
                return Err(no_such_property(
                    other,
                    "microsoft.graph.automaticRepliesSetting",
                ));
            }
        }
    }
    Ok(next)
}

// ----- inbox rules ----------------------------------------------------------------------

const RULE_ACTIONS: &[&str] = &[
    "assignCategories",
    "copyToFolder",
    "delete",
    "forwardAsAttachmentTo",
    "forwardTo",
    "markAsRead",
    "markImportance",
    "moveToFolder",
    "permanentDelete",
    "redirectTo",
    "stopProcessingRules",
];

fn check_folder(folder: &str) -> Result<(), GraphError> {
    if folder.eq_ignore_ascii_case("inbox") {
        Ok(())
    } else {
        Err(GraphError::outlook_item_not_found())
    }
}

fn rules_context(base: &str, user_id: &str) -> String {
    format!("{base}/v1.0/$metadata#users('{user_id}')/mailFolders('inbox')/messageRules")
}

fn validate_actions(actions: &Value) -> Result<(), GraphError> {
    let Value::Object(map) = actions else {
        return Err(invalid_literal(
            actions,
            "microsoft.graph.messageRuleActions",
        ));
    };
    for (key, value) in map {
        if !RULE_ACTIONS.contains(&key.as_str()) {
            return Err(no_such_property(key, "microsoft.graph.messageRuleActions"));
        }
        if ["forwardTo", "redirectTo", "forwardAsAttachmentTo"].contains(&key.as_str()) {
            let ok = value.as_array().is_some_and(|list| {
                list.iter().all(|r| {
                    r.pointer("/emailAddress/address")
                        .and_then(Value::as_str)
                        .is_some_and(|a| a.contains('@'))
                })
            });
            if !ok {
                return Err(GraphError::outlook_invalid(format!(
                    "The value of '{key}' must be a list of recipients with an e-mail address."
                )));
            }
        }
    }
    Ok(())
}

/// Applies rule fields from a request body onto `rule`.
fn apply_rule_fields(rule: &mut RuleRecord, map: &Map<String, Value>) -> Result<(), GraphError> {
    for (key, value) in map {
        match key.as_str() {
            "displayName" => {
                rule.display_name = value
                    .as_str()
                    .ok_or_else(|| invalid_literal(value, "Edm.String"))?
                    .to_owned();
            }
            "sequence" => {
                rule.sequence = value
                    .as_i64()
                    .ok_or_else(|| invalid_literal(value, "Edm.Int32"))?;
            }
            "isEnabled" => {
                rule.is_enabled = value
                    .as_bool()
                    .ok_or_else(|| invalid_literal(value, "Edm.Boolean"))?;
            }
            "actions" => {
                validate_actions(value)?;
                rule.actions = value.clone();
            }
            "conditions" => rule.conditions = value.clone(),
            "exceptions" => rule.exceptions = value.clone(),
            "id" | "hasError" | "isReadOnly" | "@odata.type" | "@odata.context" => {}
            other => return Err(no_such_property(other, "microsoft.graph.messageRule")),
        }
    }
    Ok(())
}

/// `GET …/messageRules`: `$top` rules a page (default [`RULES_PAGE`]), the rest behind
/// `@odata.nextLink`; while the mail-paging knob is on, one a page and every page after the
/// first a 500.
pub(crate) async fn list_rules(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, folder)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need_mail(&caller, perms::MAILBOX_READ)?;
    let q = Query::parse(raw);
    let state = app.tenant();
    let user = mailbox_user(&state, &id)?;
    check_folder(&folder)?;
    let u = &state.users[user];
    let all: Vec<Value> = u
        .mailbox
        .as_ref()
        .map(|mb| mb.rules.iter().map(render::rule).collect())
        .unwrap_or_default();
    let path = format!("/v1.0/users/{id}/mailFolders/{folder}/messageRules");
    let (next, page) = mail_page(&state, &q, &app.shared.base_url, &path, all, RULES_PAGE)?;
    Ok(collection(
        rules_context(&app.shared.base_url, &u.id),
        next,
        page,
    ))
}

/// The page size of an inbox-rule list when the caller names none.
pub(crate) const RULES_PAGE: usize = 10;

/// One page of a mailbox list (inbox rules, calendar permissions) and the link to the next;
/// the mail-paging knob makes it one a page and fails every page after the first.
pub(crate) fn mail_page(
    state: &TenantState,
    q: &Query,
    base: &str,
    path: &str,
    all: Vec<Value>,
    default_top: usize,
) -> Result<(Option<String>, Vec<Value>), GraphError> {
    let after = q.skiptoken()?.unwrap_or(0);
    let top = if state.sweep.fail_mail_pages {
        if after > 0 {
            return Err(GraphError::server(500));
        }
        1
    } else {
        q.top(default_top)?
    };
    Ok(q.page_of(all, after, top, base, path))
}

/// `POST …/messageRules`: 201 with the rule. `displayName` is required;
/// `sequence` defaults to after the last rule, `isEnabled` to true.
pub(crate) async fn create_rule(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path((id, folder)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    need_mail(&caller, perms::MAILBOX_WRITE)?;
    let map = json_object(&body)?;
    let mut state = app.tenant();
    let user = mailbox_user(&state, &id)?;
    check_folder(&folder)?;
    let next_sequence = state.users[user]
        .mailbox
        .as_ref()
        .and_then(|mb| mb.rules.iter().map(|r| r.sequence).max())
        .unwrap_or(0)
        + 1;
    let mut rule = RuleRecord {
        id: String::new(),
        display_name: String::new(),
        sequence: next_sequence,
        is_enabled: true,
        conditions: json!({}),
        actions: json!({}),
        exceptions: json!({}),
    };
    apply_rule_fields(&mut rule, &map)?;
    if rule.display_name.trim().is_empty() {
        return Err(GraphError::outlook_invalid(
            "The rule's displayName must be specified.",
        ));
    }
    let created = state.create_rule(user, rule, &caller.actor(&ctx));
    let mut body = Map::new();
    body.insert(
        "@odata.context".to_owned(),
        json!(format!(
            "{}/$entity",
            rules_context(&app.shared.base_url, &state.users[user].id)
        )),
    );
    if let Value::Object(obj) = render::rule(&created) {
        body.extend(obj);
    }
    Ok((StatusCode::CREATED, Json(Value::Object(body))).into_response())
}

fn find_rule(state: &TenantState, user: usize, rule_id: &str) -> Result<RuleRecord, GraphError> {
    state.users[user]
        .mailbox
        .as_ref()
        .and_then(|mb| mb.rules.iter().find(|r| r.id == rule_id))
        .cloned()
        .ok_or_else(GraphError::outlook_item_not_found)
}

fn rule_response(base: &str, user_id: &str, rule: &RuleRecord) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".to_owned(),
        json!(format!("{}/$entity", rules_context(base, user_id))),
    );
    if let Value::Object(obj) = render::rule(rule) {
        body.extend(obj);
    }
    Json(Value::Object(body)).into_response()
}

pub(crate) async fn get_rule(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, folder, rule_id)): Path<(String, String, String)>,
) -> ApiResult {
    need_mail(&caller, perms::MAILBOX_READ)?;
    let state = app.tenant();
    let user = mailbox_user(&state, &id)?;
    check_folder(&folder)?;
    let rule = find_rule(&state, user, &rule_id)?;
    Ok(rule_response(
        &app.shared.base_url,
        &state.users[user].id,
        &rule,
    ))
}

pub(crate) async fn patch_rule(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path((id, folder, rule_id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    need_mail(&caller, perms::MAILBOX_WRITE)?;
    let map = json_object(&body)?;
    let mut state = app.tenant();
    let user = mailbox_user(&state, &id)?;
    check_folder(&folder)?;
    let mut rule = find_rule(&state, user, &rule_id)?;
    apply_rule_fields(&mut rule, &map)?;
    state.update_rule(user, rule, &caller.actor(&ctx));
    let rule = find_rule(&state, user, &rule_id)?;
    Ok(rule_response(
        &app.shared.base_url,
        &state.users[user].id,
        &rule,
    ))
}

pub(crate) async fn delete_rule(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path((id, folder, rule_id)): Path<(String, String, String)>,
) -> ApiResult {
    need_mail(&caller, perms::MAILBOX_WRITE)?;
    let mut state = app.tenant();
    let user = mailbox_user(&state, &id)?;
    check_folder(&folder)?;
    if !state.delete_rule(user, &rule_id, &caller.actor(&ctx)) {
        return Err(GraphError::outlook_item_not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
