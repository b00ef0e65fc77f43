//! Reads against the Okta emulator: authentication, lookup, search and
//! filter semantics, pagination with `Link` headers, and response shapes.

use crate::support;
use passage_sandbox::okta::{
    DEMO_LEAVER, GroupType, OktaConfig, SeedGroup, SeedUser, UserStatus, demo_seed,
};
use reqwest::StatusCode;
use serde_json::Value;
use support::{Harness, encode_login, expect_error, header, links, next_link};

#[tokio::test]
async fn requests_without_a_valid_ssws_token_get_401_e0000011() {
    let h = Harness::start().await;
    demo_seed(&h.okta);
    let url = h.url("/api/v1/users");

    let missing = h.http.get(&url).send().await.unwrap();
    assert!(header(&missing, "x-okta-request-id").is_some());
    assert!(header(&missing, "x-rate-limit-remaining").is_some());
    let body = expect_error(missing, 401, "E0000011").await;
    assert_eq!(body["errorSummary"], "Invalid token provided");

    for bad in [
        "SSWS not-the-token".to_owned(),
        format!("Bearer {}", h.okta.api_token()),
        h.okta.api_token(),
    ] {
        let response = h
            .http
            .get(&url)
            .header("Authorization", bad)
            .send()
            .await
            .unwrap();
        expect_error(response, 401, "E0000011").await;
    }

    let ok = h.get("/api/v1/users").await;
    assert_eq!(ok.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn user_is_found_by_id_login_any_case_and_shortname() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);

    let by_login = h
        .get(&format!("/api/v1/users/{}", encode_login(DEMO_LEAVER)))
        .await;
    assert_eq!(by_login.status(), StatusCode::OK);
    assert_eq!(
        header(&by_login, "content-type").as_deref(),
        Some("application/json")
    );
    let user: Value = by_login.json().await.unwrap();
    assert_eq!(user["id"], demo.leaver_id.as_str());
    assert!(user["id"].as_str().unwrap().starts_with("00u"));
    assert_eq!(user["id"].as_str().unwrap().len(), 20);
    assert_eq!(user["status"], "ACTIVE");
    assert_eq!(user["profile"]["login"], DEMO_LEAVER);
    assert_eq!(user["profile"]["email"], DEMO_LEAVER);
    assert_eq!(user["profile"]["firstName"], "Jane");
    assert_eq!(user["profile"]["lastName"], "Doe");
    assert!(user["transitioningToStatus"].is_null());
    assert_eq!(user["credentials"]["provider"]["type"], "OKTA");
    for field in [
        "created",
        "activated",
        "statusChanged",
        "lastLogin",
        "lastUpdated",
        "passwordChanged",
    ] {
        let value = user[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} set"));
        assert!(
            value.ends_with('Z') && value.len() == 24,
            "{field} = {value}"
        );
    }
    assert_eq!(
        user["_links"]["self"]["href"],
        format!("{}/api/v1/users/{}", h.okta.base_url(), demo.leaver_id)
    );
    assert_eq!(user["_links"]["suspend"]["method"], "POST");

    let upper = h.get("/api/v1/users/JANE.DOE%40EXAMPLE.COM").await;
    assert_eq!(
        upper.json::<Value>().await.unwrap()["id"],
        demo.leaver_id.as_str()
    );
    let by_id = h.get(&format!("/api/v1/users/{}", demo.leaver_id)).await;
    assert_eq!(by_id.status(), StatusCode::OK);
    let short = h.get("/api/v1/users/jane.doe").await;
    assert_eq!(
        short.json::<Value>().await.unwrap()["id"],
        demo.leaver_id.as_str()
    );

    let missing = h.get("/api/v1/users/nobody%40example.com").await;
    let body = expect_error(missing, 404, "E0000007").await;
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: nobody@example.com (User)"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn search_and_filter_follow_okta_rules() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let ids = |body: &Vec<Value>| -> Vec<String> {
        body.iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let search = h
        .get_query(
            "/api/v1/users",
            &[("search", r#"profile.email eq "jane.doe@example.com""#)],
        )
        .await;
    assert_eq!(search.status(), StatusCode::OK);
    assert_eq!(
        ids(&search.json().await.unwrap()),
        vec![demo.leaver_id.clone()]
    );

    // search values are case-insensitive; filter values are not.
    let search_ci = h
        .get_query(
            "/api/v1/users",
            &[("search", r#"profile.email eq "JANE.DOE@example.com""#)],
        )
        .await;
    assert_eq!(search_ci.json::<Vec<Value>>().await.unwrap().len(), 1);
    let filter_exact = h
        .get_query(
            "/api/v1/users",
            &[("filter", r#"profile.login eq "jane.doe@example.com""#)],
        )
        .await;
    assert_eq!(
        ids(&filter_exact.json().await.unwrap()),
        vec![demo.leaver_id.clone()]
    );
    let filter_case = h
        .get_query(
            "/api/v1/users",
            &[("filter", r#"profile.login eq "JANE.DOE@example.com""#)],
        )
        .await;
    assert!(filter_case.json::<Vec<Value>>().await.unwrap().is_empty());

    let suspended = h
        .get_query("/api/v1/users", &[("filter", r#"status eq "SUSPENDED""#)])
        .await;
    let suspended: Vec<Value> = suspended.json().await.unwrap();
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0]["profile"]["login"], "sam.lee@example.com");

    // The plain list omits DEPROVISIONED users; search and filter include them.
    let plain: Vec<Value> = h.get("/api/v1/users").await.json().await.unwrap();
    assert_eq!(plain.len(), demo.user_ids.len() - 1);
    assert!(plain.iter().all(|u| u["status"] != "DEPROVISIONED"));
    let gone = h
        .get_query(
            "/api/v1/users",
            &[("search", r#"status eq "DEPROVISIONED""#)],
        )
        .await;
    assert_eq!(gone.json::<Vec<Value>>().await.unwrap().len(), 1);
    let gone = h
        .get_query(
            "/api/v1/users",
            &[("filter", r#"profile.email eq "old.contractor@example.com""#)],
        )
        .await;
    assert_eq!(gone.json::<Vec<Value>>().await.unwrap().len(), 1);

    let combined = h
        .get_query(
            "/api/v1/users",
            &[("filter", r#"status eq "ACTIVE" and (profile.firstName eq "Jane" or profile.firstName eq "John")"#)],
        )
        .await;
    assert_eq!(combined.json::<Vec<Value>>().await.unwrap().len(), 2);

    let q: Vec<Value> = h
        .get_query("/api/v1/users", &[("q", "pri")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["profile"]["lastName"], "Patel");

    for (param, expr) in [
        ("filter", r#"profile.department eq "Engineering""#),
        ("filter", r#"status ne "ACTIVE""#),
        ("search", r#"status ne "ACTIVE""#),
        ("search", r#"profile.email eq "unterminated"#),
    ] {
        let response = h.get_query("/api/v1/users", &[(param, expr)]).await;
        let body = expect_error(response, 400, "E0000031").await;
        assert_eq!(body["errorSummary"], "Invalid search criteria.");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn user_list_pages_with_okta_link_headers() {
    let h = Harness::start().await;
    let mut seeded = Vec::new();
    for i in 0..5 {
        seeded.push(h.okta.seed_user(SeedUser::new(
            &format!("user{i}@example.com"),
            "User",
            &format!("{i}"),
        )));
    }
    let base = h.okta.base_url();

    let first = h.get("/api/v1/users?limit=2").await;
    let first_links = links(&first);
    assert_eq!(
        first_links,
        vec![
            format!("<{base}/api/v1/users?limit=2>; rel=\"self\""),
            format!(
                "<{base}/api/v1/users?after={}&limit=2>; rel=\"next\"",
                seeded[1]
            ),
        ]
    );
    drop(first);

    let pages = h.walk("/api/v1/users?limit=2").await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let walked: Vec<String> = pages
        .iter()
        .flatten()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(walked, seeded);

    // The last page has a self link only.
    let last = h
        .get(&format!("/api/v1/users?limit=2&after={}", seeded[3]))
        .await;
    assert_eq!(links(&last).len(), 1);
    assert!(next_link(&last).is_none());

    // Search results page too, and the next link keeps the search.
    let pages = h
        .walk("/api/v1/users?search=profile.lastName%20sw%20%22zzz%22&limit=2")
        .await;
    assert_eq!(pages.concat().len(), 0);
    let pages = h
        .walk("/api/v1/users?search=profile.firstName%20eq%20%22User%22&limit=2")
        .await;
    assert_eq!(pages.concat().len(), 5);

    let bad_cursor = h.get("/api/v1/users?after=00uNOPE").await;
    expect_error(bad_cursor, 400, "E0000001").await;
    h.shutdown().await;
}

#[tokio::test]
async fn user_groups_group_members_and_grants_paginate() {
    let h = Harness::start().await;
    let names: Vec<String> = (0..5).map(|i| format!("Team {i}")).collect();
    let user = h.okta.seed_user(SeedUser {
        groups: names.clone(),
        grants: 5,
        ..SeedUser::new("many@example.com", "Many", "Things")
    });
    for i in 0..4 {
        h.okta.seed_user(SeedUser {
            groups: vec!["Team 0".into()],
            ..SeedUser::new(&format!("member{i}@example.com"), "Member", "X")
        });
    }

    // Unpaged: every group, Everyone first.
    let all: Vec<Value> = h
        .get(&format!("/api/v1/users/{user}/groups"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all[0]["profile"]["name"], "Everyone");
    assert_eq!(all[0]["type"], "BUILT_IN");
    assert_eq!(all[1]["type"], "OKTA_GROUP");
    assert_eq!(all[1]["objectClass"][0], "okta:user_group");
    assert!(all[1]["id"].as_str().unwrap().starts_with("00g"));
    for field in ["created", "lastUpdated", "lastMembershipUpdated"] {
        assert!(all[1][field].is_string(), "{field}");
    }

    // `listUserGroups` declares no paging parameters: a `limit` is refused, not honoured.
    let paged = h.get(&format!("/api/v1/users/{user}/groups?limit=2")).await;
    assert_eq!(paged.status(), 400);
    let body: Value = paged.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000001");

    let team0 = h.okta.group("Team 0").unwrap();
    assert_eq!(team0.members, 5);
    let pages = h
        .walk(&format!("/api/v1/groups/{}/users?limit=2", team0.id))
        .await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    assert_eq!(pages[0][0]["id"], user.as_str());

    let grants = h
        .walk(&format!("/api/v1/users/{user}/grants?limit=2"))
        .await;
    assert_eq!(
        grants.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let grant = &grants[0][0];
    assert!(grant["id"].as_str().unwrap().starts_with("oag"));
    assert_eq!(grant["userId"], user.as_str());
    assert_eq!(grant["status"], "ACTIVE");
    assert_eq!(grant["issuer"], h.okta.base_url());
    // Default grant page size is 20.
    let default_page: Vec<Value> = h
        .get(&format!("/api/v1/users/{user}/grants"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(default_page.len(), 5);
    h.shutdown().await;
}

#[tokio::test]
async fn app_groups_apps_and_clients_look_like_okta() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let groups: Vec<Value> = h
        .get(&format!("/api/v1/users/{}/groups", demo.leaver_id))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = groups.iter().map(|g| g["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "BUILT_IN",
            "OKTA_GROUP",
            "OKTA_GROUP",
            "OKTA_GROUP",
            "APP_GROUP"
        ]
    );
    let ad = groups.last().unwrap();
    assert_eq!(ad["profile"]["name"], "AD Engineering");
    assert_eq!(ad["objectClass"][0], "okta:windows_security_principal");
    assert!(
        ad["_links"]["source"]["href"]
            .as_str()
            .unwrap()
            .contains("/api/v1/apps/0oa")
    );

    let links: Vec<Value> = h
        .get(&format!(
            "/api/v1/users/{}/appLinks",
            encode_login(DEMO_LEAVER)
        ))
        .await
        .json()
        .await
        .unwrap();
    let labels: Vec<&str> = links.iter().map(|l| l["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Slack", "GitHub Enterprise", "Google Workspace"]);
    assert!(
        links[0]["appInstanceId"]
            .as_str()
            .unwrap()
            .starts_with("0oa")
    );

    let clients: Vec<Value> = h
        .get(&format!("/api/v1/users/{}/clients", demo.leaver_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(clients.len(), 2);
    assert!(clients[0]["client_id"].as_str().unwrap().starts_with("0oa"));
    assert!(
        clients[0]["_links"]["tokens"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/tokens")
    );

    // `{userId}` endpoints take ids only, unlike `{id}` ones.
    let by_login = h
        .get(&format!(
            "/api/v1/users/{}/clients",
            encode_login(DEMO_LEAVER)
        ))
        .await;
    expect_error(by_login, 404, "E0000007").await;
    h.shutdown().await;
}

#[tokio::test]
async fn demo_org_is_deterministic_for_a_seed() {
    let a = Harness::start().await;
    let b = Harness::start().await;
    let da = demo_seed(&a.okta);
    let db = demo_seed(&b.okta);
    assert_eq!(da, db);
    assert_eq!(a.okta.api_token(), b.okta.api_token());

    let jane = a.okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(jane.status, UserStatus::Active);
    assert_eq!(
        jane.group_names(),
        [
            "Everyone",
            "Engineering",
            "VPN Users",
            "GitHub Admins",
            "AD Engineering"
        ]
    );
    assert_eq!((jane.sessions, jane.grants, jane.oauth_tokens), (2, 2, 2));
    assert_eq!(
        a.okta.group("AD Engineering").unwrap().group_type,
        GroupType::AppGroup
    );
    assert_eq!(
        a.okta.group("Everyone").unwrap().group_type,
        GroupType::BuiltIn
    );

    let other = Harness::with_config(OktaConfig {
        seed: 7,
        ..OktaConfig::default()
    })
    .await;
    let dother = demo_seed(&other.okta);
    assert_ne!(dother.leaver_id, da.leaver_id);

    assert!(
        a.okta
            .try_seed_user(SeedUser::new(DEMO_LEAVER, "J", "D"))
            .is_err()
    );
    assert_eq!(
        a.okta
            .seed_group(SeedGroup::new("Engineering", GroupType::OktaGroup)),
        a.okta.group("Engineering").unwrap().id
    );
    a.shutdown().await;
    b.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_like_okta() {
    let h = Harness::start().await;
    let missing = h.get("/api/v1/nothing-here").await;
    assert!(header(&missing, "x-okta-request-id").is_some());
    expect_error(missing, 404, "E0000007").await;
    let wrong_method = h.post("/api/v1/users/x/groups").await;
    expect_error(wrong_method, 405, "E0000022").await;
    h.shutdown().await;
}
