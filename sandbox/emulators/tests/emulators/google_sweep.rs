#![cfg(feature = "google")]
//! What the shared-resource sweep reads and changes: a group's owners listed by role and
//! paged, a member's role patched, and shared drives that only an administrator asking for
//! `useDomainAdminAccess` reaches, with their members paged and an address only when `fields`
//! asks for it; the knob that fails those lists after their first page.

use crate::google_support as support;

use passage_sandbox::google::{DEMO_CO_OWNED_GROUP, DEMO_LEAVER, DEMO_MANAGER, DEMO_OWNED_GROUP};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Harness, expect_error};

fn owners_path(group: &str) -> String {
    format!("/admin/directory/v1/groups/{group}/members?roles=OWNER&maxResults=1")
}

#[tokio::test]
async fn owners_are_listed_by_role_page_by_page_and_a_role_is_patched() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let path = owners_path(DEMO_CO_OWNED_GROUP);
    let first = h.get_json(&path, &token).await;
    assert_eq!(first["members"][0]["email"], DEMO_LEAVER);
    assert_eq!(first["members"][0]["role"], "OWNER");
    let next = first["nextPageToken"].as_str().unwrap();
    let second = h
        .get_json(&format!("{path}&pageToken={next}"), &token)
        .await;
    assert_eq!(second["members"][0]["email"], "priya.patel@example.com");
    assert!(second.get("nextPageToken").is_none());

    let member = format!("/admin/directory/v1/groups/{DEMO_OWNED_GROUP}/members/{DEMO_LEAVER}");
    let patched = h
        .call(
            Method::PATCH,
            &member,
            &token,
            Some(json!({"role": "MEMBER"})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    // Google lets a group lose its last owner.
    assert!(h.google.group_owners(DEMO_OWNED_GROUP).is_empty());
    let stranger = format!("/admin/directory/v1/groups/{DEMO_OWNED_GROUP}/members/{DEMO_MANAGER}");
    let body = expect_error(
        h.call(
            Method::PATCH,
            &stranger,
            &token,
            Some(json!({"role": "OWNER"})),
        )
        .await,
        404,
        "notFound",
    )
    .await;
    assert_eq!(body["error"]["message"], "Resource Not Found: memberKey");

    h.google.fail_sweep_list_pages(true);
    let path = "/admin/directory/v1/groups/all-staff@example.com/members?roles=OWNER";
    let first = h.get_json(path, &token).await;
    assert_eq!(first["members"].as_array().unwrap().len(), 1);
    let next = first["nextPageToken"].as_str().unwrap().to_owned();
    expect_error(
        h.get(&format!("{path}&pageToken={next}"), &token).await,
        500,
        "backendError",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn shared_drives_are_reached_only_as_a_domain_administrator() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let drive = h.demo.shared_drive_id.clone();
    // The administrator is no member: without domain admin access there is nothing to see.
    let own = h.get_json("/drive/v3/drives", &token).await;
    assert_eq!(own["drives"], json!([]));
    let all = h
        .get_json("/drive/v3/drives?useDomainAdminAccess=true", &token)
        .await;
    assert_eq!(all["drives"][0]["id"], drive.as_str());
    assert_eq!(all["drives"][0]["name"], "Design Reviews");

    let base = format!("/drive/v3/files/{drive}/permissions");
    let body = expect_error(
        h.get(&format!("{base}?useDomainAdminAccess=true"), &token)
            .await,
        404,
        "notFound",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        format!("File not found: {drive}.")
    );
    expect_error(
        h.get(&format!("{base}?supportsAllDrives=true"), &token)
            .await,
        404,
        "notFound",
    )
    .await;
    let q = "supportsAllDrives=true&useDomainAdminAccess=true";
    let bare = h.get_json(&format!("{base}?{q}"), &token).await;
    assert!(bare["permissions"][0].get("emailAddress").is_none());
    let full = h
        .get_json(
            &format!(
                "{base}?{q}&pageSize=1&fields=nextPageToken,permissions(id,emailAddress,role)"
            ),
            &token,
        )
        .await;
    let leaver: &Value = &full["permissions"][0];
    assert_eq!(leaver["emailAddress"], DEMO_LEAVER);
    assert_eq!(leaver["role"], "organizer");
    assert!(full["nextPageToken"].is_string());

    let created = h
        .call(
            Method::POST,
            &format!("{base}?{q}"),
            &token,
            Some(json!({"type": "user", "role": "organizer", "emailAddress": DEMO_MANAGER})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let gone = h
        .call(
            Method::DELETE,
            &format!("{base}/{}?{q}", leaver["id"].as_str().unwrap()),
            &token,
            None,
        )
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.google.shared_drive_members(&drive),
        [
            ("priya.patel@example.com".to_owned(), "writer".to_owned()),
            (DEMO_MANAGER.to_owned(), "organizer".to_owned()),
        ]
    );
    h.shutdown().await;
}
