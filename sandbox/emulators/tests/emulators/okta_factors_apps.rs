//! MFA factors and app assignments on the Okta emulator: listing, unenrolling
//! and resetting factors (and why a deactivated user's factors are out of
//! reach), reading `AppUser`s, unassigning direct assignments (and assigning them again), refusing
//! group-sourced ones, and the System Log evidence of each real change.

use crate::support;
use passage_sandbox::okta::{
    AssignmentScope, DEMO_LEAVER, FactorKind, SeedGroupApp, SeedUser, UserStatus, demo_seed,
    event_type,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Harness, encode_login, expect_error};

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn app_link_labels(h: &Harness, user: &str) -> Vec<String> {
    let links = json_of(h.get(&format!("/api/v1/users/{user}/appLinks")).await).await;
    links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn demo_leaver_has_push_and_sms_factors() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();

    let factors = json_of(h.get(&format!("/api/v1/users/{id}/factors")).await).await;
    let factors = factors.as_array().unwrap();
    let types: Vec<&str> = factors
        .iter()
        .map(|f| f["factorType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["push", "sms"]);
    for f in factors {
        assert_eq!(f["provider"], "OKTA");
        assert_eq!(f["vendorName"], "OKTA");
        assert_eq!(f["status"], "ACTIVE");
        assert!(f["created"].as_str().unwrap().ends_with('Z'));
        assert!(f["lastUpdated"].is_string());
        let fid = f["id"].as_str().unwrap();
        assert_eq!(fid.len(), 20);
        let self_link = &f["_links"]["self"];
        assert!(
            self_link["href"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/api/v1/users/{id}/factors/{fid}"))
        );
        assert_eq!(self_link["hints"]["allow"], json!(["GET", "DELETE"]));
        assert!(
            f["_links"]["user"]["href"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/api/v1/users/{id}"))
        );
    }
    assert!(factors[0]["id"].as_str().unwrap().starts_with("opf"));
    assert_eq!(factors[0]["profile"]["credentialId"], DEMO_LEAVER);
    assert!(
        factors[1]["profile"]["phoneNumber"]
            .as_str()
            .unwrap()
            .starts_with("+1-555-")
    );

    let one = json_of(
        h.get(&format!(
            "/api/v1/users/{id}/factors/{}",
            factors[1]["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(one, factors[1]);

    let view = h.okta.factors(DEMO_LEAVER).unwrap();
    assert_eq!(
        view.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [FactorKind::OktaVerifyPush, FactorKind::Sms]
    );
    // `{userId}` takes ids only; colleagues without factors list none.
    let by_login = h
        .get(&format!(
            "/api/v1/users/{}/factors",
            encode_login(DEMO_LEAVER)
        ))
        .await;
    expect_error(by_login, 404, "E0000007").await;
    let john = h.okta.user("john.smith@example.com").unwrap();
    let none = json_of(h.get(&format!("/api/v1/users/{}/factors", john.id)).await).await;
    assert_eq!(none, json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn unenrolling_a_factor_applies_once_then_404() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let sms = h.okta.factors(id).unwrap()[1].id.clone();
    let path = format!("/api/v1/users/{id}/factors/{sms}");

    let first = h.delete(&path).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let left = h.okta.factors(id).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].factor_type, "push");

    let again = h.delete(&path).await;
    let body = expect_error(again, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        format!("Not found: Resource not found: {sms} (UserFactor)")
    );
    expect_error(h.get(&path).await, 404, "E0000007").await;
    assert_eq!(h.okta.count_events(event_type::FACTOR_DEACTIVATE, id), 1);
    let event = h
        .okta
        .system_log()
        .into_iter()
        .find(|e| e.event_type == event_type::FACTOR_DEACTIVATE)
        .unwrap();
    assert_eq!(event.target[0].id, id);
    assert_eq!(event.debug_context.debug_data["factorId"], sms);
    assert_eq!(event.debug_context.debug_data["factorType"], "sms");

    let unknown_user = h
        .delete(&format!("/api/v1/users/00uMISSING/factors/{sms}"))
        .await;
    expect_error(unknown_user, 404, "E0000007").await;
    h.shutdown().await;
}

#[tokio::test]
async fn unenrolling_okta_verify_push_takes_its_totp_along() {
    let h = Harness::start().await;
    let id = h.okta.seed_user(SeedUser {
        factors: vec![
            FactorKind::OktaVerifyPush,
            FactorKind::OktaVerifyTotp,
            FactorKind::GoogleAuthenticator,
            FactorKind::Sms,
        ],
        ..SeedUser::new("pat.push@example.com", "Pat", "Push")
    });
    let factors = h.okta.factors(&id).unwrap();
    let push = &factors[0];
    assert_eq!(factors[2].provider, "GOOGLE");

    let response = h
        .delete(&format!("/api/v1/users/{id}/factors/{}", push.id))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let left: Vec<FactorKind> = h
        .okta
        .factors(&id)
        .unwrap()
        .iter()
        .map(|f| f.kind)
        .collect();
    assert_eq!(left, [FactorKind::GoogleAuthenticator, FactorKind::Sms]);
    assert_eq!(h.okta.count_events(event_type::FACTOR_DEACTIVATE, &id), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn reset_factors_clears_everything_once() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    // Lifecycle paths accept the login.
    let path = format!(
        "/api/v1/users/{}/lifecycle/reset_factors",
        encode_login(DEMO_LEAVER)
    );

    let first = h.post(&path).await;
    assert_eq!(json_of(first).await, json!({}));
    assert!(h.okta.factors(id).unwrap().is_empty());
    let listed = json_of(h.get(&format!("/api/v1/users/{id}/factors")).await).await;
    assert_eq!(listed, json!([]));

    // Nothing left to reset: still 200, but nothing is logged.
    let again = h.post(&path).await;
    assert_eq!(json_of(again).await, json!({}));
    assert_eq!(h.okta.count_events(event_type::FACTOR_RESET_ALL, id), 1);
    let event = &h.okta.system_log()[0];
    assert_eq!(event.event_type, event_type::FACTOR_RESET_ALL);
    assert_eq!(event.debug_context.debug_data["factorsReset"], "2");
    // The user's status is untouched.
    assert_eq!(h.okta.user(id).unwrap().status, UserStatus::Active);

    let unknown = h
        .post("/api/v1/users/00uMISSING/lifecycle/reset_factors")
        .await;
    expect_error(unknown, 404, "E0000007").await;
    h.shutdown().await;
}

#[tokio::test]
async fn a_deactivated_users_factors_are_out_of_reach() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let push = h.okta.factors(id).unwrap()[0].id.clone();
    let deactivated = h
        .post(&format!("/api/v1/users/{id}/lifecycle/deactivate"))
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);

    let reset = h
        .post(&format!("/api/v1/users/{id}/lifecycle/reset_factors"))
        .await;
    let body = expect_error(reset, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        format!("Not found: Resource not found: {id} (User)")
    );
    expect_error(
        h.get(&format!("/api/v1/users/{id}/factors")).await,
        404,
        "E0000007",
    )
    .await;
    expect_error(
        h.delete(&format!("/api/v1/users/{id}/factors/{push}"))
            .await,
        404,
        "E0000007",
    )
    .await;
    // Nothing changed and nothing about factors was logged.
    assert_eq!(h.okta.factors(id).unwrap().len(), 2);
    assert_eq!(h.okta.count_events(event_type::FACTOR_RESET_ALL, id), 0);
    assert_eq!(h.okta.count_events(event_type::FACTOR_DEACTIVATE, id), 0);

    // Same for a user seeded as DEPROVISIONED.
    let olga = h.okta.user("old.contractor@example.com").unwrap();
    let reset = h
        .post(&format!(
            "/api/v1/users/{}/lifecycle/reset_factors",
            olga.id
        ))
        .await;
    expect_error(reset, 404, "E0000007").await;
    h.shutdown().await;
}

#[tokio::test]
async fn app_users_report_their_scope() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let assignments = h.okta.app_assignments(id).unwrap();
    let summary: Vec<(&str, AssignmentScope, Option<&str>)> = assignments
        .iter()
        .map(|a| (a.label.as_str(), a.scope, a.group.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Slack", AssignmentScope::User, None),
            (
                "GitHub Enterprise",
                AssignmentScope::Group,
                Some("GitHub Admins")
            ),
            ("Google Workspace", AssignmentScope::User, None),
        ]
    );

    let slack = h.okta.app_id("Slack").unwrap();
    let app_user = json_of(h.get(&format!("/api/v1/apps/{slack}/users/{id}")).await).await;
    assert_eq!(app_user["id"], id);
    assert_eq!(app_user["scope"], "USER");
    assert_eq!(app_user["status"], "ACTIVE");
    assert_eq!(app_user["credentials"]["userName"], DEMO_LEAVER);
    assert!(
        app_user["_links"]["app"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/apps/{slack}"))
    );
    assert!(app_user["_links"].get("group").is_none());

    let github = h.okta.app_id("GitHub Enterprise").unwrap();
    let admins = h.okta.group("GitHub Admins").unwrap();
    let app_user = json_of(h.get(&format!("/api/v1/apps/{github}/users/{id}")).await).await;
    assert_eq!(app_user["scope"], "GROUP");
    assert!(
        app_user["_links"]["group"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&admins.id)
    );

    // Not assigned, unknown app, unknown user, login instead of id.
    let priya = h.okta.user("priya.patel@example.com").unwrap();
    let body = expect_error(
        h.get(&format!("/api/v1/apps/{github}/users/{}", priya.id))
            .await,
        404,
        "E0000007",
    )
    .await;
    assert_eq!(
        body["errorSummary"],
        format!("Not found: Resource not found: {} (AppUser)", priya.id)
    );
    let body = expect_error(
        h.get(&format!("/api/v1/apps/0oaMISSING/users/{id}")).await,
        404,
        "E0000007",
    )
    .await;
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 0oaMISSING (AppInstance)"
    );
    expect_error(
        h.get(&format!("/api/v1/apps/{slack}/users/00uMISSING"))
            .await,
        404,
        "E0000007",
    )
    .await;
    expect_error(
        h.get(&format!(
            "/api/v1/apps/{slack}/users/{}",
            encode_login(DEMO_LEAVER)
        ))
        .await,
        404,
        "E0000007",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn direct_assignments_are_removed_once() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let slack = h.okta.app_id("Slack").unwrap();
    let path = format!("/api/v1/apps/{slack}/users/{id}?sendEmail=false");

    let first = h.delete(&path).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app_link_labels(&h, id).await,
        ["GitHub Enterprise", "Google Workspace"]
    );
    let again = h.delete(&path).await;
    let body = expect_error(again, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        format!("Not found: Resource not found: {id} (AppUser)")
    );
    expect_error(
        h.get(&format!("/api/v1/apps/{slack}/users/{id}")).await,
        404,
        "E0000007",
    )
    .await;
    // Others keep their Slack assignment.
    let john = h.okta.user("john.smith@example.com").unwrap();
    assert!(john.apps.contains(&"Slack".to_owned()));

    assert_eq!(
        h.okta.count_events(event_type::APP_MEMBERSHIP_REMOVE, id),
        1
    );
    assert_eq!(
        h.okta
            .count_events(event_type::APP_MEMBERSHIP_REMOVE, &slack),
        1
    );
    let events: Vec<Value> = h
        .get_query(
            "/api/v1/logs",
            &[
                ("since", "2000-01-01T00:00:00.000Z"),
                ("until", "2999-01-01T00:00:00.000Z"),
                (
                    "filter",
                    "eventType eq \"application.user_membership.remove\"",
                ),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["target"][0]["id"], id);
    assert_eq!(events[0]["target"][1]["id"], slack.as_str());
    assert_eq!(events[0]["target"][1]["type"], "AppInstance");
    assert_eq!(
        events[0]["debugContext"]["debugData"]["assignmentScope"],
        "USER"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn group_sourced_assignments_go_with_the_group() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let github = h.okta.app_id("GitHub Enterprise").unwrap();
    let admins = h.okta.group("GitHub Admins").unwrap();

    let refused = h
        .delete(&format!("/api/v1/apps/{github}/users/{id}?sendEmail=false"))
        .await;
    let body = expect_error(refused, 403, "E0000046").await;
    assert_eq!(
        body["errorSummary"],
        "Deactivate application for user forbidden."
    );
    assert_eq!(
        body["errorCauses"][0]["errorSummary"],
        "The application cannot be unassigned from the user while their group memberships grant them access"
    );
    assert!(
        app_link_labels(&h, id)
            .await
            .contains(&"GitHub Enterprise".to_owned())
    );
    assert_eq!(
        h.okta.count_events(event_type::APP_MEMBERSHIP_REMOVE, id),
        0
    );

    // Leaving the group removes the assignment (logged once)...
    let left = h
        .delete(&format!("/api/v1/groups/{}/users/{id}", admins.id))
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    assert_eq!(app_link_labels(&h, id).await, ["Slack", "Google Workspace"]);
    assert_eq!(
        h.okta.count_events(event_type::APP_MEMBERSHIP_REMOVE, id),
        1
    );
    assert_eq!(
        h.okta.count_events(event_type::GROUP_MEMBERSHIP_REMOVE, id),
        1
    );
    let gone = h.delete(&format!("/api/v1/apps/{github}/users/{id}")).await;
    expect_error(gone, 404, "E0000007").await;

    // ...and rejoining brings it back, held through the group again.
    let rejoined = h
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/groups/{}/users/{id}", admins.id),
        )
        .await;
    assert_eq!(rejoined.status(), StatusCode::NO_CONTENT);
    let app_user = json_of(h.get(&format!("/api/v1/apps/{github}/users/{id}")).await).await;
    assert_eq!(app_user["scope"], "GROUP");
    assert_eq!(h.okta.count_events(event_type::APP_MEMBERSHIP_ADD, id), 1);

    // Deactivation deprovisions every app, direct or not.
    h.post(&format!("/api/v1/users/{id}/lifecycle/deactivate"))
        .await;
    assert!(app_link_labels(&h, id).await.is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn a_direct_assignment_a_group_also_grants_cannot_be_removed() {
    let h = Harness::start().await;
    let ana = h.okta.seed_user(SeedUser {
        group_apps: vec![SeedGroupApp::new("Zoom", "Video Users")],
        ..SeedUser::new("ana.host@example.com", "Ana", "Host")
    });
    let ben = h.okta.seed_user(SeedUser {
        apps: vec!["Zoom".into(), "Slack".into()],
        groups: vec!["Video Users".into()],
        ..SeedUser::new("ben.both@example.com", "Ben", "Both")
    });
    // A later member of the group gets the group's app too.
    let cy = h.okta.seed_user(SeedUser {
        groups: vec!["Video Users".into()],
        ..SeedUser::new("cy.later@example.com", "Cy", "Later")
    });
    let scope_of = |user: &str| {
        h.okta
            .app_assignments(user)
            .unwrap()
            .into_iter()
            .find(|a| a.label == "Zoom")
            .map(|a| a.scope)
    };
    assert_eq!(scope_of(&ana), Some(AssignmentScope::Group));
    assert_eq!(scope_of(&ben), Some(AssignmentScope::User));
    assert_eq!(scope_of(&cy), Some(AssignmentScope::Group));
    assert!(h.okta.user(&ana).unwrap().in_group("Video Users"));

    let zoom = h.okta.app_id("Zoom").unwrap();
    let path = format!("/api/v1/apps/{zoom}/users/{ben}");
    expect_error(h.delete(&path).await, 403, "E0000046").await;

    // Once the group no longer covers it, the direct assignment goes.
    let video = h.okta.group("Video Users").unwrap();
    let left = h
        .delete(&format!("/api/v1/groups/{}/users/{ben}", video.id))
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    assert_eq!(scope_of(&ben), Some(AssignmentScope::User));
    assert_eq!(
        h.okta.count_events(event_type::APP_MEMBERSHIP_REMOVE, &ben),
        0
    );
    assert_eq!(h.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(scope_of(&ben), None);
    assert_eq!(
        h.okta.count_events(event_type::APP_MEMBERSHIP_REMOVE, &ben),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn demo_org_keeps_its_shape() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let jane = h.okta.user(&demo.leaver_id).unwrap();
    // Same labels in the same order as before group-sourced assignments
    // existed; only the scope of GitHub Enterprise is new.
    assert_eq!(
        jane.apps,
        ["Slack", "GitHub Enterprise", "Google Workspace"]
    );
    assert_eq!(
        app_link_labels(&h, &demo.leaver_id).await,
        ["Slack", "GitHub Enterprise", "Google Workspace"]
    );
    assert_eq!(jane.factors.len(), 2);
    for login in [
        "john.smith@example.com",
        "priya.patel@example.com",
        "sam.lee@example.com",
    ] {
        let user = h.okta.user(login).unwrap();
        assert!(user.factors.is_empty(), "{login}");
        assert!(
            user.app_assignments
                .iter()
                .all(|a| a.scope == AssignmentScope::User),
            "{login}"
        );
    }
    // Factor ids are deterministic for a seed, like every other id.
    let other = Harness::start().await;
    demo_seed(&other.okta);
    assert_eq!(
        other.okta.factors(DEMO_LEAVER).unwrap(),
        h.okta.factors(DEMO_LEAVER).unwrap()
    );
    other.shutdown().await;
    h.shutdown().await;
}

async fn assign(h: &Harness, app: &str, body: &Value) -> reqwest::Response {
    h.http
        .post(h.url(&format!("/api/v1/apps/{app}/users")))
        .header("Authorization", h.okta.authorization())
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_app_is_assigned_again_with_what_the_request_gives_and_a_deleted_one_is_404() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let slack = h.okta.app_id("Slack").unwrap();
    let path = format!("/api/v1/apps/{slack}/users/{id}");
    assert_eq!(h.delete(&path).await.status(), StatusCode::NO_CONTENT);

    let body = json!({"id": id, "scope": "USER", "credentials": {"userName": "jane.d"},
        "profile": {"team": "platform"}});
    let assigned = json_of(assign(&h, &slack, &body).await).await;
    assert_eq!(assigned["scope"], "USER");
    assert_eq!(assigned["credentials"]["userName"], "jane.d");
    assert_eq!(assigned["profile"], json!({"team": "platform"}));
    let read = json_of(h.get(&path).await).await;
    assert_eq!(read["credentials"]["userName"], "jane.d");
    assert!(app_link_labels(&h, id).await.contains(&"Slack".to_owned()));
    assert_eq!(
        h.okta.count_events(event_type::APP_MEMBERSHIP_ADD, &slack),
        1
    );
    // Assigning again keeps the one assignment.
    json_of(assign(&h, &slack, &body).await).await;
    let slacks = h.okta.user(id).unwrap().apps;
    assert_eq!(slacks.iter().filter(|a| *a == "Slack").count(), 1);

    // Without the user's id the request is invalid; a deleted app is not found.
    expect_error(
        assign(&h, &slack, &json!({"scope": "USER"})).await,
        400,
        "E0000001",
    )
    .await;
    let workspace = h.okta.app_id("Google Workspace").unwrap();
    assert!(h.okta.delete_app("Google Workspace"));
    let held = h.okta.user(id).unwrap().app_assignments;
    assert!(held.iter().all(|a| a.label != "Google Workspace"));
    expect_error(assign(&h, &workspace, &body).await, 404, "E0000007").await;
    h.shutdown().await;
}
