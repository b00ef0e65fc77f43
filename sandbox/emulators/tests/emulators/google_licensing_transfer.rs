#![cfg(feature = "google")]
//! Licence removal (404 as "already gone", 412 under auto-licensing) and
//! the Data Transfer lifecycle.

use crate::google_support as support;

use passage_sandbox::google::{
    APP_CALENDAR, APP_DRIVE, PRODUCT_GOOGLE_APPS, SKU_BUSINESS_STANDARD, TransferStatus, event_name,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Harness, expect_error, user_path};

fn license_path(user: &str) -> String {
    format!(
        "/apps/licensing/v1/product/{PRODUCT_GOOGLE_APPS}/sku/{SKU_BUSINESS_STANDARD}/user/{user}"
    )
}

#[tokio::test]
async fn a_licence_is_read_removed_and_then_gone() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let path = license_path(&h.demo.leaver_email);

    let assignment = h.get_json(&path, &token).await;
    assert_eq!(assignment["kind"], "licensing#licenseAssignment");
    assert_eq!(assignment["userId"], h.demo.leaver_email);
    assert_eq!(assignment["productId"], PRODUCT_GOOGLE_APPS);
    assert_eq!(assignment["skuId"], SKU_BUSINESS_STANDARD);
    assert_eq!(assignment["skuName"], "Google Workspace Business Standard");
    assert!(assignment["selfLink"].as_str().unwrap().ends_with(&path));
    // Licensing names users by primary e-mail only: the numeric id finds no assignment.
    assert_eq!(
        h.get(&license_path(&h.demo.leaver_id), &token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let removed = h.delete(&path, &token).await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(removed.json::<Value>().await.unwrap(), json!({}));
    assert!(
        !h.google
            .user(&h.demo.leaver_email)
            .unwrap()
            .has_license(PRODUCT_GOOGLE_APPS, SKU_BUSINESS_STANDARD)
    );
    for response in [h.delete(&path, &token).await, h.get(&path, &token).await] {
        let body = expect_error(response, 404, "notFound").await;
        assert_eq!(
            body["error"]["message"],
            "User does not have a license for specified sku and product"
        );
    }
    expect_error(
        h.delete(&license_path("ghost@example.com"), &token).await,
        404,
        "notFound",
    )
    .await;
    assert_eq!(
        h.google
            .count_events(event_name::USER_LICENSE_REVOKE, &h.demo.leaver_email),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn auto_licensing_refuses_removal_until_the_user_changes_ou() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let priya = "priya.patel@example.com";
    let path = license_path(priya);
    let body = expect_error(h.delete(&path, &token).await, 412, "conditionNotMet").await;
    assert_eq!(
        body["error"]["message"],
        "Auto License un-assignment is not allowed."
    );
    assert!(
        h.google
            .user(priya)
            .unwrap()
            .has_license(PRODUCT_GOOGLE_APPS, SKU_BUSINESS_STANDARD)
    );

    let moved = h
        .put(
            &user_path(priya),
            &token,
            json!({ "orgUnitPath": "/Leavers" }),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(
        moved.json::<Value>().await.unwrap()["orgUnitPath"],
        "/Leavers"
    );
    assert_eq!(h.delete(&path, &token).await.status(), StatusCode::OK);
    assert_eq!(
        h.google
            .count_events(event_name::MOVE_USER_TO_ORG_UNIT, priya),
        1
    );
    assert_eq!(
        h.google
            .count_events(event_name::USER_LICENSE_REVOKE, priya),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn product_assignments_page_with_max_results() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let base = format!("/apps/licensing/v1/product/{PRODUCT_GOOGLE_APPS}/users");
    let body = expect_error(h.get(&base, &token).await, 400, "required").await;
    assert_eq!(body["error"]["message"], "Required parameter: customerId");

    let mut users = Vec::new();
    let mut url = format!("{base}?customerId={}&maxResults=2", h.demo.customer_id);
    loop {
        let page = h.get_json(&url, &token).await;
        assert_eq!(page["kind"], "licensing#licenseAssignmentList");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        users.extend(
            items
                .iter()
                .map(|i| i["userId"].as_str().unwrap().to_owned()),
        );
        match page["nextPageToken"].as_str() {
            Some(next) => {
                url = format!(
                    "{base}?customerId={}&maxResults=2&pageToken={next}",
                    h.demo.customer_id
                );
            }
            None => break,
        }
    }
    // Every licensed demo user once (the admin has no licence).
    assert_eq!(
        users,
        [
            "jane.doe@example.com",
            "sam.lee@example.com",
            "priya.patel@example.com",
            "old.contractor@example.com"
        ]
    );
    let by_sku = h
        .get_json(
            &format!(
                "/apps/licensing/v1/product/{PRODUCT_GOOGLE_APPS}/sku/1010020020/users?customerId={}",
                h.demo.customer_id
            ),
            &token,
        )
        .await;
    assert!(by_sku.get("items").is_none());
    expect_error(
        h.get(
            &format!("{base}?customerId={}&maxResults=1001", h.demo.customer_id),
            &token,
        )
        .await,
        400,
        "invalidParameter",
    )
    .await;
    expect_error(
        h.get(&format!("{base}?customerId=C0someoneelse"), &token)
            .await,
        403,
        "forbidden",
    )
    .await;
    h.shutdown().await;
}

fn transfer_body(old: &str, new: &str) -> Value {
    json!({
        "oldOwnerUserId": old,
        "newOwnerUserId": new,
        "applicationDataTransfers": [
            {
                "applicationId": APP_DRIVE,
                "applicationTransferParams": [{ "key": "PRIVACY_LEVEL", "value": ["PRIVATE", "SHARED"] }],
            },
            {
                "applicationId": APP_CALENDAR,
                "applicationTransferParams": [{ "key": "RELEASE_RESOURCES", "value": ["TRUE"] }],
            },
        ],
    })
}

#[tokio::test]
async fn a_data_transfer_runs_new_in_progress_completed_and_moves_the_data() {
    // Slow clock: only reads move the transfer here.
    let h = Harness::with_config(passage_sandbox::google::GoogleConfig {
        async_step: std::time::Duration::from_secs(600),
        ..passage_sandbox::google::GoogleConfig::default()
    })
    .await;
    let token = h.admin_token().await;

    let apps = h
        .get_json("/admin/datatransfer/v1/applications", &token)
        .await;
    assert_eq!(apps["kind"], "admin#datatransfer#applicationsList");
    let ids: Vec<&str> = apps["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [APP_DRIVE, APP_CALENDAR]);
    assert_eq!(
        apps["applications"][0]["transferParams"][0]["key"],
        "PRIVACY_LEVEL"
    );

    // Nothing in flight yet.
    let existing = h
        .get_json(
            &format!(
                "/admin/datatransfer/v1/transfers?oldOwnerUserId={}",
                h.demo.leaver_id
            ),
            &token,
        )
        .await;
    assert!(existing.get("dataTransfers").is_none());

    let created = h
        .post(
            "/admin/datatransfer/v1/transfers",
            &token,
            Some(transfer_body(&h.demo.leaver_id, &h.demo.manager_id)),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["kind"], "admin#datatransfer#DataTransfer");
    assert_eq!(created["overallTransferStatusCode"], "new");
    assert_eq!(created["oldOwnerUserId"], h.demo.leaver_id);
    assert!(created["requestTime"].is_string());
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/datatransfer/v1/transfers/{id}");

    let second = h.get_json(&path, &token).await;
    assert_eq!(second["overallTransferStatusCode"], "inProgress");
    assert_eq!(
        second["applicationDataTransfers"][0]["applicationTransferStatus"],
        "inProgress"
    );
    assert_eq!(
        h.google
            .user(&h.demo.leaver_email)
            .unwrap()
            .drive_private_files,
        120
    );
    let third = h.get_json(&path, &token).await;
    assert_eq!(third["overallTransferStatusCode"], "completed");
    let leaver = h.google.user(&h.demo.leaver_email).unwrap();
    let manager = h.google.user(&h.demo.manager_email).unwrap();
    assert_eq!(
        (
            leaver.drive_private_files,
            leaver.drive_shared_files,
            leaver.calendar_events
        ),
        (0, 0, 0)
    );
    assert_eq!(manager.drive_shared_files, 12 + 120 + 35);
    assert_eq!(manager.calendar_events, 30 + 42);
    assert_eq!(
        h.get_json(&path, &token).await["overallTransferStatusCode"],
        "completed"
    );

    // A connector checking before starting another sees this one.
    let existing = h
        .get_json(
            &format!(
                "/admin/datatransfer/v1/transfers?oldOwnerUserId={}",
                h.demo.leaver_id
            ),
            &token,
        )
        .await;
    assert_eq!(existing["kind"], "admin#datatransfer#dataTransfersList");
    assert_eq!(existing["dataTransfers"].as_array().unwrap().len(), 1);
    assert_eq!(existing["dataTransfers"][0]["id"], id);
    let completed = h
        .get_json("/admin/datatransfer/v1/transfers?status=completed", &token)
        .await;
    assert_eq!(completed["dataTransfers"].as_array().unwrap().len(), 1);

    // Inserting again is not idempotent: a second transfer starts.
    let again: Value = h
        .post(
            "/admin/datatransfer/v1/transfers",
            &token,
            Some(transfer_body(&h.demo.leaver_id, &h.demo.manager_id)),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(again["id"], id);
    assert_eq!(h.google.transfers().len(), 2);
    assert_eq!(
        h.google.count_events(
            event_name::CREATE_DATA_TRANSFER_REQUEST,
            &h.demo.leaver_email
        ),
        2
    );
    assert_eq!(h.google.count_events(event_name::CHANGE_OWNER, &id), 1);
    expect_error(
        h.get("/admin/datatransfer/v1/transfers/AKrEtInope", &token)
            .await,
        404,
        "notFound",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn transfers_progress_with_time_and_validate_their_input() {
    let h = Harness::with_config(passage_sandbox::google::GoogleConfig {
        async_step: std::time::Duration::from_millis(50),
        ..passage_sandbox::google::GoogleConfig::default()
    })
    .await;
    let token = h.admin_token().await;
    let transfers = "/admin/datatransfer/v1/transfers";

    // The API takes ids, not addresses; apps and params must be known.
    for body in [
        transfer_body(&h.demo.leaver_email, &h.demo.manager_id),
        transfer_body(&h.demo.leaver_id, &h.demo.leaver_id),
        transfer_body(&h.demo.leaver_id, "123"),
        json!({ "oldOwnerUserId": h.demo.leaver_id, "newOwnerUserId": h.demo.manager_id }),
        json!({
            "oldOwnerUserId": h.demo.leaver_id,
            "newOwnerUserId": h.demo.manager_id,
            "applicationDataTransfers": [{ "applicationId": "1" }],
        }),
        json!({
            "oldOwnerUserId": h.demo.leaver_id,
            "newOwnerUserId": h.demo.manager_id,
            "applicationDataTransfers": [{
                "applicationId": APP_DRIVE,
                "applicationTransferParams": [{ "key": "PRIVACY_LEVEL", "value": ["EVERYTHING"] }],
            }],
        }),
    ] {
        expect_error(h.post(transfers, &token, Some(body)).await, 400, "invalid").await;
    }
    assert!(h.google.transfers().is_empty());

    // Drive only, default privacy level (shared files only).
    let created: Value = h
        .post(
            transfers,
            &token,
            Some(json!({
                "oldOwnerUserId": h.demo.leaver_id,
                "newOwnerUserId": h.demo.manager_id,
                "applicationDataTransfers": [{ "applicationId": APP_DRIVE }],
            })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["overallTransferStatusCode"], "new");
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let views = h.google.transfers();
    assert_eq!(views[0].status, TransferStatus::Completed);
    let leaver = h.google.user(&h.demo.leaver_email).unwrap();
    assert_eq!(leaver.drive_shared_files, 0);
    assert_eq!(
        leaver.drive_private_files, 120,
        "private files stay without PRIVATE"
    );
    assert_eq!(leaver.calendar_events, 42, "calendar was not requested");

    // A suspended destination is refused; a suspended source is fine.
    h.put(
        &user_path(&h.demo.leaver_email),
        &token,
        json!({ "suspended": true }),
    )
    .await;
    let old_contractor = h.google.user("old.contractor@example.com").unwrap().id;
    expect_error(
        h.post(
            transfers,
            &token,
            Some(transfer_body(&h.demo.manager_id, &old_contractor)),
        )
        .await,
        400,
        "invalid",
    )
    .await;
    let from_suspended = h
        .post(
            transfers,
            &token,
            Some(transfer_body(&h.demo.leaver_id, &h.demo.manager_id)),
        )
        .await;
    assert_eq!(from_suspended.status(), StatusCode::OK);
    h.shutdown().await;
}
