//! Wire shapes: org records rendered as Okta's JSON (`User`, `Group`,
//! `OAuth2ScopeConsentGrant`, `OAuth2Client`, `AssignedAppLink`,
//! `UserFactor`, `AppUser`), with absolute `_links` under the emulator's
//! origin.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::common::clock;
use crate::okta::model::{FactorKind, GroupType, UserStatus};
use crate::okta::state::OktaState;

fn ts(t: Timestamp) -> Value {
    Value::String(clock::format_millis(t))
}

fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, ts)
}

/// A `User`. `detailed` adds the status-dependent lifecycle links that
/// `GET /users/{id}` returns; list endpoints carry only `self`.
pub(crate) fn user(org: &OktaState, index: usize, detailed: bool) -> Value {
    let u = &org.users[index];
    let base = org.base_url();
    let self_href = format!("{base}/api/v1/users/{}", u.id);
    let mut links = Map::new();
    if detailed {
        let lifecycle =
            |op: &str| json!({ "href": format!("{self_href}/lifecycle/{op}"), "method": "POST" });
        let ops: &[&str] = match u.status {
            UserStatus::Active => &["suspend", "reset_password", "expire_password", "deactivate"],
            UserStatus::Suspended => &["unsuspend", "deactivate"],
            UserStatus::Deprovisioned => &["activate"],
            UserStatus::Staged => &["activate", "deactivate"],
            UserStatus::Provisioned => &["reactivate", "deactivate"],
            UserStatus::LockedOut => &["unlock", "suspend", "deactivate"],
            UserStatus::Recovery | UserStatus::PasswordExpired => &["suspend", "deactivate"],
        };
        for op in ops {
            links.insert(link_name(op).to_owned(), lifecycle(op));
        }
        links.insert(
            "type".to_owned(),
            json!({ "href": format!("{base}/api/v1/meta/types/user/{}", org.user_type_id()) }),
        );
    }
    links.insert("self".to_owned(), json!({ "href": self_href }));

    json!({
        "id": u.id,
        "status": u.status.as_str(),
        "created": ts(u.created),
        "activated": opt_ts(u.activated),
        "statusChanged": opt_ts(u.status_changed),
        "lastLogin": opt_ts(u.last_login),
        "lastUpdated": ts(u.last_updated),
        "passwordChanged": opt_ts(u.password_changed),
        "transitioningToStatus": u.transitioning.map(UserStatus::as_str),
        "type": { "id": org.user_type_id() },
        "profile": {
            "firstName": u.first_name,
            "lastName": u.last_name,
            "mobilePhone": null,
            "secondEmail": null,
            "login": u.login,
            "email": u.email,
        },
        "credentials": {
            "password": {},
            "emails": [{ "value": u.email, "status": "VERIFIED", "type": "PRIMARY" }],
            "provider": { "type": "OKTA", "name": "OKTA" },
        },
        "_links": links,
    })
}

/// Okta names lifecycle links in camelCase (`resetPassword`).
fn link_name(op: &str) -> &str {
    match op {
        "reset_password" => "resetPassword",
        "expire_password" => "expirePassword",
        other => other,
    }
}

