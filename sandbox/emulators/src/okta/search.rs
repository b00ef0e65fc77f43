//! Which users a `GET /api/v1/users` request selects. Okta offers three
//! query styles with different rules, reproduced here:
//!
//! - `search`: most attributes, operators `eq sw co gt ge lt le pr` (no
//!   `ne`; `co` only on first/last name, email and login), string values
//!   compared case-insensitively, includes DEPROVISIONED users;
//! - `filter`: only `status`, `lastUpdated`, `id`, `profile.login`,
//!   `profile.email`, `profile.firstName`, `profile.lastName`, only `eq`
//!   (plus ordering operators on `lastUpdated`), no `not`, case-sensitive,
//!   includes DEPROVISIONED users;
//! - `q`: prefix match on first name, last name or email, omits
//!   DEPROVISIONED users, default limit 10, no pagination;
//! - none of these: every user except DEPROVISIONED ones.

use crate::common::clock;
use crate::common::scim_filter::{self, Expr, Op};
use crate::okta::errors::OktaError;
use crate::okta::model::{UserRecord, UserStatus};
use crate::okta::pagination::Query;

const FILTER_ATTRIBUTES: [&str; 7] = [
    "status",
    "lastUpdated",
    "id",
    "profile.login",
    "profile.email",
    "profile.firstName",
    "profile.lastName",
];

const SEARCH_TOP_LEVEL: [&str; 7] = [
    "id",
    "status",
    "created",
    "activated",
    "statusChanged",
    "lastUpdated",
    "type.id",
];

const CONTAINS_ATTRIBUTES: [&str; 4] = [
    "profile.firstName",
    "profile.lastName",
    "profile.email",
    "profile.login",
];

/// A parsed user query.
#[derive(Clone, Debug)]
pub(crate) enum UserQuery {
    Plain,
    Filter(Expr),
    Search(Expr),
    Q(String),
}

impl UserQuery {
    /// Reads `search`, `filter` or `q` (in that order of precedence).
    pub fn from_query(query: &Query) -> Result<Self, OktaError> {
        if let Some(search) = query.get("search").filter(|s| !s.trim().is_empty()) {
            let expr = scim_filter::parse(search).map_err(|_| OktaError::invalid_search())?;
            validate_search(&expr)?;
            return Ok(Self::Search(expr));
        }
        if let Some(filter) = query.get("filter").filter(|s| !s.trim().is_empty()) {
            let expr = scim_filter::parse(filter).map_err(|_| OktaError::invalid_search())?;
            validate_filter(&expr)?;
            return Ok(Self::Filter(expr));
        }
        if let Some(q) = query.get("q").filter(|s| !s.trim().is_empty()) {
            return Ok(Self::Q(q.trim().to_lowercase()));
        }
        Ok(Self::Plain)
    }

    /// The page size when `limit` is absent.
    pub fn default_limit(&self) -> usize {
        match self {
            Self::Q(_) => 10,
            _ => 200,
        }
    }

    /// Whether results continue on further pages (`q` does not paginate).
    pub fn paginates(&self) -> bool {
        !matches!(self, Self::Q(_))
    }

    /// Whether `user` is selected.
    pub fn matches(&self, user: &UserRecord, user_type_id: &str) -> bool {
        let values = |attr: &str| values(user, user_type_id, attr);
        match self {
            Self::Plain => user.status != UserStatus::Deprovisioned,
            Self::Filter(expr) => expr.matches(&values, false),
            Self::Search(expr) => expr.matches(&values, true),
            Self::Q(prefix) => {
                user.status != UserStatus::Deprovisioned
                    && [&user.first_name, &user.last_name, &user.email]
                        .iter()
                        .any(|v| v.to_lowercase().starts_with(prefix.as_str()))
            }
        }
    }
}

fn validate_filter(expr: &Expr) -> Result<(), OktaError> {
    if expr.uses_not() {
        return Err(OktaError::invalid_search());
    }
    for (attr, op) in expr.comparisons() {
        let ordering = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
        let allowed = FILTER_ATTRIBUTES.contains(&attr)
            && (op == Op::Eq || (ordering && attr == "lastUpdated"));
        if !allowed {
            return Err(OktaError::invalid_search());
        }
    }
    Ok(())
}

fn validate_search(expr: &Expr) -> Result<(), OktaError> {
    for (attr, op) in expr.comparisons() {
        let known = SEARCH_TOP_LEVEL.contains(&attr) || attr.starts_with("profile.");
        let op_ok = match op {
            Op::Ne | Op::Ew => false,
            Op::Co => CONTAINS_ATTRIBUTES.contains(&attr),
            _ => true,
        };
        if !known || !op_ok {
            return Err(OktaError::invalid_search());
        }
    }
    Ok(())
}

/// Attribute values of a user for filter evaluation. Unknown profile
/// attributes have no value (custom attributes are not modelled).
fn values(user: &UserRecord, user_type_id: &str, attr: &str) -> Vec<String> {
    let one = |s: &str| vec![s.to_owned()];
    let time = |t: Option<jiff::Timestamp>| t.map(clock::format_millis).into_iter().collect();
    match attr {
        "id" => one(&user.id),
        "status" => one(user.status.as_str()),
        "created" => time(Some(user.created)),
        "activated" => time(user.activated),
        "statusChanged" => time(user.status_changed),
        "lastUpdated" => time(Some(user.last_updated)),
        "type.id" => one(user_type_id),
        "profile.login" => one(&user.login),
        "profile.email" => one(&user.email),
        "profile.firstName" => one(&user.first_name),
        "profile.lastName" => one(&user.last_name),
        _ => Vec::new(),
    }
}
