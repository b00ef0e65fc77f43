#![cfg(feature = "google")]
//! Directory API actions against the demo domain: suspension, sign-out,
//! OAuth grants, application-specific passwords, backup codes, group
//! membership and mobile devices — success, repeat, not found and
//! permission denied — plus pagination and the audit trail.

use crate::google_support as support;

use passage_sandbox::google::{SeedUser, event_name};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_SCOPES, Harness, expect_error, user_path};

#[tokio::test]
async fn users_resolve_by_address_alias_or_id() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let by_email = h.get_json(&user_path(&h.demo.leaver_email), &token).await;
    assert_eq!(by_email["kind"], "admin#directory#user");
    assert_eq!(by_email["id"], h.demo.leaver_id);
    assert_eq!(by_email["suspended"], false);
    assert!(by_email.get("suspensionReason").is_none());
    assert_eq!(by_email["customerId"], h.demo.customer_id);
    assert_eq!(by_email["name"]["fullName"], "Jane Doe");
    assert_eq!(by_email["orgUnitPath"], "/");
    let by_alias = h.get_json(&user_path("jane@example.com"), &token).await;
    let by_id = h.get_json(&user_path(&h.demo.leaver_id), &token).await;
    assert_eq!(by_alias, by_email);
    assert_eq!(by_id, by_email);

    let body = expect_error(
        h.get(&user_path("ghost@example.com"), &token).await,
        404,
        "notFound",
    )
    .await;
    assert_eq!(body["error"]["message"], "Resource Not Found: userKey");
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    expect_error(
        h.get(&user_path("someone@other.org"), &token).await,
        403,
        "forbidden",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn suspension_applies_once_and_a_repeat_gives_the_same_answer() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let path = user_path(&h.demo.leaver_email);

    let first = h.put(&path, &token, json!({ "suspended": true })).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["suspended"], true);
    assert_eq!(first["suspensionReason"], "ADMIN");
    let again: Value = h
        .put(&path, &token, json!({ "suspended": true }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, first, "repeat answers the same user, same etag");
    let view = h.google.user(&h.demo.leaver_email).unwrap();
    assert!(view.suspended);
    assert_eq!(view.suspension_reason.as_deref(), Some("ADMIN"));
    assert_eq!(
        h.google
            .count_events(event_name::SUSPEND_USER, &h.demo.leaver_email),
        1
    );
    // Patch semantics: the rest of the user is untouched.
    assert_eq!(view.groups.len(), 3);
    assert_eq!(view.tokens.len(), 2);

    // PATCH unsuspends.
    let patched = h
        .call(
            Method::PATCH,
            &path,
            &token,
            Some(json!({ "suspended": false })),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["suspended"], false);
    assert!(patched.get("suspensionReason").is_none());
    assert_eq!(
        h.google
            .count_events(event_name::UNSUSPEND_USER, &h.demo.leaver_id),
        1
    );

    // Malformed bodies change nothing.
    let response = h
        .http
        .put(h.url(&path))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "parseError").await;
    expect_error(
        h.put(&path, &token, json!({ "suspended": "yes" })).await,
        400,
        "invalid",
    )
    .await;
    expect_error(
        h.put(
            &user_path("ghost@example.com"),
            &token,
            json!({ "suspended": true }),
        )
        .await,
        404,
        "notFound",
    )
    .await;
    assert!(!h.google.user(&h.demo.leaver_email).unwrap().suspended);
    h.shutdown().await;
}

