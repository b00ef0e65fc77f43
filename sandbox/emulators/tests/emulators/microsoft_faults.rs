#![cfg(feature = "microsoft")]
//! Pagination, throttling, injected failures, the licence-before-conversion
//! trap and the audit log endpoint.

use crate::microsoft_common as common;

use std::time::Duration;

use common::{Ms, encode, expect_error, header};
use passage_sandbox::microsoft::{
    DEMO_LEAVER, GroupKind, MailboxPurpose, MicrosoftConfig, SeedGroup, SeedUser, activity,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Follows `@odata.nextLink` verbatim; returns every page.
async fn walk(h: &Ms, first: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut url = h.url(first);
    loop {
        let response = h.graph(Method::GET, &url, None).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        let body: Value = response.json().await.unwrap();
        let next = body["@odata.nextLink"].as_str().map(str::to_owned);
        pages.push(body);
        match next {
            Some(n) => url = n,
            None => return pages,
        }
        assert!(pages.len() < 50, "pagination does not terminate");
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn member_of_pages_with_top_and_next_link() {
    let h = Ms::start().await;
    let names: Vec<String> = (1..=7).map(|i| format!("Project {i}")).collect();
    for name in &names {
        h.ms.seed_group(SeedGroup::new(name, GroupKind::Security));
    }
    let user = h.ms.seed_user(SeedUser {
        groups: names.clone(),
        ..SeedUser::new("busy.bee@example.com", "Busy Bee")
    });

    let pages = walk(
        &h,
        &format!("/v1.0/users/{user}/memberOf?$top=3&$select=id,displayName"),
    )
    .await;
    assert_eq!(pages.len(), 3);
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["value"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    let next = pages[0]["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}/v1.0/users/{user}/memberOf?", h.ms.base_url())));
    assert!(next.contains("$top=3") && next.contains("$skiptoken="));
    let seen: Vec<String> = pages
        .iter()
        .flat_map(|p| {
            p["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["displayName"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(seen, names);
    // Only selected properties (and the type annotation) come back.
    let first = &pages[0]["value"][0];
    assert_eq!(first.as_object().unwrap().len(), 3);

    // Removing a member between pages does not skip anyone.
    let page1 = h
        .get_json(&format!(
            "/v1.0/users/{user}/memberOf/microsoft.graph.group?$top=3"
        ))
        .await;
    let first_ids = ids(&page1);
    let removed = &first_ids[0];
    assert_eq!(
        h.delete(&format!("/v1.0/groups/{removed}/members/{user}/$ref"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let rest = walk_from(&h, page1["@odata.nextLink"].as_str().unwrap()).await;
    let rest_ids: Vec<String> = rest.iter().flat_map(ids).collect();
    assert_eq!(rest_ids.len(), 4);
    assert!(rest_ids.iter().all(|id| !first_ids.contains(id)));
    assert!(page1["value"][0].get("@odata.type").is_none());

    // Graph's page-size bounds.
    let body = expect_error(
        h.get(&format!("/v1.0/users/{user}/memberOf?$top=1000"))
            .await,
        400,
        "Request_BadRequest",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    );
    expect_error(
        h.get(&format!("/v1.0/users/{user}/memberOf?$skiptoken=garbage"))
            .await,
        400,
        "Request_BadRequest",
    )
    .await;
    h.shutdown().await;
}

async fn walk_from(h: &Ms, next: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut url = next.to_owned();
    loop {
        let body: Value = h.graph(Method::GET, &url, None).await.json().await.unwrap();
        let next = body["@odata.nextLink"].as_str().map(str::to_owned);
        pages.push(body);
        match next {
            Some(n) => url = n,
            None => return pages,
        }
    }
}

#[tokio::test]
async fn burst_429_carries_retry_after_then_succeeds() {
    let h = Ms::start().await;
    let path = format!("/v1.0/users/{}", h.demo.leaver_id);
    h.ms.knobs().burst_429(2);
    for _ in 0..2 {
        let response = h.patch(&path, json!({ "accountEnabled": false })).await;
        assert_eq!(header(&response, "retry-after").as_deref(), Some("1"));
        assert!(header(&response, "x-ms-throttle-scope").is_some());
        let body = expect_error(response, 429, "TooManyRequests").await;
        assert_eq!(body["error"]["innerError"]["status"], "429");
    }
    assert!(h.ms.user(DEMO_LEAVER).unwrap().account_enabled);
    let ok = h.patch(&path, json!({ "accountEnabled": false })).await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.ms.counters().rate_limited(), 2);
    assert_eq!(h.ms.counters().count("PATCH", "/v1.0/users/{id}"), 3);
    assert_eq!(h.ms.count_events(activity::DISABLE_ACCOUNT, DEMO_LEAVER), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn per_app_minute_budget() {
    let h = Ms::with_config(MicrosoftConfig {
        rate_limit_per_minute: 3,
        ..MicrosoftConfig::default()
    })
    .await;
    let path = format!("/v1.0/users/{}", encode(DEMO_LEAVER));
    for _ in 0..3 {
        assert_eq!(h.get(&path).await.status(), StatusCode::OK);
    }
    let limited = h.get(&path).await;
    let wait: u64 = header(&limited, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    expect_error(limited, 429, "TooManyRequests").await;
    // Another app has its own bucket.
    let other = h.token_with_roles("bbbbbbbb-0000-0000-0000-000000000001", &["User.Read.All"]);
    assert_eq!(
        h.graph_as(&other, Method::GET, &path, None).await.status(),
        StatusCode::OK
    );
    h.ms.reset_rate_limit();
    assert_eq!(h.get(&path).await.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn injected_5xx_and_lost_responses() {
    let h = Ms::start().await;
    let path = format!("/v1.0/users/{}", h.demo.leaver_id);
    h.ms.knobs().set_error_rate_5xx(1.0);
    let failed = h.patch(&path, json!({ "accountEnabled": false })).await;
    let status = failed.status().as_u16();
    assert!([500, 502, 503].contains(&status));
    let body: Value = failed.json().await.unwrap();
    assert!(body["error"]["code"].is_string());
    assert!(h.ms.user(DEMO_LEAVER).unwrap().account_enabled);
    h.ms.knobs().set_error_rate_5xx(0.0);

    // A lost response: applied, answered 502; the read-back proves it.
    h.ms.knobs().fail_after_apply(1);
    let lost = h.patch(&path, json!({ "accountEnabled": false })).await;
    assert_eq!(lost.status(), StatusCode::BAD_GATEWAY);
    let read = h.get_json(&format!("{path}?$select=accountEnabled")).await;
    assert_eq!(read["accountEnabled"], false);
    assert_eq!(
        h.patch(&path, json!({ "accountEnabled": false }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.ms.count_events(activity::DISABLE_ACCOUNT, DEMO_LEAVER), 1);
    assert!(h.ms.counters().server_errors() >= 2);

    // Latency applies to every request.
    h.ms.knobs().set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    h.get(&path).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    h.shutdown().await;
}

#[tokio::test]
async fn removing_the_exchange_licence_first_loses_the_mailbox() {
    let h = Ms::start().await;
    let leaver = h.demo.leaver_id.clone();
    let remove_e3 = json!({ "addLicenses": [], "removeLicenses": [h.demo.direct_sku_id] });
    let ok = h
        .post(
            &format!("/v1.0/users/{leaver}/assignLicense"),
            Some(remove_e3),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);

    // Graph can no longer reach the mailbox …
    let body = expect_error(
        h.get(&format!(
            "/v1.0/users/{leaver}/mailboxSettings?$select=userPurpose"
        ))
        .await,
        404,
        "MailboxNotEnabledForRESTAPI",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
    );
    // … and Exchange cannot convert it.
    let convert = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": DEMO_LEAVER, "Type": "Shared" }),
        )
        .await;
    assert_eq!(convert.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = convert.json().await.unwrap();
    assert!(
        body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ManagementObjectNotFoundException")
    );
    let mailbox = h.ms.mailbox(DEMO_LEAVER).unwrap();
    assert!(!mailbox.accessible);
    assert_eq!(mailbox.purpose, MailboxPurpose::User);
    assert_eq!(h.ms.count_events(activity::SET_MAILBOX, DEMO_LEAVER), 0);

    // Re-licensing within the grace period reconnects it; then the right
    // order works and survives the licence removal.
    let add_e3 = json!({ "addLicenses": [{ "skuId": h.demo.direct_sku_id, "disabledPlans": [] }], "removeLicenses": [] });
    assert_eq!(
        h.post(&format!("/v1.0/users/{leaver}/assignLicense"), Some(add_e3))
            .await
            .status(),
        StatusCode::OK
    );
    let convert = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": DEMO_LEAVER, "Type": "Shared" }),
        )
        .await;
    assert_eq!(convert.status(), StatusCode::OK);
    let remove_e3 = json!({ "addLicenses": [], "removeLicenses": [h.demo.direct_sku_id] });
    assert_eq!(
        h.post(
            &format!("/v1.0/users/{leaver}/assignLicense"),
            Some(remove_e3)
        )
        .await
        .status(),
        StatusCode::OK
    );
    let purpose = h
        .get_json(&format!(
            "/v1.0/users/{leaver}/mailboxSettings?$select=userPurpose"
        ))
        .await;
    assert_eq!(purpose["userPurpose"], "shared");
    assert!(h.ms.mailbox(DEMO_LEAVER).unwrap().accessible);
    assert_eq!(h.ms.count_events(activity::CHANGE_LICENSE, DEMO_LEAVER), 3);
    h.shutdown().await;
}

#[tokio::test]
async fn directory_audits_show_each_change_once() {
    let h = Ms::start().await;
    let leaver = h.demo.leaver_id.clone();
    let disable = h
        .graph(
            Method::PATCH,
            &format!("/v1.0/users/{leaver}"),
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    let request_id = header(&disable, "request-id").unwrap();
    h.post(&format!("/v1.0/users/{leaver}/revokeSignInSessions"), None)
        .await;
    h.delete(&format!(
        "/v1.0/groups/{}/members/{leaver}/$ref",
        h.demo.security_group_id
    ))
    .await;
    // Exchange-side changes stay out of Entra's log.
    h.cmdlet(
        "Set-Mailbox",
        json!({ "Identity": DEMO_LEAVER, "Type": "Shared" }),
    )
    .await;

    let filter = format!("targetResources/any(t:t/id eq '{leaver}')");
    let url = format!(
        "/v1.0/auditLogs/directoryAudits?$filter={}",
        url_encode(&filter)
    );
    let audits = h.get_json(&url).await;
    let events = audits["value"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["activityDisplayName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            activity::REMOVE_MEMBER,
            activity::REVOKE_SESSIONS,
            activity::DISABLE_ACCOUNT
        ]
    );
    let disabled = &events[2];
    assert_eq!(disabled["correlationId"], request_id.as_str());
    assert_eq!(disabled["loggedByService"], "Core Directory");
    assert_eq!(disabled["initiatedBy"]["app"]["appId"], common::CLIENT_ID);
    assert_eq!(
        disabled["targetResources"][0]["modifiedProperties"][0]["displayName"],
        "AccountEnabled"
    );

    let only = h
        .get_json(&format!(
            "/v1.0/auditLogs/directoryAudits?$filter={}&$top=1",
            url_encode(&format!(
                "{filter} and activityDisplayName eq 'Disable account'"
            ))
        ))
        .await;
    assert_eq!(only["value"].as_array().unwrap().len(), 1);
    assert!(only.get("@odata.nextLink").is_none());
    let paged = h.get_json("/v1.0/auditLogs/directoryAudits?$top=2").await;
    assert!(paged["@odata.nextLink"].is_string());

    // All four changes are in the emulator's own log.
    assert_eq!(h.ms.audit_log().len(), 4);
    h.shutdown().await;
}

fn url_encode(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace('\'', "%27")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace(':', "%3A")
        .replace('/', "%2F")
}

#[tokio::test]
async fn a_bodiless_write_without_a_length_is_refused_411_and_changes_nothing() {
    let h = Ms::start().await;
    let path = format!("/v1.0/users/{}/revokeSignInSessions", h.demo.leaver_id);
    let before = h.ms.count_events(activity::REVOKE_SESSIONS, DEMO_LEAVER);
    let bare = h
        .http
        .post(h.url(&path))
        .bearer_auth(&h.graph_token)
        .header("client-request-id", uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .unwrap();
    // A POST built with no body states no length.
    expect_error(bare, 411, "LengthRequired").await;
    assert_eq!(
        h.ms.count_events(activity::REVOKE_SESSIONS, DEMO_LEAVER),
        before
    );
    let stated = h.post(&path, None).await;
    assert_eq!(stated.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn each_service_limit_has_its_own_window() {
    let h = Ms::start().await;
    // Intune's documented limit: 200 requests per 20 s per app and tenant.
    let devices = "/v1.0/deviceManagement/managedDevices";
    for _ in 0..200 {
        assert_eq!(h.get(devices).await.status(), StatusCode::OK);
    }
    let limited = h.get(devices).await;
    let wait: u64 = header(&limited, "retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    expect_error(limited, 429, "TooManyRequests").await;
    // Identity reads are metered apart, and are not held by Intune's refusal.
    let path = format!("/v1.0/users/{}", encode(DEMO_LEAVER));
    assert_eq!(h.get(&path).await.status(), StatusCode::OK);
    h.ms.enforce_service_limits(false);
    assert_eq!(h.get(devices).await.status(), StatusCode::OK);
    h.shutdown().await;
}
