//! State-changing calls against the Okta emulator: lifecycle transitions,
//! group membership, sessions, grants and tokens, and the System Log
//! evidence each real change leaves behind.

use crate::support;
use passage_sandbox::okta::{DEMO_LEAVER, SeedUser, UserStatus, demo_seed, event_type};
use reqwest::StatusCode;
use serde_json::Value;
use support::{Harness, encode_login, expect_error, header, next_link};

#[tokio::test]
async fn suspend_once_then_refuse_then_unsuspend() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let before = h.okta.user(id).unwrap();

    let first = h
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.json::<Value>().await.unwrap(), serde_json::json!({}));
    let after = h.okta.user(id).unwrap();
    assert_eq!(after.status, UserStatus::Suspended);
    assert_ne!(after.status_changed, before.status_changed);
    // Suspension keeps groups, sessions and apps.
    assert_eq!(after.groups, before.groups);
    assert_eq!(after.sessions, 2);

    let read: Value = h
        .get(&format!("/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "SUSPENDED");
    assert_eq!(
        read["statusChanged"].as_str(),
        after.status_changed.as_deref()
    );
    assert!(read["_links"]["unsuspend"].is_object());

    // Lifecycle paths also accept the login.
    let again = h
        .post(&format!(
            "/api/v1/users/{}/lifecycle/suspend",
            encode_login(DEMO_LEAVER)
        ))
        .await;
    let body = expect_error(again, 400, "E0000001").await;
    assert_eq!(
        body["errorSummary"],
        "Cannot suspend a user that is not active"
    );
    assert_eq!(h.okta.count_events(event_type::USER_SUSPEND, id), 1);

    let restore = h
        .post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
        .await;
    assert_eq!(restore.status(), StatusCode::OK);
    assert_eq!(h.okta.user(id).unwrap().status, UserStatus::Active);
    let again = h
        .post(&format!("/api/v1/users/{id}/lifecycle/unsuspend"))
        .await;
    let body = expect_error(again, 400, "E0000001").await;
    assert_eq!(
        body["errorSummary"],
        "Cannot unsuspend a user that is not suspended"
    );
    assert_eq!(h.okta.count_events(event_type::USER_UNSUSPEND, id), 1);

    let unknown = h.post("/api/v1/users/00uMISSING/lifecycle/suspend").await;
    expect_error(unknown, 404, "E0000007").await;
    h.shutdown().await;
}

#[tokio::test]
async fn deactivate_once_then_404() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();

    let first = h
        .post(&format!(
            "/api/v1/users/{id}/lifecycle/deactivate?sendEmail=false"
        ))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let view = h.okta.user(id).unwrap();
    assert_eq!(view.status, UserStatus::Deprovisioned);
    assert_eq!((view.sessions, view.oauth_tokens), (0, 0));
    assert!(view.apps.is_empty());

    let again = h
        .post(&format!(
            "/api/v1/users/{id}/lifecycle/deactivate?sendEmail=false"
        ))
        .await;
    let body = expect_error(again, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        format!("Not found: Resource not found: {id} (User)")
    );
    assert_eq!(h.okta.count_events(event_type::USER_DEACTIVATE, id), 1);

    // Still readable by id, and gone from the plain list.
    let read: Value = h
        .get(&format!("/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "DEPROVISIONED");
    let plain: Vec<Value> = h.get("/api/v1/users").await.json().await.unwrap();
    assert!(plain.iter().all(|u| u["id"] != id));

    // A suspended user can be deactivated too.
    let sam = h.okta.user("sam.lee@example.com").unwrap();
    let response = h
        .post(&format!("/api/v1/users/{}/lifecycle/deactivate", sam.id))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn only_okta_group_memberships_can_be_removed() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let user = demo.leaver_id.as_str();
    let engineering = h.okta.group("Engineering").unwrap();
    let ad = h.okta.group("AD Engineering").unwrap();
    let everyone = h.okta.group("Everyone").unwrap();

    let path = |g: &str| format!("/api/v1/groups/{g}/users/{user}");
    let removed = h.delete(&path(&engineering.id)).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert!(!h.okta.user(user).unwrap().in_group("Engineering"));
    assert_eq!(
        h.okta.group("Engineering").unwrap().members,
        engineering.members - 1
    );

    // Idempotent: a non-member removal is 204 and logs nothing.
    let repeat = h.delete(&path(&engineering.id)).await;
    assert_eq!(repeat.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.okta
            .count_events(event_type::GROUP_MEMBERSHIP_REMOVE, &engineering.id),
        1
    );

    for immutable in [&ad.id, &everyone.id] {
        let refused = h.delete(&path(immutable)).await;
        let body = expect_error(refused, 403, "E0000006").await;
        assert_eq!(
            body["errorSummary"],
            "You do not have permission to perform the requested action"
        );
    }
    let view = h.okta.user(user).unwrap();
    assert!(view.in_group("AD Engineering") && view.in_group("Everyone"));

    let unknown = h.delete(&path("00gMISSING")).await;
    let body = expect_error(unknown, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 00gMISSING (UserGroup)"
    );
    let unknown_user = h
        .delete(&format!(
            "/api/v1/groups/{}/users/00uMISSING",
            engineering.id
        ))
        .await;
    expect_error(unknown_user, 404, "E0000007").await;

    // Re-adding works and is logged separately.
    let added = h.send(reqwest::Method::PUT, &path(&engineering.id)).await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    assert!(h.okta.user(user).unwrap().in_group("Engineering"));
    assert_eq!(
        h.okta.count_events(event_type::GROUP_MEMBERSHIP_ADD, user),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn sessions_tokens_and_grants_are_cleared_once() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();

    // Without oauthTokens, tokens survive.
    let first = h.delete(&format!("/api/v1/users/{id}/sessions")).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.okta.sessions(id), Some(0));
    assert_eq!(h.okta.oauth_tokens(id), Some(2));

    let with_tokens = h
        .delete(&format!(
            "/api/v1/users/{id}/sessions?oauthTokens=true&forgetDevices=true"
        ))
        .await;
    assert_eq!(with_tokens.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.okta.oauth_tokens(id), Some(0));
    let repeat = h
        .delete(&format!("/api/v1/users/{id}/sessions?oauthTokens=true"))
        .await;
    assert_eq!(repeat.status(), StatusCode::NO_CONTENT);
    // Two calls changed something; the third changed nothing.
    assert_eq!(h.okta.count_events(event_type::SESSION_CLEAR, id), 2);
    let clients: Vec<Value> = h
        .get(&format!("/api/v1/users/{id}/clients"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(clients.len(), 2, "grants still tie the user to clients");

    let grants = h.delete(&format!("/api/v1/users/{id}/grants")).await;
    assert_eq!(grants.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.okta.grants(id), Some(0));
    let listed: Vec<Value> = h
        .get(&format!("/api/v1/users/{id}/grants"))
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
    let repeat = h.delete(&format!("/api/v1/users/{id}/grants")).await;
    assert_eq!(repeat.status(), StatusCode::NO_CONTENT);
    // One event per revoked grant.
    assert_eq!(h.okta.count_events(event_type::CONSENT_REVOKE, id), 2);
    let clients: Vec<Value> = h
        .get(&format!("/api/v1/users/{id}/clients"))
        .await
        .json()
        .await
        .unwrap();
    assert!(clients.is_empty());

    let unknown = h.delete("/api/v1/users/00uMISSING/sessions").await;
    expect_error(unknown, 404, "E0000007").await;
    h.shutdown().await;
}

#[tokio::test]
async fn client_tokens_can_be_revoked_per_client() {
    let h = Harness::start().await;
    let id = h.okta.seed_user(SeedUser {
        oauth_tokens: 3,
        ..SeedUser::new("tokens@example.com", "Token", "Holder")
    });
    let clients: Vec<Value> = h
        .get(&format!("/api/v1/users/{id}/clients"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(clients.len(), 3);
    let client = clients[0]["client_id"].as_str().unwrap();
    let response = h
        .delete(&format!("/api/v1/users/{id}/clients/{client}/tokens"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.okta.oauth_tokens(&id), Some(2));
    let repeat = h
        .delete(&format!("/api/v1/users/{id}/clients/{client}/tokens"))
        .await;
    assert_eq!(repeat.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.okta.count_events(event_type::TOKEN_REVOKE, &id), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn system_log_records_each_change_with_its_request_id() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    let since = "2000-01-01T00:00:00.000Z";

    let suspend = h
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    let request_id = header(&suspend, "x-okta-request-id").unwrap();
    h.delete(&format!("/api/v1/users/{id}/sessions?oauthTokens=true"))
        .await;
    let engineering = h.okta.group("Engineering").unwrap();
    h.delete(&format!("/api/v1/groups/{}/users/{id}", engineering.id))
        .await;
    // Someone else's change must not show up under the leaver.
    let john = h.okta.user("john.smith@example.com").unwrap();
    h.post(&format!("/api/v1/users/{}/lifecycle/suspend", john.id))
        .await;

    let until = "2999-01-01T00:00:00.000Z";
    let response = h
        .get_query(
            "/api/v1/logs",
            &[
                ("since", since),
                ("until", until),
                ("filter", &format!("target.id eq \"{id}\"")),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(next_link(&response).is_none(), "bounded query ends");
    let events: Vec<Value> = response.json().await.unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "user.lifecycle.suspend",
            "user.session.clear",
            "group.user_membership.remove"
        ]
    );
    let suspend_event = &events[0];
    assert_eq!(
        suspend_event["debugContext"]["debugData"]["requestId"],
        request_id.as_str()
    );
    assert_eq!(suspend_event["outcome"]["result"], "SUCCESS");
    assert_eq!(suspend_event["target"][0]["id"], id);
    assert_eq!(suspend_event["target"][0]["type"], "User");
    assert_eq!(suspend_event["target"][0]["alternateId"], DEMO_LEAVER);
    assert_eq!(suspend_event["actor"]["type"], "User");
    assert!(suspend_event["uuid"].is_string());
    assert!(suspend_event["published"].as_str().unwrap().ends_with('Z'));
    assert_eq!(events[2]["target"][1]["type"], "UserGroup");

    // The same events through the accessor.
    let log = h.okta.system_log();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].request_id(), Some(request_id.as_str()));

    // Event-type filters, keyword search, paging and ordering.
    let suspends: Vec<Value> = h
        .get_query(
            "/api/v1/logs",
            &[
                ("since", since),
                ("until", until),
                ("filter", "eventType eq \"user.lifecycle.suspend\""),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspends.len(), 2);
    let pages = h
        .walk(&format!("/api/v1/logs?since={since}&until={until}&limit=3"))
        .await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 1]);
    let newest_first: Vec<Value> = h
        .get_query(
            "/api/v1/logs",
            &[
                ("since", since),
                ("until", until),
                ("sortOrder", "DESCENDING"),
                ("limit", "1"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(newest_first[0]["target"][0]["id"], john.id.as_str());

    // Polling (no `until`) always offers a next link that yields only
    // newer events.
    let poll = h.get_query("/api/v1/logs", &[("since", since)]).await;
    let next = next_link(&poll).expect("polling keeps a next link");
    assert_eq!(poll.json::<Vec<Value>>().await.unwrap().len(), 4);
    let empty = h
        .http
        .get(&next)
        .header("Authorization", h.okta.authorization())
        .send()
        .await
        .unwrap();
    assert!(next_link(&empty).is_some());
    assert!(empty.json::<Vec<Value>>().await.unwrap().is_empty());
    h.post(&format!("/api/v1/users/{}/lifecycle/unsuspend", john.id))
        .await;
    let newer: Vec<Value> = h
        .http
        .get(&next)
        .header("Authorization", h.okta.authorization())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0]["eventType"], "user.lifecycle.unsuspend");

    let bad = h
        .get_query("/api/v1/logs", &[("filter", "eventType eq")])
        .await;
    expect_error(bad, 400, "E0000001").await;
    let bad = h.get_query("/api/v1/logs", &[("since", "yesterday")]).await;
    expect_error(bad, 400, "E0000001").await;
    h.shutdown().await;
}

#[tokio::test]
async fn concurrent_suspends_apply_exactly_once() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.clone();
    let url = h.url(&format!("/api/v1/users/{id}/lifecycle/suspend"));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let http = h.http.clone();
        let url = url.clone();
        let auth = h.okta.authorization();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header("Authorization", auth)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::BAD_REQUEST => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, refused), (1, 31));
    assert_eq!(h.okta.count_events(event_type::USER_SUSPEND, &id), 1);
    assert_eq!(
        h.okta
            .counters()
            .count("POST", "/api/v1/users/{id}/lifecycle/suspend"),
        32
    );
    h.shutdown().await;
}