#[tokio::test]
async fn sign_out_and_backup_codes_are_repeatable() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let leaver = h.demo.leaver_email.clone();
    for _ in 0..2 {
        let response = h
            .post(&format!("{}/signOut", user_path(&leaver)), &token, None)
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.bytes().await.unwrap().is_empty());
        let response = h
            .post(
                &format!("{}/verificationCodes/invalidate", user_path(&leaver)),
                &token,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let view = h.google.user(&leaver).unwrap();
    assert_eq!(view.sessions, 0);
    assert_eq!(view.backup_codes, 0);
    assert_eq!(
        h.google
            .count_events(event_name::RESET_SIGNIN_COOKIES, &leaver),
        1
    );
    assert_eq!(
        h.google
            .count_events(event_name::DELETE_2SV_SCRATCH_CODES, &leaver),
        1
    );
    let codes = h
        .get_json(&format!("{}/verificationCodes", user_path(&leaver)), &token)
        .await;
    assert_eq!(codes["kind"], "admin#directory#verificationCodesList");
    assert!(codes.get("items").is_none());
    expect_error(
        h.post(
            &format!("{}/signOut", user_path("ghost@example.com")),
            &token,
            None,
        )
        .await,
        404,
        "notFound",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn oauth_grants_and_app_passwords_are_revoked_one_by_one() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let base = user_path(&h.demo.leaver_email);

    let list = h.get_json(&format!("{base}/tokens"), &token).await;
    assert_eq!(list["kind"], "admin#directory#tokenList");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "admin#directory#token");
    assert_eq!(items[0]["displayText"], "Slack");
    assert_eq!(items[0]["userKey"], h.demo.leaver_id);
    assert!(items[0]["scopes"].as_array().unwrap().len() > 1);

    for client in &h.demo.leaver_token_clients {
        let path = format!("{base}/tokens/{client}");
        assert_eq!(h.get(&path, &token).await.status(), StatusCode::OK);
        let response = h.delete(&path, &token).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let body = expect_error(h.delete(&path, &token).await, 404, "notFound").await;
        assert_eq!(body["error"]["message"], "Resource Not Found: clientId");
        assert_eq!(
            h.google.count_events(event_name::REVOKE_3LO_TOKEN, client),
            1
        );
    }
    let list = h.get_json(&format!("{base}/tokens"), &token).await;
    assert!(list.get("items").is_none(), "no items once revoked: {list}");

    let asps = h.get_json(&format!("{base}/asps"), &token).await;
    assert_eq!(asps["kind"], "admin#directory#aspList");
    let asp = &asps["items"][0];
    assert_eq!(asp["name"], "Thunderbird on laptop");
    let code = asp["codeId"].as_i64().unwrap();
    assert!(asp["creationTime"].is_string(), "int64 as string");
    let path = format!("{base}/asps/{code}");
    assert_eq!(
        h.delete(&path, &token).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_error(h.delete(&path, &token).await, 404, "notFound").await;
    expect_error(
        h.delete(&format!("{base}/asps/abc"), &token).await,
        400,
        "invalid",
    )
    .await;
    assert!(h.google.user(&h.demo.leaver_email).unwrap().asps.is_empty());
    assert_eq!(
        h.google
            .count_events(event_name::REVOKE_ASP, &h.demo.leaver_email),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn group_membership_pages_and_removal_is_404_on_repeat() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let leaver = h.demo.leaver_email.clone();

    // Walk the leaver's groups one per page.
    let mut seen = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut query = vec![("userKey", leaver.clone()), ("maxResults", "1".to_owned())];
        if let Some(t) = &page_token {
            query.push(("pageToken", t.clone()));
        }
        let response = h
            .http
            .get(h.url("/admin/directory/v1/groups"))
            .query(&query)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["kind"], "admin#directory#groups");
        let groups = body["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0]["kind"], "admin#directory#group");
        assert!(groups[0]["directMembersCount"].is_string());
        seen.push(groups[0]["email"].as_str().unwrap().to_owned());
        match body["nextPageToken"].as_str() {
            Some(next) => page_token = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() < 10, "pagination terminates");
    }
    assert_eq!(seen, h.demo.leaver_groups);

    // A token from one list is refused on another.
    let response = h
        .http
        .get(h.url("/admin/directory/v1/groups"))
        .query(&[
            ("userKey", h.demo.manager_email.as_str()),
            ("maxResults", "1"),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let foreign_token = response.json::<Value>().await.unwrap()["nextPageToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = h
        .http
        .get(h.url("/admin/directory/v1/groups"))
        .query(&[
            ("userKey", leaver.as_str()),
            ("pageToken", foreign_token.as_str()),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid").await;

    for group in &h.demo.leaver_groups {
        let path = format!("/admin/directory/v1/groups/{group}/members/{leaver}");
        let response = h.delete(&path, &token).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let body = expect_error(h.delete(&path, &token).await, 404, "notFound").await;
        assert_eq!(body["error"]["message"], "Resource Not Found: memberKey");
        assert_eq!(
            h.google
                .count_events(event_name::REMOVE_GROUP_MEMBER, group),
            1
        );
    }
    let body = expect_error(
        h.delete(
            &format!("/admin/directory/v1/groups/nope@example.com/members/{leaver}"),
            &token,
        )
        .await,
        404,
        "notFound",
    )
    .await;
    assert_eq!(body["error"]["message"], "Resource Not Found: groupKey");
    let after = h
        .get_json(
            &format!("/admin/directory/v1/groups?userKey={leaver}"),
            &token,
        )
        .await;
    assert!(after.get("groups").is_none(), "{after}");
    assert!(h.google.user(&leaver).unwrap().groups.is_empty());
    assert_eq!(
        h.google.group_members("engineering@example.com").unwrap(),
        vec![h.demo.manager_email.clone()]
    );
    // The whole customer's groups, and a list without a scope.
    let all = h
        .get_json("/admin/directory/v1/groups?customer=my_customer", &token)
        .await;
    assert_eq!(all["groups"].as_array().unwrap().len(), 3);
    expect_error(
        h.get("/admin/directory/v1/groups", &token).await,
        400,
        "badRequest",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn large_group_lists_cap_at_200_per_page() {
    let h = Harness::start().await;
    let groups: Vec<String> = (0..205)
        .map(|i| format!("team-{i:03}@example.com"))
        .collect();
    h.google.seed_user(SeedUser {
        groups: groups.clone(),
        ..SeedUser::new("joiner@example.com", "Jo", "Iner")
    });
    let token = h.admin_token().await;
    let first = h
        .get_json(
            "/admin/directory/v1/groups?userKey=joiner@example.com&maxResults=500",
            &token,
        )
        .await;
    assert_eq!(first["groups"].as_array().unwrap().len(), 200);
    let next = first["nextPageToken"].as_str().unwrap();
    let second = h
        .get_json(
            &format!("/admin/directory/v1/groups?userKey=joiner@example.com&pageToken={next}"),
            &token,
        )
        .await;
    assert_eq!(second["groups"].as_array().unwrap().len(), 5);
    assert!(second.get("nextPageToken").is_none());
    assert_eq!(second["groups"][4]["email"], groups[204]);
    h.shutdown().await;
}

#[tokio::test]
async fn mobile_devices_are_found_by_email_and_wiped() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let customer = h.demo.customer_id.clone();
    let list = h
        .get_json(
            &format!(
                "/admin/directory/v1/customer/my_customer/devices/mobile?query=email:{}",
                h.demo.leaver_email
            ),
            &token,
        )
        .await;
    assert_eq!(list["kind"], "admin#directory#mobiledevices");
    let devices = list["mobiledevices"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    let device = &devices[0];
    assert_eq!(device["resourceId"], h.demo.leaver_device);
    assert_eq!(device["status"], "APPROVED");
    assert_eq!(device["email"][0], h.demo.leaver_email);
    let nobody = h
        .get_json(
            "/admin/directory/v1/customer/my_customer/devices/mobile?query=email:sam.lee@example.com",
            &token,
        )
        .await;
    assert!(nobody.get("mobiledevices").is_none());

    let device_path = format!(
        "/admin/directory/v1/customer/{customer}/devices/mobile/{}",
        h.demo.leaver_device
    );
    let action = format!("{device_path}/action");
    let response = h
        .post(
            &action,
            &token,
            Some(json!({ "action": "admin_account_wipe" })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.google.user(&h.demo.leaver_email).unwrap().devices[0].status,
        "ACCOUNT_WIPING"
    );
    // Reading the device back lets the wipe finish.
    let read = h.get_json(&device_path, &token).await;
    assert_eq!(read["status"], "ACCOUNT_WIPED");
    // A repeat is accepted and changes nothing.
    let response = h
        .post(
            &action,
            &token,
            Some(json!({ "action": "admin_account_wipe" })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.google
            .count_events(event_name::MOBILE_DEVICE_ACTION, &h.demo.leaver_device),
        1
    );
    // Full wipe after the account wipe.
    h.post(
        &action,
        &token,
        Some(json!({ "action": "admin_remote_wipe" })),
    )
    .await;
    assert_eq!(h.get_json(&device_path, &token).await["status"], "WIPED");

    expect_error(
        h.post(&action, &token, Some(json!({ "action": "explode" })))
            .await,
        400,
        "invalid",
    )
    .await;
    expect_error(
        h.post(
            "/admin/directory/v1/customer/my_customer/devices/mobile/AFiQxQ8nope/action",
            &token,
            Some(json!({ "action": "block" })),
        )
        .await,
        404,
        "notFound",
    )
    .await;
    expect_error(
        h.get(
            "/admin/directory/v1/customer/C0other/devices/mobile",
            &token,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let body = expect_error(
        h.get(
            "/admin/directory/v1/customer/my_customer/devices/mobile?maxResults=101",
            &token,
        )
        .await,
        400,
        "invalidParameter",
    )
    .await;
    assert_eq!(body["error"]["errors"][0]["location"], "maxResults");
    // The readonly scope may list but not act.
    h.google.set_delegated_scopes(
        support::SA_CLIENT_ID,
        &[passage_sandbox::google::scopes::DIRECTORY_DEVICE_MOBILE_READONLY],
    );
    let readonly = h
        .token(
            Some(&h.demo.admin_email),
            &[passage_sandbox::google::scopes::DIRECTORY_DEVICE_MOBILE_READONLY],
        )
        .await;
    assert_eq!(
        h.get(&device_path, &readonly).await.status(),
        StatusCode::OK
    );
    expect_error(
        h.post(&action, &readonly, Some(json!({ "action": "block" })))
            .await,
        403,
        "insufficientPermissions",
    )
    .await;
    h.google
        .set_delegated_scopes(support::SA_CLIENT_ID, ADMIN_SCOPES);
    h.shutdown().await;
}

#[tokio::test]
async fn the_reports_api_serves_the_audit_log() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    h.put(
        &user_path(&h.demo.leaver_email),
        &token,
        json!({ "suspended": true }),
    )
    .await;
    h.delete(
        &format!(
            "/admin/directory/v1/groups/vpn-users@example.com/members/{}",
            h.demo.leaver_email
        ),
        &token,
    )
    .await;
    let activities = h
        .get_json(
            "/admin/reports/v1/activity/users/all/applications/admin?eventName=SUSPEND_USER",
            &token,
        )
        .await;
    assert_eq!(activities["kind"], "admin#reports#activities");
    let items = activities["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["events"][0]["name"], "SUSPEND_USER");
    assert_eq!(items[0]["events"][0]["type"], "USER_SETTINGS");
    assert_eq!(items[0]["actor"]["email"], h.demo.admin_email);
    assert!(items[0]["id"]["uniqueQualifier"].is_string());
    let filtered = h
        .get_json(
            &format!(
                "/admin/reports/v1/activity/users/all/applications/admin?filters=USER_EMAIL=={}",
                h.demo.leaver_email
            ),
            &token,
        )
        .await;
    let names: Vec<&str> = filtered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["events"][0]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["REMOVE_GROUP_MEMBER", "SUSPEND_USER"],
        "newest first"
    );
    expect_error(
        h.get(
            "/admin/reports/v1/activity/users/all/applications/gmail",
            &token,
        )
        .await,
        400,
        "invalid",
    )
    .await;
    h.shutdown().await;
}
