#![cfg(feature = "google")]
//! Gmail settings as the mailbox owner: delegation, forwarding and the
//! vacation responder — and why they must happen before suspension.

use crate::google_support as support;

use passage_sandbox::google::{PRODUCT_GOOGLE_APPS, SKU_BUSINESS_STANDARD, event_name, scopes};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{
    ADMIN_SCOPES, GMAIL_SCOPES, Harness, expect_error, expect_token_error, gmail_path, user_path,
};

#[tokio::test]
async fn delegates_are_created_as_the_owner_and_accepted() {
    let h = Harness::start().await;
    let leaver = h.demo.leaver_email.clone();
    let manager = h.demo.manager_email.clone();
    let token = h.gmail_token(&leaver).await;

    let empty = h.get_json(&gmail_path("me", "delegates"), &token).await;
    assert_eq!(empty, json!({}), "no delegates field when there are none");

    let created = h
        .post(
            &gmail_path("me", "delegates"),
            &token,
            Some(json!({ "delegateEmail": manager })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(
        created.json::<Value>().await.unwrap(),
        json!({ "delegateEmail": manager, "verificationStatus": "accepted" })
    );
    // The owner's own address works as userId too.
    let listed = h.get_json(&gmail_path(&leaver, "delegates"), &token).await;
    assert_eq!(listed["delegates"][0]["delegateEmail"], manager);
    let one = h
        .get_json(&gmail_path("me", &format!("delegates/{manager}")), &token)
        .await;
    assert_eq!(one["verificationStatus"], "accepted");

    let body = expect_error(
        h.post(
            &gmail_path("me", "delegates"),
            &token,
            Some(json!({ "delegateEmail": manager })),
        )
        .await,
        409,
        "alreadyExists",
    )
    .await;
    assert_eq!(body["error"]["status"], "ALREADY_EXISTS");
    assert!(h.google.user(&leaver).unwrap().has_delegate(&manager));
    assert_eq!(h.google.count_events(event_name::ADD_DELEGATE, &leaver), 1);

    // Delegates must be active users of the organisation, by primary
    // address.
    for delegate in [
        "someone@gmail.com",
        "old.contractor@example.com",
        "jane@example.com",
        "ghost@example.com",
    ] {
        expect_error(
            h.post(
                &gmail_path("me", "delegates"),
                &token,
                Some(json!({ "delegateEmail": delegate })),
            )
            .await,
            400,
            "failedPrecondition",
        )
        .await;
    }
    expect_error(
        h.get(&gmail_path("me", "delegates/nobody@example.com"), &token)
            .await,
        404,
        "notFound",
    )
    .await;
    let removed = h
        .delete(&gmail_path("me", &format!("delegates/{manager}")), &token)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    expect_error(
        h.delete(&gmail_path("me", &format!("delegates/{manager}")), &token)
            .await,
        404,
        "notFound",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn settings_calls_must_come_from_the_mailbox_owner() {
    let h = Harness::start().await;
    let leaver = h.demo.leaver_email.clone();

    // The admin impersonated for the Admin SDK cannot touch Jane's mailbox.
    let admin_gmail = h.token(Some(&h.demo.admin_email), GMAIL_SCOPES).await;
    let body = expect_error(
        h.get(&gmail_path(&leaver, "delegates"), &admin_gmail).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        format!("Delegation denied for {}", h.demo.admin_email)
    );
    // The admin has no licence, so no mailbox of its own.
    let body = expect_error(
        h.get(&gmail_path("me", "vacation"), &admin_gmail).await,
        400,
        "failedPrecondition",
    )
    .await;
    assert_eq!(body["error"]["message"], "Mail service not enabled");
    // A token minted without `sub` has no mailbox at all.
    let bare = h.token(None, GMAIL_SCOPES).await;
    let body = expect_error(
        h.get(&gmail_path("me", "delegates"), &bare).await,
        400,
        "failedPrecondition",
    )
    .await;
    assert_eq!(body["error"]["message"], "Precondition check failed.");
    // The wrong scope.
    let jane_admin_scopes = h.token(Some(&leaver), ADMIN_SCOPES).await;
    expect_error(
        h.get(&gmail_path("me", "delegates"), &jane_admin_scopes)
            .await,
        403,
        "insufficientPermissions",
    )
    .await;
    // settings.basic may read and set the vacation but not delegate.
    let basic = h
        .token(Some(&leaver), &[scopes::GMAIL_SETTINGS_BASIC])
        .await;
    assert_eq!(
        h.get(&gmail_path("me", "delegates"), &basic).await.status(),
        StatusCode::OK
    );
    expect_error(
        h.post(
            &gmail_path("me", "delegates"),
            &basic,
            Some(json!({ "delegateEmail": h.demo.manager_email })),
        )
        .await,
        403,
        "insufficientPermissions",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn forwarding_needs_a_verified_address() {
    let h = Harness::start().await;
    let leaver = h.demo.leaver_email.clone();
    let manager = h.demo.manager_email.clone();
    let token = h.gmail_token(&leaver).await;
    let addresses = gmail_path("me", "forwardingAddresses");
    let auto = gmail_path("me", "autoForwarding");

    assert_eq!(h.get_json(&auto, &token).await, json!({ "enabled": false }));
    // An external address waits for its recipient to confirm.
    let external: Value = h
        .post(
            &addresses,
            &token,
            Some(json!({ "forwardingEmail": "jane.personal@gmail.com" })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(external["verificationStatus"], "pending");
    expect_error(
        h.put(
            &auto,
            &token,
            json!({ "enabled": true, "emailAddress": "jane.personal@gmail.com", "disposition": "archive" }),
        )
        .await,
        400,
        "failedPrecondition",
    )
    .await;
    // A domain address is accepted at once.
    let internal = h
        .post(
            &addresses,
            &token,
            Some(json!({ "forwardingEmail": manager })),
        )
        .await;
    assert_eq!(internal.status(), StatusCode::OK);
    assert_eq!(
        internal.json::<Value>().await.unwrap(),
        json!({ "forwardingEmail": manager, "verificationStatus": "accepted" })
    );
    expect_error(
        h.post(
            &addresses,
            &token,
            Some(json!({ "forwardingEmail": manager })),
        )
        .await,
        409,
        "alreadyExists",
    )
    .await;
    let settings = json!({ "enabled": true, "emailAddress": manager, "disposition": "archive" });
    for _ in 0..2 {
        let response = h.put(&auto, &token, settings.clone()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap(), settings);
    }
    assert_eq!(h.get_json(&auto, &token).await, settings);
    let view = h.google.user(&leaver).unwrap();
    assert!(view.auto_forwarding.enabled);
    assert_eq!(
        view.auto_forwarding.email_address.as_deref(),
        Some(manager.as_str())
    );
    assert_eq!(
        h.google
            .count_events(event_name::CHANGE_AUTO_FORWARDING, &leaver),
        1
    );
    expect_error(
        h.put(
            &auto,
            &token,
            json!({ "enabled": true, "emailAddress": manager, "disposition": "shred" }),
        )
        .await,
        400,
        "invalidArgument",
    )
    .await;
    let listed = h.get_json(&addresses, &token).await;
    assert_eq!(listed["forwardingAddresses"].as_array().unwrap().len(), 2);

    // Confirming the external address makes it usable.
    assert!(
        h.google
            .confirm_forwarding_address(&leaver, "jane.personal@gmail.com")
    );
    let one = h
        .get_json(
            &gmail_path("me", "forwardingAddresses/jane.personal@gmail.com"),
            &token,
        )
        .await;
    assert_eq!(one["verificationStatus"], "accepted");
    h.shutdown().await;
}

#[tokio::test]
async fn the_vacation_responder_round_trips() {
    let h = Harness::start().await;
    let leaver = h.demo.leaver_email.clone();
    let token = h.gmail_token(&leaver).await;
    let path = gmail_path("me", "vacation");
    let initial = h.get_json(&path, &token).await;
    assert_eq!(initial["enableAutoReply"], false);

    let settings = json!({
        "enableAutoReply": true,
        "responseSubject": "Jane has left Example",
        "responseBodyPlainText": "Please contact sam.lee@example.com.",
        "restrictToContacts": false,
        "restrictToDomain": false,
    });
    for _ in 0..2 {
        let response = h.put(&path, &token, settings.clone()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap(), settings);
    }
    assert_eq!(h.get_json(&path, &token).await, settings);
    assert_eq!(
        h.google.count_events(event_name::CHANGE_VACATION, &leaver),
        1
    );
    let view = h.google.user(&leaver).unwrap().vacation;
    assert!(view.enable_auto_reply);
    assert_eq!(
        view.response_subject.as_deref(),
        Some("Jane has left Example")
    );

    expect_error(
        h.put(&path, &token, json!({ "enableAutoReply": true }))
            .await,
        400,
        "invalidArgument",
    )
    .await;
    expect_error(
        h.put(
            &path,
            &token,
            json!({ "enableAutoReply": true, "responseSubject": "x", "startTime": "2000", "endTime": "1000" }),
        )
        .await,
        400,
        "invalidArgument",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn gmail_settings_are_refused_once_the_owner_is_suspended() {
    let h = Harness::start().await;
    let leaver = h.demo.leaver_email.clone();
    let gmail = h.gmail_token(&leaver).await;
    let admin = h.admin_token().await;

    let suspended = h
        .put(&user_path(&leaver), &admin, json!({ "suspended": true }))
        .await;
    assert_eq!(suspended.status(), StatusCode::OK);

    // The token minted before suspension no longer works …
    expect_error(
        h.post(
            &gmail_path("me", "delegates"),
            &gmail,
            Some(json!({ "delegateEmail": h.demo.manager_email })),
        )
        .await,
        401,
        "authError",
    )
    .await;
    // … and no new one can be minted for a suspended user.
    let why = expect_token_error(
        h.exchange_claims(&h.claims(Some(&leaver), GMAIL_SCOPES))
            .await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(why, "Invalid email or User ID");
    let view = h.google.user(&leaver).unwrap();
    assert!(view.delegates.is_empty());
    assert!(!view.vacation.enable_auto_reply);
    assert_eq!(h.google.count_events(event_name::ADD_DELEGATE, &leaver), 0);

    // Nobody can delegate to a suspended user either.
    let manager_token = h.gmail_token(&h.demo.manager_email).await;
    expect_error(
        h.post(
            &gmail_path("me", "delegates"),
            &manager_token,
            Some(json!({ "delegateEmail": leaver })),
        )
        .await,
        400,
        "failedPrecondition",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn an_offboarding_in_the_right_order_leaves_the_expected_evidence() {
    let h = Harness::start().await;
    let leaver = h.demo.leaver_email.clone();
    let manager = h.demo.manager_email.clone();
    let gmail = h.gmail_token(&leaver).await;
    let admin = h.admin_token().await;

    // Mailbox first, as the owner.
    assert!(
        h.post(
            &gmail_path("me", "delegates"),
            &gmail,
            Some(json!({ "delegateEmail": manager }))
        )
        .await
        .status()
        .is_success()
    );
    h.post(
        &gmail_path("me", "forwardingAddresses"),
        &gmail,
        Some(json!({ "forwardingEmail": manager })),
    )
    .await;
    assert!(
        h.put(
            &gmail_path("me", "autoForwarding"),
            &gmail,
            json!({ "enabled": true, "emailAddress": manager, "disposition": "leaveInInbox" }),
        )
        .await
        .status()
        .is_success()
    );
    assert!(
        h.put(
            &gmail_path("me", "vacation"),
            &gmail,
            json!({ "enableAutoReply": true, "responseSubject": "Left the company" }),
        )
        .await
        .status()
        .is_success()
    );
    // Data before the licence.
    let transfer = h
        .post(
            "/admin/datatransfer/v1/transfers",
            &admin,
            Some(json!({
                "oldOwnerUserId": h.demo.leaver_id,
                "newOwnerUserId": h.demo.manager_id,
                "applicationDataTransfers": [{ "applicationId": passage_sandbox::google::APP_DRIVE }],
            })),
        )
        .await;
    assert_eq!(transfer.status(), StatusCode::OK);
    // Then suspend and strip access.
    assert_eq!(
        h.put(&user_path(&leaver), &admin, json!({ "suspended": true }))
            .await
            .status(),
        StatusCode::OK
    );
    h.post(&format!("{}/signOut", user_path(&leaver)), &admin, None)
        .await;
    let license = format!(
        "/apps/licensing/v1/product/{PRODUCT_GOOGLE_APPS}/sku/{SKU_BUSINESS_STANDARD}/user/{leaver}"
    );
    assert_eq!(h.delete(&license, &admin).await.status(), StatusCode::OK);

    let view = h.google.user(&leaver).unwrap();
    assert!(view.suspended && view.has_delegate(&manager) && view.vacation.enable_auto_reply);
    assert!(view.licenses.is_empty());
    let names: Vec<String> = h
        .google
        .audit_log()
        .into_iter()
        .filter(|e| e.targets(&leaver))
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        [
            event_name::ADD_DELEGATE,
            event_name::ADD_FORWARDING_ADDRESS,
            event_name::CHANGE_AUTO_FORWARDING,
            event_name::CHANGE_VACATION,
            event_name::CREATE_DATA_TRANSFER_REQUEST,
            event_name::SUSPEND_USER,
            event_name::RESET_SIGNIN_COOKIES,
            event_name::USER_LICENSE_REVOKE,
        ]
    );
    let suspend = h
        .google
        .audit_log()
        .into_iter()
        .find(|e| e.name == event_name::SUSPEND_USER)
        .unwrap();
    assert_eq!(suspend.actor, h.demo.admin_email);
    assert_eq!(suspend.parameter("USER_EMAIL"), Some(leaver.as_str()));
    h.shutdown().await;
}
