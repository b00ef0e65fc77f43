#![cfg(feature = "microsoft")]
//! The resources a leaver holds beyond their own account: shared mailbox rights through the
//! Exchange cmdlets, group ownership with Graph's last-owner refusal, owned objects, and the
//! OneDrive root's permissions and sharing links.

use crate::microsoft_common as common;

use common::{Ms, expect_error};
use passage_sandbox::microsoft::{DEMO_LEAVER, DEMO_MANAGER, DEMO_SHARED_MAILBOX, MailboxRight};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn shared_mailbox_rights_are_listed_and_removed_with_a_warning_when_gone() {
    let h = Ms::start().await;
    let shared: Value = h
        .cmdlet(
            "Get-Mailbox",
            json!({"RecipientTypeDetails": "SharedMailbox"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let rows = shared["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["PrimarySmtpAddress"], DEMO_SHARED_MAILBOX);
    assert_eq!(rows[0]["GrantSendOnBehalfTo"], json!([DEMO_LEAVER]));
    let send_as: Value = h
        .cmdlet(
            "Get-RecipientPermission",
            json!({"Identity": DEMO_SHARED_MAILBOX}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(send_as["value"][0]["Trustee"], DEMO_LEAVER);

    for (name, params) in [
        (
            "Remove-MailboxPermission",
            json!({"Identity": DEMO_SHARED_MAILBOX, "User": DEMO_LEAVER, "AccessRights": ["FullAccess"]}),
        ),
        (
            "Remove-RecipientPermission",
            json!({"Identity": DEMO_SHARED_MAILBOX, "Trustee": DEMO_LEAVER, "AccessRights": ["SendAs"]}),
        ),
        (
            "Set-Mailbox",
            json!({"Identity": DEMO_SHARED_MAILBOX, "GrantSendOnBehalfTo": {"remove": [DEMO_LEAVER]}}),
        ),
    ] {
        let r = h.cmdlet(name, params.clone()).await;
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["@adminapi.warnings"].as_array().unwrap().is_empty(),
            "{name}"
        );
        // Again: Exchange warns, it does not fail.
        let again: Value = h.cmdlet(name, params).await.json().await.unwrap();
        assert_eq!(
            again["@adminapi.warnings"].as_array().unwrap().len(),
            1,
            "{name}"
        );
    }
    assert!(
        h.ms.mailbox_grants(DEMO_SHARED_MAILBOX, DEMO_LEAVER)
            .is_empty()
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_shared_mailbox_list_can_fail_mid_paging() {
    let h = Ms::start().await;
    h.ms.seed_user(passage_sandbox::microsoft::SeedUser {
        mailbox: Some(passage_sandbox::microsoft::MailboxPurpose::Shared),
        ..passage_sandbox::microsoft::SeedUser::new("billing@example.com", "Billing")
    });
    h.ms.fail_shared_mailbox_pages(true);
    let first: Value = h
        .cmdlet(
            "Get-Mailbox",
            json!({"RecipientTypeDetails": "SharedMailbox"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["value"].as_array().unwrap().len(), 1);
    let next = first["@odata.nextLink"].as_str().unwrap();
    let second = h
        .http
        .post(next)
        .bearer_auth(&h.exchange_token)
        .json(&json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"RecipientTypeDetails": "SharedMailbox"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::INTERNAL_SERVER_ERROR);
    h.shutdown().await;
}

#[tokio::test]
async fn a_groups_last_owner_cannot_be_removed_until_another_is_added() {
    let h = Ms::start().await;
    let group = h.demo.owned_group_id.clone();
    let leaver = h.demo.leaver_id.clone();
    let owned = h
        .get_json(&format!("/v1.0/users/{leaver}/ownedObjects"))
        .await;
    let kinds: Vec<&str> = owned["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["@odata.type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["#microsoft.graph.group", "#microsoft.graph.application"]
    );

    let path = format!("/v1.0/groups/{group}/owners/{leaver}/$ref");
    let refused = h.delete(&path).await;
    let body = expect_error(refused, 400, "Request_BadRequest").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least one owner")
    );
    assert_eq!(h.ms.group_owners(&group), vec![DEMO_LEAVER]);

    let manager = format!(
        "{}/v1.0/directoryObjects/{}",
        h.ms.base_url(),
        h.demo.manager_id
    );
    let add = h
        .post(
            &format!("/v1.0/groups/{group}/owners/$ref"),
            Some(json!({"@odata.id": manager})),
        )
        .await;
    assert_eq!(add.status(), StatusCode::NO_CONTENT);
    let twice = h
        .post(
            &format!("/v1.0/groups/{group}/owners/$ref"),
            Some(json!({"@odata.id": manager})),
        )
        .await;
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    assert_eq!(h.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.ms.group_owners(&group), vec![DEMO_MANAGER]);
    // The app registration keeps its owner: nothing here changes it.
    assert_eq!(h.ms.app_owners(&h.demo.owned_app_id), vec![DEMO_LEAVER]);
    h.shutdown().await;
}

#[tokio::test]
async fn the_onedrive_root_is_shared_with_the_manager_and_its_links_removed() {
    let h = Ms::start().await;
    let leaver = h.demo.leaver_id.clone();
    let drive = h.get_json(&format!("/v1.0/users/{leaver}/drive")).await;
    let drive = drive["id"].as_str().unwrap().to_owned();
    let root = format!("/v1.0/users/{leaver}/drives/{drive}/items/root");
    let perms = h.get_json(&format!("{root}/permissions")).await;
    let links: Vec<String> = perms["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["link"].is_object())
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(links.len(), 2);
    let invite = h
        .graph(
            Method::POST,
            &format!("{root}/invite"),
            Some(json!({"recipients": [{"email": DEMO_MANAGER}], "roles": ["write"], "requireSignIn": true, "sendInvitation": false})),
        )
        .await;
    assert_eq!(invite.status(), StatusCode::OK);
    for id in &links {
        let gone = h.delete(&format!("{root}/permissions/{id}")).await;
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        let again = h.delete(&format!("{root}/permissions/{id}")).await;
        assert_eq!(again.status(), StatusCode::NOT_FOUND);
    }
    let after = h.ms.drive_permissions(DEMO_LEAVER);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].grantee.as_deref(), Some(DEMO_MANAGER));
    assert_eq!(after[0].roles, vec!["write"]);
    h.shutdown().await;
}

#[tokio::test]
async fn files_need_a_files_permission() {
    let h = Ms::start().await;
    let token = h.token_with_roles("cccccccc-0000-0000-0000-00000000f11e", &["User.Read.All"]);
    let leaver = h.demo.leaver_id.clone();
    let r = h
        .graph_as(
            &token,
            Method::GET,
            &format!("/v1.0/users/{leaver}/drive"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let _ = MailboxRight::SendAs;
    h.shutdown().await;
}

#[tokio::test]
async fn inbox_rules_are_paged_and_a_knob_fails_the_second_page() {
    let h = Ms::start().await;
    for n in 0..11 {
        h.ms.seed_inbox_rule(DEMO_MANAGER, &format!("r{n}"), &[DEMO_LEAVER], &[])
            .unwrap();
    }
    let path = format!(
        "/v1.0/users/{}/mailFolders/inbox/messageRules",
        common::encode(DEMO_MANAGER)
    );
    // The demo's rule redirecting to the leaver, and the eleven: ten, then two.
    let first = h.get_json(&path).await;
    assert_eq!(first["value"].as_array().unwrap().len(), 10);
    let next = first["@odata.nextLink"].as_str().unwrap().to_owned();
    let second = h.get_json(&next).await;
    assert_eq!(second["value"].as_array().unwrap().len(), 2);
    assert!(second.get("@odata.nextLink").is_none());

    h.ms.fail_mail_pages(true);
    let first = h.get_json(&path).await;
    assert_eq!(first["value"].as_array().unwrap().len(), 1);
    let next = first["@odata.nextLink"].as_str().unwrap().to_owned();
    assert_eq!(
        h.get(&next).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    h.shutdown().await;
}

/// A calendar permission id (base64, as Graph's) as one path segment.
fn segment(id: &str) -> String {
    id.replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D")
}

#[tokio::test]
async fn calendar_permissions_are_listed_and_deleted_and_my_organization_stays() {
    let h = Ms::start().await;
    let path = format!(
        "/v1.0/users/{}/calendar/calendarPermissions",
        common::encode(DEMO_MANAGER)
    );
    let listed = h.get_json(&path).await;
    let value = listed["value"].as_array().unwrap();
    assert_eq!(value.len(), 2);
    assert_eq!(value[0]["emailAddress"]["name"], "My Organization");
    assert_eq!(value[0]["isRemovable"], false);
    assert_eq!(value[1]["emailAddress"]["address"], DEMO_LEAVER);
    assert_eq!(value[1]["role"], "write");
    let mine = value[1]["id"].as_str().unwrap();
    let org = value[0]["id"].as_str().unwrap();

    // Without Calendars.ReadWrite: Outlook's refusal.
    let token = h.token_with_roles("cal-reader", &["Calendars.Read"]);
    let refused = h
        .graph_as(
            &token,
            Method::DELETE,
            &format!("{path}/{}", segment(mine)),
            None,
        )
        .await;
    expect_error(refused, 403, "ErrorAccessDenied").await;

    let gone = h.delete(&format!("{path}/{}", segment(mine))).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    expect_error(
        h.delete(&format!("{path}/{}", segment(mine))).await,
        404,
        "ErrorItemNotFound",
    )
    .await;
    expect_error(
        h.delete(&format!("{path}/{}", segment(org))).await,
        400,
        "ErrorInvalidRequest",
    )
    .await;
    assert!(h.ms.calendar_permissions(DEMO_MANAGER).is_empty());
    // The leaver's own calendar: the colleague's permission, kept by the sweep.
    let own = h.ms.calendar_permissions(DEMO_LEAVER);
    assert_eq!(own[0].address, "priya.patel@example.com");
    h.shutdown().await;
}

#[tokio::test]
async fn direct_reports_are_the_users_whose_manager_is_named() {
    let h = Ms::start().await;
    let reports = h
        .get_json(&format!(
            "/v1.0/users/{}/directReports",
            common::encode(DEMO_MANAGER)
        ))
        .await;
    let upns: Vec<&str> = reports["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert!(upns.contains(&DEMO_LEAVER), "{upns:?}");
    let none = h
        .get_json(&format!(
            "/v1.0/users/{}/directReports",
            common::encode(DEMO_LEAVER)
        ))
        .await;
    assert!(none["value"].as_array().unwrap().is_empty());
    h.shutdown().await;
}