/// A `Group`. APP_GROUPs carry the Active Directory profile attributes and a
/// `source` link to the app they were imported from.
pub(crate) fn group(org: &OktaState, index: usize) -> Value {
    let g = &org.groups[index];
    let base = org.base_url();
    let logo_kind = match g.kind {
        GroupType::AppGroup => "active_directory",
        GroupType::OktaGroup | GroupType::BuiltIn => "okta",
    };
    let mut links = json!({
        "logo": [
            {
                "name": "medium",
                "href": format!("{base}/assets/img/logos/groups/{logo_kind}-medium.png"),
                "type": "image/png",
            },
            {
                "name": "large",
                "href": format!("{base}/assets/img/logos/groups/{logo_kind}-large.png"),
                "type": "image/png",
            },
        ],
        "users": { "href": format!("{base}/api/v1/groups/{}/users", g.id) },
        "apps": { "href": format!("{base}/api/v1/groups/{}/apps", g.id) },
    });
    let (object_class, profile) = match g.kind {
        GroupType::AppGroup => {
            if let (Some(app), Some(map)) = (g.source_app, links.as_object_mut()) {
                map.insert(
                    "source".to_owned(),
                    json!({ "href": format!("{base}/api/v1/apps/{}", org.apps[app].id) }),
                );
            }
            let sam = g.name.replace(' ', "");
            (
                "okta:windows_security_principal",
                json!({
                    "name": g.name,
                    "description": g.description,
                    "groupType": "Security",
                    "samAccountName": sam,
                    "objectSid": format!("S-1-5-21-717838489-685202119-709183397-{}", 1100 + index),
                    "groupScope": "Global",
                    "dn": format!("CN={},OU=Groups,DC=example,DC=com", g.name),
                    "windowsDomainQualifiedName": format!("EXAMPLE\\{sam}"),
                    "externalId": g.id.chars().rev().collect::<String>(),
                }),
            )
        }
        GroupType::OktaGroup | GroupType::BuiltIn => (
            "okta:user_group",
            json!({ "name": g.name, "description": g.description }),
        ),
    };
    json!({
        "id": g.id,
        "created": ts(g.created),
        "lastUpdated": ts(g.last_updated),
        "lastMembershipUpdated": ts(g.last_membership_updated),
        "objectClass": [object_class],
        "type": g.kind.as_str(),
        "profile": profile,
        "_links": links,
    })
}

/// An `OAuth2ScopeConsentGrant` held by `user`.
pub(crate) fn grant(org: &OktaState, user: usize, grant_index: usize) -> Value {
    let u = &org.users[user];
    let g = &u.grants[grant_index];
    let app = &org.apps[g.client];
    let base = org.base_url();
    let self_href = format!("{base}/api/v1/users/{}/grants/{}", u.id, g.id);
    json!({
        "id": g.id,
        "status": "ACTIVE",
        "created": ts(g.created),
        "createdBy": { "id": u.id, "type": "User" },
        "lastUpdated": ts(g.created),
        "issuer": base,
        "clientId": app.id,
        "userId": u.id,
        "scopeId": g.scope_id,
        "source": "END_USER",
        "_links": {
            "app": { "href": format!("{base}/api/v1/apps/{}", app.id), "title": app.label },
            "client": { "href": format!("{base}/oauth2/v1/clients/{}", app.id), "title": app.label },
            "scope": { "href": format!("{base}/api/v1/scopes/{}", g.scope_id), "title": g.scope_id },
            "self": { "href": self_href },
            "revoke": { "href": self_href, "hints": { "allow": ["DELETE"] } },
            "user": { "href": format!("{base}/api/v1/users/{}", u.id), "title": u.display_name() },
        },
    })
}

/// An `OAuth2Client` the user holds grants or tokens for.
pub(crate) fn client(org: &OktaState, user: usize, app: usize) -> Value {
    let u = &org.users[user];
    let a = &org.apps[app];
    let base = org.base_url();
    json!({
        "client_id": a.id,
        "client_name": a.label,
        "client_uri": null,
        "logo_uri": null,
        "_links": {
            "grants": { "href": format!("{base}/api/v1/users/{}/clients/{}/grants", u.id, a.id) },
            "tokens": { "href": format!("{base}/api/v1/users/{}/clients/{}/tokens", u.id, a.id) },
        },
    })
}

/// An `AssignedAppLink` for one of the user's app assignments.
pub(crate) fn app_link(org: &OktaState, user: usize, position: usize) -> Value {
    let u = &org.users[user];
    let assignment = &u.apps[position];
    let a = &org.apps[assignment.app];
    let base = org.base_url();
    json!({
        "id": u.id,
        "label": a.label,
        "linkUrl": format!("{base}/home/{}/{}/{}", a.name, a.id, 40 + position),
        "logoUrl": format!("{base}/img/logos/{}.png", a.name),
        "appName": a.name,
        "appInstanceId": a.id,
        "appAssignmentId": assignment.assignment_id,
        "credentialsSetup": false,
        "hidden": false,
        "sortOrder": position,
    })
}

