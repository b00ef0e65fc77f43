#![cfg(feature = "jumpcloud")]
//! Authentication and tenancy: admin API keys, service-account OAuth
//! tokens, `x-org-id` rules for single- and multi-tenant credentials, and
//! role checks.

use crate::jumpcloud_support as support;

use passage_sandbox::jumpcloud::{Role, SeedUser, demo_seed, event_type};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Harness, an_hour_ago, expect_v1_error, expect_v2_error, json, send};

#[tokio::test]
async fn api_key_authenticates_and_anything_else_is_401() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);

    let ok = h.get("/api/systemusers").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers().get("retry-after").is_none());

    let none = send(h.http.get(h.url("/api/systemusers"))).await;
    assert_eq!(expect_v1_error(none, 401).await, "Unauthorized");
    let wrong = send(h.with_key(Method::GET, "/api/systemusers", "jca_wrong")).await;
    assert_eq!(expect_v1_error(wrong, 401).await, "Unauthorized");
    let v2 = send(h.with_key(
        Method::GET,
        &format!("/api/v2/users/{}/memberof", demo.leaver_id),
        "jca_wrong",
    ))
    .await;
    assert_eq!(expect_v2_error(v2, 401).await, "Unauthorized");
    // An SSWS- or Basic-style header is not a JumpCloud credential.
    let basic = send(
        h.http
            .get(h.url("/api/systemusers"))
            .header("authorization", format!("Basic {}", h.jc.api_key())),
    )
    .await;
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(h.jc.counters().with_status(401), 4);
    assert_eq!(h.jc.counters().count("GET", "/api/systemusers"), 4);
    h.shutdown().await;
}

#[tokio::test]
async fn service_account_token_flow() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let (client_id, secret) = h.jc.service_account();

    let response = h
        .token_request(
            &client_id,
            &secret,
            "grant_type=client_credentials&scope=api",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(response).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "api");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap().to_owned();

    let path = format!("/api/v2/users/{}/memberof", demo.leaver_id);
    let groups = send(h.with_bearer(Method::GET, &path, &token)).await;
    assert_eq!(groups.status(), StatusCode::OK);
    assert_eq!(json(groups).await.as_array().unwrap().len(), 3);

    // The rotation secret works too.
    let second = h.jc.service_account_second_secret();
    let other = h.token_for(&client_id, &second).await;
    assert_ne!(other, token);

    // RFC 6749 errors from the token endpoint.
    let bad_secret = h
        .token_request(
            &client_id,
            "nope",
            "grant_type=client_credentials&scope=api",
        )
        .await;
    assert_eq!(bad_secret.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(bad_secret).await["error"], "invalid_client");
    let no_auth = send(
        h.http
            .post(h.jc.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=api"),
    )
    .await;
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    let grant = h
        .token_request(&client_id, &secret, "grant_type=password&scope=api")
        .await;
    assert_eq!(grant.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(grant).await["error"], "unsupported_grant_type");
    let scope = h
        .token_request(&client_id, &secret, "grant_type=client_credentials")
        .await;
    assert_eq!(scope.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(scope).await["error"], "invalid_scope");

    // Unknown and expired tokens are 401s.
    let garbage = send(h.with_bearer(Method::GET, &path, "jct_garbage")).await;
    assert_eq!(expect_v2_error(garbage, 401).await, "Unauthorized");
    h.jc.expire_tokens();
    let expired = send(h.with_bearer(Method::GET, &path, &token)).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    h.shutdown().await;
}

