//! Administrator role assignments: listed per user, unassigned one by one, and the org's last
//! super administrator kept.

use crate::support;
use passage_sandbox::okta::{DEMO_LEAVER, UNASSIGN_ROLE, demo_seed};
use reqwest::StatusCode;
use serde_json::Value;
use support::{Harness, expect_error};

#[tokio::test]
async fn a_users_admin_roles_are_listed_and_unassigned() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let roles: Value = h
        .get(&format!("/api/v1/users/{id}/roles"))
        .await
        .json()
        .await
        .unwrap();
    let roles = roles.as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["type"], "APP_ADMIN");
    assert_eq!(roles[0]["assignmentType"], "USER");
    let assignment = roles[0]["id"].as_str().unwrap();

    let gone = h
        .delete(&format!("/api/v1/users/{id}/roles/{assignment}"))
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let again = h
        .delete(&format!("/api/v1/users/{id}/roles/{assignment}"))
        .await;
    expect_error(again, 404, "E0000007").await;
    assert!(h.okta.admin_roles(DEMO_LEAVER).is_empty());
    assert_eq!(h.okta.effects_applied(UNASSIGN_ROLE, id), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn the_last_super_administrator_is_kept() {
    let h = Harness::start().await;
    demo_seed(&h.okta);
    let john = h.okta.user("john.smith@example.com").unwrap().id;
    let roles: Value = h
        .get(&format!("/api/v1/users/{john}/roles"))
        .await
        .json()
        .await
        .unwrap();
    let assignment = roles[0]["id"].as_str().unwrap();
    let refused = h
        .delete(&format!("/api/v1/users/{john}/roles/{assignment}"))
        .await;
    expect_error(refused, 403, "E0000006").await;
    assert_eq!(h.okta.admin_roles(&john), vec!["SUPER_ADMIN"]);
    // With a second super administrator, the first may go.
    h.okta.seed_admin_role(DEMO_LEAVER, "SUPER_ADMIN");
    let allowed = h
        .delete(&format!("/api/v1/users/{john}/roles/{assignment}"))
        .await;
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    h.shutdown().await;
}
