//! Sensitive actions on administrators: the directory role an app needs besides its Graph
//! permission.
//!
//! Graph's "Who can perform sensitive actions" table: disabling a user, invalidating their
//! sessions or changing their authentication methods is open to an app with the Graph
//! permission only while the target holds no administrator role. A target with a lesser
//! administrator role (Helpdesk, User or Groups Administrator, Directory Readers) can be acted
//! on by a User Administrator; any other role (Global Administrator, Privileged
//! Authentication Administrator, Exchange Administrator, …) needs a Privileged Authentication
//! Administrator or a Global Administrator. An app that falls short gets the same 403
//! `Authorization_RequestDenied` ("Insufficient privileges to complete the operation.") a
//! missing permission gets: the answer itself does not say which is missing.

use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::Caller;
use crate::microsoft::token::directory_roles::{
    GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, USER_ADMINISTRATOR,
};

/// Helpdesk Administrator.
const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
/// Groups Administrator.
const GROUPS_ADMINISTRATOR: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
/// Directory Readers.
const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";

/// Roles a User Administrator may still act on.
const WITHIN_USER_ADMINISTRATOR: &[&str] = &[
    USER_ADMINISTRATOR,
    HELPDESK_ADMINISTRATOR,
    GROUPS_ADMINISTRATOR,
    DIRECTORY_READERS,
];

/// Refuses a sensitive directory write (`accountEnabled`, `revokeSignInSessions`) on a target
/// holding `target_roles` unless the caller's directory roles reach it.
pub(crate) fn may_act_on(caller: &Caller, target_roles: &[String]) -> Result<(), GraphError> {
    if reaches(caller, target_roles) {
        Ok(())
    } else {
        Err(GraphError::directory_denied())
    }
}

/// Whether the caller's directory roles reach a target holding `target_roles`.
pub(crate) fn reaches(caller: &Caller, target_roles: &[String]) -> bool {
    let holds = |role: &str| caller.wids.iter().any(|w| w.eq_ignore_ascii_case(role));
    let lesser = |role: &String| {
        WITHIN_USER_ADMINISTRATOR
            .iter()
            .any(|r| r.eq_ignore_ascii_case(role))
    };
    target_roles.is_empty()
        || holds(GLOBAL_ADMINISTRATOR)
        || holds(PRIVILEGED_AUTHENTICATION_ADMINISTRATOR)
        || (holds(USER_ADMINISTRATOR) && target_roles.iter().all(lesser))
}