#[tokio::test]
async fn service_account_changes_are_attributed_to_it() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let token = h.token().await;
    let path = format!("/api/systemusers/{}", demo.leaver_id);
    let response = send(
        h.with_bearer(Method::PUT, &path, &token)
            .json(&json!({"suspended": true})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = h.jc.audit_log();
    assert_eq!(events.len(), 1);
    let event = &events[0].body;
    assert_eq!(event["event_type"], event_type::USER_SUSPENDED);
    assert_eq!(event["initiated_by"]["type"], "service_account");
    assert_eq!(event["auth_method"], "oauth");
    h.shutdown().await;
}

#[tokio::test]
async fn single_tenant_org_header_rules() {
    let h = Harness::start().await;
    demo_seed(&h.jc);
    let org = h.jc.org_id();

    let own = send(
        h.req(Method::GET, "/api/systemusers")
            .header("x-org-id", &org),
    )
    .await;
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(json(own).await["totalCount"], 6);

    let malformed = send(
        h.req(Method::GET, "/api/systemusers")
            .header("x-org-id", "org-1"),
    )
    .await;
    assert_eq!(
        expect_v1_error(malformed, 400).await,
        "Bad Request: malformed x-org-id"
    );
    let unknown = send(
        h.req(Method::GET, "/api/systemusers")
            .header("x-org-id", "0123456789abcdef01234567"),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let orgs = json(h.get("/api/organizations").await).await;
    assert_eq!(orgs["totalCount"], 1);
    assert_eq!(orgs["results"][0]["_id"], org.as_str());
    assert_eq!(orgs["results"][0]["displayName"], "Example Corp");
    let unsupported = send(
        h.req(Method::GET, "/api/organizations")
            .header("x-org-id", &org),
    )
    .await;
    assert_eq!(unsupported.status(), StatusCode::FORBIDDEN);

    let detail = json(h.get(&format!("/api/organizations/{org}")).await).await;
    assert_eq!(detail["_id"], org.as_str());
    h.shutdown().await;
}

#[tokio::test]
async fn multi_tenant_credentials_must_select_an_org() {
    let h = Harness::start().await;
    demo_seed(&h.jc);
    let primary = h.jc.org_id();
    let client = h.jc.add_org("Client B");
    h.jc.seed_user(SeedUser {
        org: Some(client.clone()),
        ..SeedUser::new("bob@client-b.example", "Bob", "B")
    });

    // The default key now spans two organisations.
    let missing = h.get("/api/systemusers").await;
    assert_eq!(
        expect_v1_error(missing, 401).await,
        "Unauthorized: no organization selected"
    );
    let missing_v2 = h.get("/api/v2/usergroups").await;
    assert_eq!(
        expect_v2_error(missing_v2, 401).await,
        "Unauthorized: no organization selected"
    );

    let in_b = json(
        send(
            h.req(Method::GET, "/api/systemusers")
                .header("x-org-id", &client),
        )
        .await,
    )
    .await;
    assert_eq!(in_b["totalCount"], 1);
    assert_eq!(in_b["results"][0]["email"], "bob@client-b.example");
    assert_eq!(in_b["results"][0]["organization"], client.as_str());
    let in_a = json(
        send(
            h.req(Method::GET, "/api/systemusers")
                .header("x-org-id", &primary),
        )
        .await,
    )
    .await;
    assert_eq!(in_a["totalCount"], 6);

    // Objects of one organisation are invisible from another.
    let jane = h.jc.user("jane.doe@example.com").unwrap();
    let cross = send(
        h.req(Method::GET, &format!("/api/systemusers/{}", jane.id))
            .header("x-org-id", &client),
    )
    .await;
    assert_eq!(cross.status(), StatusCode::NOT_FOUND);

    // Listing organisations takes no x-org-id; the path id must match it.
    let orgs = json(h.get("/api/organizations").await).await;
    assert_eq!(orgs["totalCount"], 2);
    let mismatch = send(
        h.req(Method::GET, &format!("/api/organizations/{primary}"))
            .header("x-org-id", &client),
    )
    .await;
    assert_eq!(
        expect_v1_error(mismatch, 400).await,
        "Bad Request: x-org-id and organization path ID do not match"
    );

    // The service account is multi-tenant too.
    let token = h.token().await;
    let no_org = send(h.with_bearer(Method::GET, "/api/systemusers", &token)).await;
    assert_eq!(no_org.status(), StatusCode::UNAUTHORIZED);
    let with_org = send(
        h.with_bearer(Method::GET, "/api/systemusers", &token)
            .header("x-org-id", &client),
    )
    .await;
    assert_eq!(with_org.status(), StatusCode::OK);

    // A key administering only one organisation needs no header.
    let single = h.jc.add_api_key(Role::Administrator, &[client.as_str()]);
    let response = send(h.with_key(Method::GET, "/api/systemusers", &single)).await;
    assert_eq!(json(response).await["totalCount"], 1);
    let foreign = send(
        h.with_key(Method::GET, "/api/systemusers", &single)
            .header("x-org-id", &primary),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    h.shutdown().await;
}

#[tokio::test]
async fn directory_insights_accepts_several_orgs() {
    let h = Harness::start().await;
    let primary = h.jc.org_id();
    let client = h.jc.add_org("Client B");
    let a = h.jc.seed_user(SeedUser::new("a@a.example", "A", "A"));
    let b = h.jc.seed_user(SeedUser {
        org: Some(client.clone()),
        ..SeedUser::new("b@b.example", "B", "B")
    });
    for (org, id) in [(&primary, &a), (&client, &b)] {
        let response = send(
            h.req(Method::PUT, &format!("/api/systemusers/{id}"))
                .header("x-org-id", org.as_str())
                .json(&json!({"suspended": true})),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let query = json!({"service": ["directory"], "start_time": an_hour_ago()});
    let both = send(
        h.req(Method::POST, "/insights/directory/v1/events")
            .header("x-org-id", &primary)
            .header("x-org-id", &client)
            .json(&query),
    )
    .await;
    assert_eq!(both.status(), StatusCode::OK);
    let rows: Vec<Value> = both.json().await.unwrap();
    assert_eq!(rows.len(), 2);
    let one = send(
        h.req(Method::POST, "/insights/directory/v1/events")
            .header("x-org-id", &client)
            .json(&query),
    )
    .await;
    let rows: Vec<Value> = one.json().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["organization"], client.as_str());
    h.shutdown().await;
}

#[tokio::test]
async fn roles_limit_what_a_credential_may_do() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let read_only = h.jc.add_api_key(Role::ReadOnly, &[]);
    let user_path = format!("/api/systemusers/{}", demo.leaver_id);

    let read = send(h.with_key(Method::GET, &user_path, &read_only)).await;
    assert_eq!(read.status(), StatusCode::OK);
    let search = send(
        h.with_key(Method::POST, "/api/search/systemusers", &read_only)
            .json(&json!({"filter": [{"email": "jane.doe@example.com"}]})),
    )
    .await;
    assert_eq!(search.status(), StatusCode::OK);

    let suspend = send(
        h.with_key(Method::PUT, &user_path, &read_only)
            .json(&json!({"suspended": true})),
    )
    .await;
    assert_eq!(expect_v1_error(suspend, 403).await, "Forbidden");
    let remove = send(
        h.with_key(
            Method::POST,
            &format!("/api/v2/usergroups/{}/members", demo.leaver_group_ids[0]),
            &read_only,
        )
        .json(&json!({"op": "remove", "type": "user", "id": demo.leaver_id})),
    )
    .await;
    assert_eq!(expect_v2_error(remove, 403).await, "Forbidden");
    let lock = send(h.with_key(
        Method::POST,
        &format!(
            "/api/systems/{}/command/builtin/lock",
            demo.windows_system_id
        ),
        &read_only,
    ))
    .await;
    assert_eq!(lock.status(), StatusCode::FORBIDDEN);

    let runner = h.jc.add_api_key(Role::CommandRunner, &[]);
    let denied = send(h.with_key(Method::GET, &user_path, &runner)).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let (ro_client, ro_secret) = h.jc.add_service_account(Role::ReadOnly, &[]);
    let token = h.token_for(&ro_client, &ro_secret).await;
    let denied = send(
        h.with_bearer(Method::PUT, &user_path, &token)
            .json(&json!({"state": "SUSPENDED"})),
    )
    .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    // Nothing changed.
    assert!(!h.jc.user(&demo.leaver_id).unwrap().suspended);
    assert_eq!(h.jc.user_groups(&demo.leaver_id).len(), 3);
    assert!(h.jc.commands().is_empty());
    assert!(h.jc.audit_log().is_empty());
    h.shutdown().await;
}
