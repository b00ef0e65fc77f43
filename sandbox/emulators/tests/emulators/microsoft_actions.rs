#![cfg(feature = "microsoft")]
//! Each offboarding action against the Microsoft emulator: success, the
//! repeat answer, not found, the service's refusals, and exactly one audit
//! event per real change.

use crate::microsoft_common as common;

use common::{Ms, encode, expect_error};
use passage_sandbox::microsoft::{
    ActionState, DEMO_LEAVER, DEMO_MANAGER, DeviceAction, GroupKind, MailboxPurpose, MethodKind,
    SeedGroup, activity,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn disable_account_once_and_read_it_back() {
    let h = Ms::start().await;
    let id = h.demo.leaver_id.clone();
    let path = format!("/v1.0/users/{id}");

    // accountEnabled is not in the default property set.
    let default = h.get_json(&path).await;
    assert!(default.get("accountEnabled").is_none());
    assert_eq!(default["userPrincipalName"], DEMO_LEAVER);

    let first = h.patch(&path, json!({ "accountEnabled": false })).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert!(first.bytes().await.unwrap().is_empty());
    let again = h.patch(&path, json!({ "accountEnabled": false })).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);

    let read = h
        .get_json(&format!(
            "/v1.0/users/{}?$select=id,accountEnabled,onPremisesSyncEnabled,userPrincipalName",
            encode(DEMO_LEAVER)
        ))
        .await;
    assert_eq!(read["accountEnabled"], false);
    assert_eq!(read["onPremisesSyncEnabled"], Value::Null);
    assert!(read.get("displayName").is_none());
    assert!(read["@odata.context"].as_str().unwrap().ends_with(
        "$metadata#users(id,accountEnabled,onPremisesSyncEnabled,userPrincipalName)/$entity"
    ));
    assert!(!h.ms.user(DEMO_LEAVER).unwrap().account_enabled);
    assert_eq!(h.ms.count_events(activity::DISABLE_ACCOUNT, &id), 1);
    let event =
        h.ms.audit_log()
            .into_iter()
            .find(|e| e.activity == activity::DISABLE_ACCOUNT)
            .unwrap();
    assert_eq!(event.targets[0].modified_properties[0].old_value, "[true]");
    assert_eq!(event.targets[0].modified_properties[0].new_value, "[false]");

    // Unknown user, unknown $select property, on-premises-synced user.
    expect_error(
        h.patch(
            "/v1.0/users/ghost%40example.com",
            json!({ "accountEnabled": false }),
        )
        .await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
    let body = expect_error(
        h.get(&format!("{path}?$select=accountEnabled,shoeSize"))
            .await,
        400,
        "Request_BadRequest",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."
    );
    let synced = format!("/v1.0/users/{}", h.demo.synced_user_id);
    let body = expect_error(
        h.patch(&synced, json!({ "accountEnabled": false })).await,
        400,
        "Request_BadRequest",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unable to update the specified properties for on-premises mastered")
    );
    let synced_read = h
        .get_json(&format!(
            "{synced}?$select=accountEnabled,onPremisesSyncEnabled"
        ))
        .await;
    assert_eq!(synced_read["accountEnabled"], true);
    assert_eq!(synced_read["onPremisesSyncEnabled"], true);
    expect_error(
        h.patch(&path, json!({ "onPremisesSyncEnabled": false }))
            .await,
        400,
        "Request_BadRequest",
    )
    .await;
    assert_eq!(h.ms.audit_log().len(), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn revoke_sessions_resets_the_valid_from_time() {
    let h = Ms::start().await;
    let before = h.ms.user(DEMO_LEAVER).unwrap().sign_in_sessions_valid_from;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let path = format!("/v1.0/users/{}/revokeSignInSessions", encode(DEMO_LEAVER));
    let response = h.post(&path, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["value"], true);
    let read = h
        .get_json(&format!(
            "/v1.0/users/{}?$select=signInSessionsValidFromDateTime",
            h.demo.leaver_id
        ))
        .await;
    let after = read["signInSessionsValidFromDateTime"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(after > before, "{after} > {before}");
    assert!(after.ends_with('Z') && !after.contains('.'));
    // Repeatable; each call is a real reset.
    assert_eq!(h.post(&path, None).await.status(), StatusCode::OK);
    // The namespace-qualified action name works too.
    let qualified = format!(
        "/v1.0/users/{}/microsoft.graph.revokeSignInSessions",
        h.demo.leaver_id
    );
    assert_eq!(h.post(&qualified, None).await.status(), StatusCode::OK);
    assert_eq!(h.ms.count_events(activity::REVOKE_SESSIONS, DEMO_LEAVER), 3);
    expect_error(
        h.post("/v1.0/users/ghost%40example.com/revokeSignInSessions", None)
            .await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn group_membership_removal_and_its_refusals() {
    let h = Ms::start().await;
    let user = h.demo.leaver_id.clone();
    let member_of = h
        .get_json(&format!(
            "/v1.0/users/{user}/memberOf?$select=id,displayName,groupTypes,securityEnabled,mailEnabled,membershipRule,membershipRuleProcessingState,onPremisesSyncEnabled"
        ))
        .await;
    let groups = member_of["value"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    let dynamic = groups
        .iter()
        .find(|g| g["id"] == h.demo.dynamic_group_id.as_str())
        .unwrap();
    assert_eq!(dynamic["@odata.type"], "#microsoft.graph.group");
    assert_eq!(dynamic["groupTypes"], json!(["DynamicMembership"]));
    assert_eq!(dynamic["membershipRuleProcessingState"], "On");
    let list = groups
        .iter()
        .find(|g| g["id"] == h.demo.distribution_list_id.as_str())
        .unwrap();
    assert_eq!(list["mailEnabled"], true);
    assert_eq!(list["securityEnabled"], false);

    // Assigned security group: 204, then 404 on repeat.
    let path = format!(
        "/v1.0/groups/{}/members/{user}/$ref",
        h.demo.security_group_id
    );
    assert_eq!(h.delete(&path).await.status(), StatusCode::NO_CONTENT);
    let body = expect_error(h.delete(&path).await, 404, "Request_ResourceNotFound").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&h.demo.security_group_id)
    );
    assert_eq!(h.ms.count_events(activity::REMOVE_MEMBER, &user), 1);
    // The group-inherited licence left with the membership.
    let licenses = h.ms.licenses(DEMO_LEAVER);
    assert_eq!(licenses.len(), 1);
    assert_eq!(licenses[0].sku_part_number, "SPE_E3");

    // Dynamic: 403; distribution list: 400 (Exchange-authored).
    let dynamic_path = format!(
        "/v1.0/groups/{}/members/{user}/$ref",
        h.demo.dynamic_group_id
    );
    expect_error(
        h.delete(&dynamic_path).await,
        403,
        "Authorization_RequestDenied",
    )
    .await;
    let list_path = format!(
        "/v1.0/groups/{}/members/{user}/$ref",
        h.demo.distribution_list_id
    );
    let body = expect_error(h.delete(&list_path).await, 400, "Request_BadRequest").await;
    assert_eq!(
        body["error"]["message"],
        "Cannot Update a mail-enabled security groups and or distribution list."
    );
    // Unknown group.
    expect_error(
        h.delete(&format!(
            "/v1.0/groups/00000000-0000-0000-0000-000000000000/members/{user}/$ref"
        ))
        .await,
        404,
        "Request_ResourceNotFound",
    )
    .await;

    // The list's membership goes through Exchange instead.
    let removed = h
        .cmdlet(
            "Remove-DistributionGroupMember",
            json!({ "Identity": "eng-announce@example.com", "Member": DEMO_LEAVER, "BypassSecurityGroupManagerCheck": true }),
        )
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    let again = h
        .cmdlet(
            "Remove-DistributionGroupMember",
            json!({ "Identity": "eng-announce@example.com", "Member": DEMO_LEAVER, "BypassSecurityGroupManagerCheck": true }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = again.json().await.unwrap();
    assert!(
        body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("MemberNotFoundException")
    );
    let names: Vec<String> =
        h.ms.user_groups(DEMO_LEAVER)
            .into_iter()
            .map(|g| g.display_name)
            .collect();
    assert_eq!(names, vec!["All Engineering (dynamic)".to_owned()]);
    assert_eq!(h.ms.count_events(activity::REMOVE_MEMBER, &user), 2);
    h.shutdown().await;
}

/// The `details[0].message` of a cmdlet error, after checking its status.
async fn cmdlet_error(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Error executing cmdlet");
    body["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn distribution_group_members_listed_and_removed_in_exchange() {
    let h = Ms::start().await;
    let user = h.demo.leaver_id.clone();
    let security = h.ms.seed_group(SeedGroup {
        mail: Some("eng-oncall@example.com".into()),
        ..SeedGroup::new("Engineering On-call", GroupKind::MailEnabledSecurity)
    });
    let synced = h.ms.seed_group(SeedGroup {
        on_prem_synced: true,
        ..SeedGroup::new("HQ Staff", GroupKind::Distribution)
    });
    assert!(h.ms.seed_membership(&security, DEMO_LEAVER));
    assert!(h.ms.seed_membership(&synced, DEMO_LEAVER));
    let bypass = |group: &str| json!({ "Identity": group, "Member": DEMO_LEAVER, "BypassSecurityGroupManagerCheck": true });

    // The list's members, by its address; then by its object id.
    let listed = h
        .cmdlet(
            "Get-DistributionGroupMember",
            json!({ "Identity": "eng-announce@example.com", "ResultSize": "Unlimited" }),
        )
        .await;
    assert_eq!(listed.status(), StatusCode::OK);
    let body: Value = listed.json().await.unwrap();
    let members = body["value"].as_array().unwrap();
    let ids: Vec<&str> = members
        .iter()
        .map(|m| m["ExternalDirectoryObjectId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "manager, leaver and a colleague");
    assert!(ids.contains(&user.as_str()));
    let leaver = members
        .iter()
        .find(|m| m["ExternalDirectoryObjectId"] == user.as_str())
        .unwrap();
    assert_eq!(leaver["PrimarySmtpAddress"], DEMO_LEAVER);
    assert_eq!(leaver["RecipientTypeDetails"], "UserMailbox");
    let by_id = h
        .cmdlet(
            "Get-DistributionGroupMember",
            json!({ "Identity": h.demo.distribution_list_id }),
        )
        .await;
    let by_id: Value = by_id.json().await.unwrap();
    assert_eq!(by_id["value"].as_array().unwrap().len(), 3);

    // Unknown group, and groups Exchange does not hold as distribution groups.
    for identity in [
        "no-such-list@example.com",
        h.demo.security_group_id.as_str(),
        h.demo.dynamic_group_id.as_str(),
    ] {
        let detail = cmdlet_error(
            h.cmdlet(
                "Get-DistributionGroupMember",
                json!({ "Identity": identity }),
            )
            .await,
            StatusCode::INTERNAL_SERVER_ERROR,
        )
        .await;
        assert!(
            detail.contains("ManagementObjectNotFoundException") && detail.contains(identity),
            "{detail}"
        );
        let detail = cmdlet_error(
            h.cmdlet("Remove-DistributionGroupMember", bypass(identity))
                .await,
            StatusCode::INTERNAL_SERVER_ERROR,
        )
        .await;
        assert!(
            detail.contains("ManagementObjectNotFoundException"),
            "{detail}"
        );
    }
    // A parameter the cmdlet does not have.
    let detail = cmdlet_error(
        h.cmdlet(
            "Get-DistributionGroupMember",
            json!({ "Identity": "eng-announce@example.com", "Member": DEMO_LEAVER }),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail.contains("ParameterBindingException"), "{detail}");

    // Without the bypass switch an app that is not a manager is refused.
    let mut unbypassed = bypass("eng-oncall@example.com");
    unbypassed["BypassSecurityGroupManagerCheck"] = json!(false);
    let detail = cmdlet_error(
        h.cmdlet("Remove-DistributionGroupMember", unbypassed).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail.contains("manager of the group"), "{detail}");
    // A mail-enabled security group: removed, then not a member.
    let removed = h
        .cmdlet(
            "Remove-DistributionGroupMember",
            bypass("eng-oncall@example.com"),
        )
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    let detail = cmdlet_error(
        h.cmdlet(
            "Remove-DistributionGroupMember",
            bypass("eng-oncall@example.com"),
        )
        .await,
        StatusCode::INTERNAL_SERVER_ERROR,
    )
    .await;
    assert!(
        detail.contains("MemberNotFoundException") && detail.contains("Engineering On-call"),
        "{detail}"
    );
    let left: Value = h
        .cmdlet(
            "Get-DistributionGroupMember",
            json!({ "Identity": security }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(left["value"], json!([]));

    // Synced from on-premises: readable, but Exchange refuses the change.
    let synced_members: Value = h
        .cmdlet(
            "Get-DistributionGroupMember",
            json!({ "Identity": "HQ Staff" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        synced_members["value"][0]["ExternalDirectoryObjectId"],
        user.as_str()
    );
    let detail = cmdlet_error(
        h.cmdlet("Remove-DistributionGroupMember", bypass("HQ Staff"))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        detail.contains("synchronized from your on-premises"),
        "{detail}"
    );

    let names: Vec<String> =
        h.ms.user_groups(DEMO_LEAVER)
            .into_iter()
            .map(|g| g.display_name)
            .collect();
    assert!(names.contains(&"HQ Staff".to_owned()));
    assert!(names.contains(&"Engineering Announcements".to_owned()));
    assert!(!names.contains(&"Engineering On-call".to_owned()));
    assert_eq!(h.ms.count_events(activity::REMOVE_MEMBER, &user), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn licence_removal_direct_inherited_and_malformed() {
    let h = Ms::start().await;
    let path = format!("/v1.0/users/{}/assignLicense", h.demo.leaver_id);
    let details = h
        .get_json(&format!(
            "/v1.0/users/{}/licenseDetails",
            encode(DEMO_LEAVER)
        ))
        .await;
    let parts: Vec<&str> = details["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["skuPartNumber"].as_str().unwrap())
        .collect();
    assert_eq!(parts, vec!["SPE_E3", "AAD_PREMIUM_P2"]);
    let states = h
        .get_json(&format!(
            "/v1.0/users/{}?$select=assignedLicenses,licenseAssignmentStates",
            h.demo.leaver_id
        ))
        .await;
    let inherited = states["licenseAssignmentStates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuId"] == h.demo.inherited_sku_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        inherited["assignedByGroup"],
        h.demo.security_group_id.as_str()
    );

    // Both keys are required.
    let body = expect_error(
        h.post(
            &path,
            Some(json!({ "removeLicenses": [h.demo.direct_sku_id] })),
        )
        .await,
        400,
        "Request_BadRequest",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: addLicenses."
    );
    expect_error(
        h.post(
            &path,
            Some(json!({ "addLicenses": [], "removeLicenses": [] })),
        )
        .await,
        400,
        "Request_BadRequest",
    )
    .await;
    // Inherited licences cannot be removed from the user.
    let body = expect_error(
        h.post(
            &path,
            Some(json!({ "addLicenses": [], "removeLicenses": [h.demo.inherited_sku_id] })),
        )
        .await,
        400,
        "Request_BadRequest",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inherited from group membership")
    );
    assert_eq!(h.ms.licenses(DEMO_LEAVER).len(), 2);

    // Direct removal: 200 with the user, then the repeat refuses.
    let ok = h
        .post(
            &path,
            Some(json!({ "addLicenses": [], "removeLicenses": [h.demo.direct_sku_id] })),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let user: Value = ok.json().await.unwrap();
    assert_eq!(user["id"], h.demo.leaver_id.as_str());
    let repeat = h
        .post(
            &path,
            Some(json!({ "addLicenses": [], "removeLicenses": [h.demo.direct_sku_id] })),
        )
        .await;
    expect_error(repeat, 400, "Request_BadRequest").await;
    let left = h.ms.licenses(DEMO_LEAVER);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].assigned_by_group.as_deref(), Some("Engineering"));
    assert_eq!(h.ms.count_events(activity::CHANGE_LICENSE, DEMO_LEAVER), 1);
    // licenseDetails is read-only.
    let post = h
        .post(
            &format!("/v1.0/users/{}/licenseDetails", h.demo.leaver_id),
            Some(json!({})),
        )
        .await;
    expect_error(post, 405, "Request_BadRequest").await;
    h.shutdown().await;
}

#[tokio::test]
async fn authentication_methods_by_type_specific_paths() {
    let h = Ms::start().await;
    let base = format!("/v1.0/users/{}/authentication", h.demo.leaver_id);
    let listed = h.get_json(&format!("{base}/methods")).await;
    let types: Vec<&str> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "#microsoft.graph.passwordAuthenticationMethod",
            "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "#microsoft.graph.phoneAuthenticationMethod",
        ]
    );
    let authenticator = h.demo.method_ids[0].clone();
    let phone = h.demo.method_ids[1].clone();

    // The default method cannot go while another remains.
    let body = expect_error(
        h.delete(&format!(
            "{base}/microsoftAuthenticatorMethods/{authenticator}"
        ))
        .await,
        400,
        "badRequest",
    )
    .await;
    assert_eq!(
        body["error"]["innerError"]["message"],
        body["error"]["message"]
    );
    // Wrong type-specific path: not found there.
    expect_error(
        h.delete(&format!("{base}/fido2Methods/{phone}")).await,
        404,
        "itemNotFound",
    )
    .await;
    // The generic collection and the password have no DELETE.
    expect_error(
        h.delete(&format!("{base}/methods/{phone}")).await,
        405,
        "Request_BadRequest",
    )
    .await;
    expect_error(
        h.delete(&format!(
            "{base}/passwordMethods/28c10230-6103-485e-b985-444c60001490"
        ))
        .await,
        405,
        "Request_BadRequest",
    )
    .await;

    assert_eq!(
        h.delete(&format!("{base}/phoneMethods/{phone}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        h.delete(&format!("{base}/phoneMethods/{phone}")).await,
        404,
        "itemNotFound",
    )
    .await;
    assert_eq!(
        h.delete(&format!(
            "{base}/microsoftAuthenticatorMethods/{authenticator}"
        ))
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let left = h.ms.auth_methods(DEMO_LEAVER);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].kind, MethodKind::Password);
    assert_eq!(
        h.ms.count_events(activity::DELETE_AUTH_METHOD, DEMO_LEAVER),
        2
    );
    h.shutdown().await;
}

#[tokio::test]
async fn auto_reply_and_forwarding_rules() {
    let h = Ms::start().await;
    let settings = format!("/v1.0/users/{}/mailboxSettings", encode(DEMO_LEAVER));
    let purpose = h.get_json(&format!("{settings}?$select=userPurpose")).await;
    assert_eq!(purpose["userPurpose"], "user");
    assert_eq!(purpose.as_object().unwrap().len(), 2);

    let reply = json!({ "automaticRepliesSetting": {
        "status": "alwaysEnabled",
        "externalAudience": "all",
        "internalReplyMessage": "Jane has left; contact Sam.",
        "externalReplyMessage": "Jane has left; contact sam.lee@example.com.",
    }});
    let patched = h.patch(&settings, reply.clone()).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let body: Value = patched.json().await.unwrap();
    assert_eq!(body["automaticRepliesSetting"]["status"], "alwaysEnabled");
    assert_eq!(h.patch(&settings, reply).await.status(), StatusCode::OK);
    assert_eq!(h.ms.count_events(activity::SET_AUTO_REPLY, DEMO_LEAVER), 1);
    let invalid = h
        .patch(
            &settings,
            json!({ "automaticRepliesSetting": { "status": "sometimes" } }),
        )
        .await;
    expect_error(invalid, 400, "RequestBodyRead").await;
    let mailbox = h.ms.mailbox(DEMO_LEAVER).unwrap();
    assert_eq!(mailbox.auto_reply_status, "alwaysEnabled");

    // Rules: names are not unique, so a blind POST duplicates. The demo leaver's own rule
    // (forwarding home) is there from the seed.
    let seeded = h.ms.mailbox(DEMO_LEAVER).unwrap().rules.len();
    let rules = format!(
        "/v1.0/users/{}/mailFolders/inbox/messageRules",
        h.demo.leaver_id
    );
    let rule = json!({
        "displayName": "offboarding-forward",
        "sequence": 1,
        "isEnabled": true,
        "actions": {
            "forwardTo": [{ "emailAddress": { "name": "Sam Lee", "address": DEMO_MANAGER } }],
            "stopProcessingRules": true,
        },
    });
    let created = h.post(&rules, Some(rule.clone())).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let rule_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.post(&rules, Some(rule)).await.status(),
        StatusCode::CREATED
    );
    let listed = h.get_json(&rules).await;
    assert_eq!(listed["value"].as_array().unwrap().len(), seeded + 2);

    // Upsert by name means: find it, PATCH it, delete the duplicate.
    let patched = h
        .patch(&format!("{rules}/{rule_id}"), json!({ "isEnabled": false }))
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let other = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] != rule_id.as_str() && r["displayName"] == "offboarding-forward")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        h.delete(&format!("{rules}/{other}")).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        h.delete(&format!("{rules}/{other}")).await,
        404,
        "ErrorItemNotFound",
    )
    .await;
    let mailbox = h.ms.mailbox(DEMO_LEAVER).unwrap();
    assert_eq!(mailbox.rules.len(), seeded + 1);
    let ours = mailbox
        .rules
        .iter()
        .find(|r| r.forward_to == [DEMO_MANAGER.to_owned()])
        .unwrap();
    assert!(!ours.is_enabled);
    assert_eq!(h.ms.count_events(activity::NEW_INBOX_RULE, DEMO_LEAVER), 2);
    assert_eq!(h.ms.count_events(activity::SET_INBOX_RULE, DEMO_LEAVER), 1);
    assert_eq!(
        h.ms.count_events(activity::REMOVE_INBOX_RULE, DEMO_LEAVER),
        1
    );

    // Bad actions and unknown mailbox owners.
    let bad = h
        .post(
            &rules,
            Some(json!({ "displayName": "x", "actions": { "forwardTo": ["sam"] } })),
        )
        .await;
    expect_error(bad, 400, "ErrorInvalidRequest").await;
    expect_error(
        h.get("/v1.0/users/ghost%40example.com/mailboxSettings")
            .await,
        404,
        "ErrorInvalidUser",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn convert_to_shared_through_exchange() {
    let h = Ms::start().await;
    let response = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": DEMO_LEAVER, "Type": "Shared" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["value"], json!([]));
    assert_eq!(body["@adminapi.warnings"], json!([]));

    // A repeat succeeds with Exchange's no-op warning and changes nothing.
    let again: Value = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": DEMO_LEAVER, "Type": "Shared" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        again["@adminapi.warnings"][0]
            .as_str()
            .unwrap()
            .contains("no settings of 'jane.doe' have been modified")
    );
    assert_eq!(h.ms.count_events(activity::SET_MAILBOX, DEMO_LEAVER), 1);

    let purpose = h
        .get_json(&format!(
            "/v1.0/users/{}/mailboxSettings?$select=userPurpose",
            h.demo.leaver_id
        ))
        .await;
    assert_eq!(purpose["userPurpose"], "shared");
    let mailbox: Value = h
        .cmdlet("Get-Mailbox", json!({ "Identity": DEMO_LEAVER }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mailbox["value"][0]["RecipientTypeDetails"], "SharedMailbox");

    // FullAccess for the manager, once.
    let grant = h
        .cmdlet(
            "Add-MailboxPermission",
            json!({ "Identity": DEMO_LEAVER, "User": DEMO_MANAGER, "AccessRights": ["FullAccess"], "AutoMapping": true }),
        )
        .await;
    assert_eq!(grant.status(), StatusCode::OK);
    h.cmdlet(
        "Add-MailboxPermission",
        json!({ "Identity": DEMO_LEAVER, "User": DEMO_MANAGER, "AccessRights": ["FullAccess"] }),
    )
    .await;
    assert_eq!(
        h.ms.mailbox(DEMO_LEAVER).unwrap().full_access,
        vec![DEMO_MANAGER.to_owned()]
    );
    assert_eq!(
        h.ms.count_events(activity::ADD_MAILBOX_PERMISSION, DEMO_LEAVER),
        1
    );

    // Unknown identity, unknown parameter, unknown cmdlet.
    let missing = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": "ghost@example.com", "Type": "Shared" }),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Error executing cmdlet");
    assert!(
        body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ManagementObjectNotFoundException")
    );
    let bad_param = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": DEMO_LEAVER, "Colour": "Blue" }),
        )
        .await;
    assert_eq!(bad_param.status(), StatusCode::BAD_REQUEST);
    let unknown = h
        .cmdlet("Remove-Mailbox", json!({ "Identity": DEMO_LEAVER }))
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        h.ms.mailbox(DEMO_LEAVER).unwrap().purpose,
        MailboxPurpose::Shared
    );
    h.shutdown().await;
}

#[tokio::test]
async fn intune_actions_go_pending_then_done() {
    let h = Ms::start().await;
    let filter = format!(
        "/v1.0/deviceManagement/managedDevices?$filter=userPrincipalName%20eq%20'{DEMO_LEAVER}'&$select=id,deviceName,deviceActionResults"
    );
    let listed = h.get_json(&filter).await;
    let devices = listed["value"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["deviceName"], "JANE-LAPTOP");
    assert_eq!(devices[0]["deviceActionResults"], json!([]));
    let id = h.demo.device_id.clone();
    let per_user = h
        .get_json(&format!(
            "/v1.0/users/{}/managedDevices",
            encode(DEMO_LEAVER)
        ))
        .await;
    assert_eq!(per_user["value"][0]["id"], id.as_str());

    let base = format!("/v1.0/deviceManagement/managedDevices/{id}");
    assert_eq!(
        h.post(&format!("{base}/retire"), None).await.status(),
        StatusCode::NO_CONTENT
    );
    let wipe = h
        .post(
            &format!("{base}/wipe"),
            Some(json!({ "keepEnrollmentData": false, "keepUserData": false })),
        )
        .await;
    assert_eq!(wipe.status(), StatusCode::NO_CONTENT);
    // Repeat while pending: accepted, nothing new.
    assert_eq!(
        h.post(&format!("{base}/wipe"), None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.ms.count_events(activity::WIPE_DEVICE, &id), 1);

    let first = h
        .get_json(&format!("{base}?$select=deviceActionResults"))
        .await;
    let results = first["deviceActionResults"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["actionState"] == "pending"));
    assert!(
        results
            .iter()
            .all(|r| r["startDateTime"].is_string() && r["lastUpdatedDateTime"].is_string())
    );
    let second = h
        .get_json(&format!("{base}?$select=deviceActionResults"))
        .await;
    assert!(
        second["deviceActionResults"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actionState"] == "done")
    );
    let view = &h.ms.devices(DEMO_LEAVER)[0];
    assert_eq!(view.actions.len(), 2);
    assert!(
        view.actions
            .iter()
            .any(|a| a.action == DeviceAction::Wipe && a.state == ActionState::Done)
    );

    // Per-user action path, remote lock, bad body, unknown device.
    let lock = h
        .post(
            &format!(
                "/v1.0/users/{}/managedDevices/{id}/remoteLock",
                h.demo.leaver_id
            ),
            None,
        )
        .await;
    assert_eq!(lock.status(), StatusCode::NO_CONTENT);
    expect_error(
        h.post(
            &format!("{base}/retire"),
            Some(json!({ "keepUserData": true })),
        )
        .await,
        400,
        "BadRequest",
    )
    .await;
    expect_error(
        h.post(
            "/v1.0/deviceManagement/managedDevices/00000000-0000-0000-0000-000000000000/wipe",
            None,
        )
        .await,
        404,
        "ResourceNotFound",
    )
    .await;
    assert_eq!(h.ms.count_events(activity::LOCK_DEVICE, &id), 1);
    h.shutdown().await;
}