/// A `UserFactor` (all enrolled factors are `ACTIVE`), shaped like the
/// spec's `ListFactorsResults` example: `self` allows GET and DELETE, `user`
/// links back, and factors that can be challenged carry a `verify` link.
pub(crate) fn factor(org: &OktaState, user: usize, position: usize) -> Value {
    let u = &org.users[user];
    let f = &u.factors[position];
    let base = org.base_url();
    let user_href = format!("{base}/api/v1/users/{}", u.id);
    let self_href = format!("{user_href}/factors/{}", f.id);
    let phone = format!("+1-555-01{:02}", user % 100);
    let profile = match f.kind {
        FactorKind::OktaVerifyPush => json!({
            "credentialId": u.login,
            "deviceType": "SmartPhone_IPhone",
            "name": format!("{}'s iPhone", u.first_name),
            "platform": "IOS",
            "version": "9.0",
        }),
        FactorKind::OktaVerifyTotp | FactorKind::GoogleAuthenticator => {
            json!({ "credentialId": u.login })
        }
        FactorKind::Sms | FactorKind::Call => json!({ "phoneNumber": phone }),
        FactorKind::Email => json!({ "email": u.email }),
        FactorKind::SecurityQuestion => json!({
            "question": "favorite_art_piece",
            "questionText": "What is your favorite piece of art?",
        }),
        FactorKind::WebAuthn => json!({
            "credentialId": f.id.chars().rev().collect::<String>(),
            "authenticatorName": "Touch ID",
        }),
    };
    let mut links = Map::new();
    if f.kind != FactorKind::SecurityQuestion {
        links.insert(
            "verify".to_owned(),
            json!({ "href": format!("{self_href}/verify"), "hints": { "allow": ["POST"] } }),
        );
    } else {
        links.insert(
            "questions".to_owned(),
            json!({ "href": format!("{user_href}/factors/questions"), "hints": { "allow": ["GET"] } }),
        );
    }
    links.insert(
        "self".to_owned(),
        json!({ "href": self_href, "hints": { "allow": ["GET", "DELETE"] } }),
    );
    links.insert(
        "user".to_owned(),
        json!({ "href": user_href, "hints": { "allow": ["GET"] } }),
    );
    json!({
        "id": f.id,
        "factorType": f.kind.factor_type(),
        "provider": f.kind.provider(),
        "vendorName": f.kind.provider(),
        "status": "ACTIVE",
        "created": ts(f.created),
        "lastUpdated": ts(f.last_updated),
        "profile": profile,
        "_links": links,
    })
}

/// An `AppUser`: the user's assignment to an app, with `scope` `USER` for
/// direct assignments and `GROUP` (plus a `group` link) for assignments
/// held through a group. The emulated apps have no provisioning, so the
/// status is `ACTIVE` and `syncState` `DISABLED`.
pub(crate) fn app_user(org: &OktaState, user: usize, position: usize) -> Value {
    let u = &org.users[user];
    let assignment = &u.apps[position];
    let a = &org.apps[assignment.app];
    let given = assignment.given.as_ref();
    let base = org.base_url();
    let mut links = Map::new();
    links.insert(
        "app".to_owned(),
        json!({ "href": format!("{base}/api/v1/apps/{}", a.id) }),
    );
    if let Some(g) = assignment.source_group {
        links.insert(
            "group".to_owned(),
            json!({
                "name": org.groups[g].name,
                "href": format!("{base}/api/v1/groups/{}", org.groups[g].id),
            }),
        );
    }
    links.insert(
        "user".to_owned(),
        json!({ "href": format!("{base}/api/v1/users/{}", u.id) }),
    );
    json!({
        "id": u.id,
        "externalId": null,
        "created": ts(assignment.created),
        "lastUpdated": ts(assignment.created),
        "scope": assignment.scope().as_str(),
        "status": "ACTIVE",
        "statusChanged": ts(assignment.created),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "lastSync": null,
        "credentials": { "userName": given.and_then(|g| g.user_name.clone()).unwrap_or_else(|| u.login.clone()) },
        "profile": given.and_then(|g| g.profile.clone()).map_or_else(
            || json!({"email": u.email, "firstName": u.first_name, "lastName": u.last_name}),
            Value::Object,
        ),
        "_links": links,
    })
}
