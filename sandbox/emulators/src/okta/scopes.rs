//! The OAuth scope each emulated operation needs, copied from the
//! `security` block of the operation in Okta's management spec
//! (`oauth2: [okta.users.read]` and so on). `SSWS` API tokens are not
//! scope-checked; OAuth access tokens must carry the scope (or the matching
//! `*.manage` scope for a `*.read` one).

use axum::http::Method;

pub const USERS_READ: &str = "okta.users.read";
pub const USERS_MANAGE: &str = "okta.users.manage";
pub const GROUPS_READ: &str = "okta.groups.read";
pub const GROUPS_MANAGE: &str = "okta.groups.manage";
pub const APPS_READ: &str = "okta.apps.read";
pub const APPS_MANAGE: &str = "okta.apps.manage";
pub const LOGS_READ: &str = "okta.logs.read";
pub const ROLES_READ: &str = "okta.roles.read";
pub const ROLES_MANAGE: &str = "okta.roles.manage";

/// (method, route template, scope). Templates are the router's, which name
/// every user segment `{id}`.
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/users", USERS_READ),
    ("GET", "/api/v1/users/{id}", USERS_READ),
    ("GET", "/api/v1/users/{id}/groups", USERS_READ),
    ("GET", "/api/v1/users/{id}/appLinks", USERS_READ),
    ("GET", "/api/v1/users/{id}/clients", USERS_READ),
    (
        "GET",
        "/api/v1/users/{id}/clients/{clientId}/tokens",
        USERS_READ,
    ),
    (
        "DELETE",
        "/api/v1/users/{id}/clients/{clientId}/tokens",
        USERS_MANAGE,
    ),
    ("GET", "/api/v1/users/{id}/grants", USERS_READ),
    ("DELETE", "/api/v1/users/{id}/grants", USERS_MANAGE),
    ("DELETE", "/api/v1/users/{id}/sessions", USERS_MANAGE),
    ("POST", "/api/v1/users/{id}/lifecycle/suspend", USERS_MANAGE),
    (
        "POST",
        "/api/v1/users/{id}/lifecycle/unsuspend",
        USERS_MANAGE,
    ),
    (
        "POST",
        "/api/v1/users/{id}/lifecycle/deactivate",
        USERS_MANAGE,
    ),
    (
        "POST",
        "/api/v1/users/{id}/lifecycle/reset_factors",
        USERS_MANAGE,
    ),
    ("GET", "/api/v1/users/{id}/factors", USERS_READ),
    ("GET", "/api/v1/users/{id}/factors/{factorId}", USERS_READ),
    (
        "DELETE",
        "/api/v1/users/{id}/factors/{factorId}",
        USERS_MANAGE,
    ),
    ("GET", "/api/v1/groups", GROUPS_READ),
    ("GET", "/api/v1/groups/{groupId}", GROUPS_READ),
    ("GET", "/api/v1/groups/{groupId}/users", GROUPS_READ),
    (
        "PUT",
        "/api/v1/groups/{groupId}/users/{userId}",
        GROUPS_MANAGE,
    ),
    (
        "DELETE",
        "/api/v1/groups/{groupId}/users/{userId}",
        GROUPS_MANAGE,
    ),
    ("POST", "/api/v1/apps/{appId}/users", APPS_MANAGE),
    ("GET", "/api/v1/apps/{appId}/users/{userId}", APPS_READ),
    ("DELETE", "/api/v1/apps/{appId}/users/{userId}", APPS_MANAGE),
    ("GET", "/api/v1/logs", LOGS_READ),
    ("GET", "/api/v1/users/{id}/roles", ROLES_READ),
    (
        "DELETE",
        "/api/v1/users/{id}/roles/{roleAssignmentId}",
        ROLES_MANAGE,
    ),
];

/// The scope an OAuth token needs for `method` on route `template`; `None`
/// for unknown paths and unsupported methods, which answer 404/405 anyway.
pub(crate) fn required(method: &Method, template: &str) -> Option<&'static str> {
    let method = if *method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    OPERATIONS
        .iter()
        .find(|(m, t, _)| *m == method && *t == template)
        .map(|(_, _, scope)| *scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_need_their_own_scopes() {
        assert_eq!(
            required(&Method::GET, "/api/v1/users/{id}"),
            Some(USERS_READ)
        );
        assert_eq!(
            required(&Method::DELETE, "/api/v1/apps/{appId}/users/{userId}"),
            Some(APPS_MANAGE)
        );
        assert_eq!(required(&Method::POST, "/api/v1/groups"), None);
        assert_eq!(required(&Method::GET, "<unmatched>"), None);
    }
}
