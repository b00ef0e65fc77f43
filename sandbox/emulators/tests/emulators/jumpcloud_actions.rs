#![cfg(feature = "jumpcloud")]
//! Offboarding actions: suspend, lock flags, group removal, builtin and
//! Apple MDM lock/erase, command results, and the audit trail that proves
//! each change happened exactly once.

use crate::jumpcloud_support as support;

use passage_sandbox::jumpcloud::{
    CommandChannel, CommandKind, SeedSystem, UserState, demo_seed, event_type,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Harness, an_hour_ago, expect_v1_error, expect_v2_error, json, send};

#[tokio::test]
async fn suspend_with_suspended_true_and_repeat() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let path = format!("/api/systemusers/{}", demo.leaver_id);

    let first = h.put_json(&path, &json!({"suspended": true})).await;
    assert_eq!(first.status(), StatusCode::OK);
    let body = json(first).await;
    assert_eq!(body["_id"], demo.leaver_id.as_str());
    assert_eq!(body["state"], "SUSPENDED");
    assert_eq!(body["suspended"], true);
    assert_eq!(body["email"], "jane.doe@example.com");

    // A repeat is accepted, changes nothing and logs nothing.
    let again = h.put_json(&path, &json!({"suspended": true})).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json(again).await["state"], "SUSPENDED");

    let read_back = json(h.get(&path).await).await;
    assert_eq!(read_back["state"], "SUSPENDED");
    let view = h.jc.user(&demo.leaver_id).unwrap();
    assert_eq!(view.state, UserState::Suspended);
    assert!(view.suspended);
    assert_eq!(
        h.jc.count_events(event_type::USER_SUSPENDED, &demo.leaver_id),
        1
    );
    assert_eq!(h.jc.audit_log().len(), 1);
    let event = &h.jc.audit_log()[0].body;
    assert_eq!(event["service"], "directory");
    assert_eq!(event["resource"]["id"], demo.leaver_id.as_str());
    assert_eq!(event["changes"][0]["to"], "SUSPENDED");
    assert_eq!(event["initiated_by"]["type"], "admin");
    assert_eq!(event["auth_method"], "api-key");
    assert_eq!(h.jc.counters().count("PUT", "/api/systemusers/{id}"), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn suspend_with_state_and_validation() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let path = format!("/api/systemusers/{}", demo.leaver_id);

    let suspended = h.put_json(&path, &json!({"state": "SUSPENDED"})).await;
    assert_eq!(json(suspended).await["suspended"], true);
    let back = h.put_json(&path, &json!({"state": "ACTIVATED"})).await;
    let back = json(back).await;
    assert_eq!(back["state"], "ACTIVATED");
    assert_eq!(back["suspended"], false);
    assert_eq!(
        h.jc.count_events(event_type::USER_UNSUSPENDED, &demo.leaver_id),
        1
    );

    for bad in [
        json!({"state": "DISABLED"}),
        json!({"state": "STAGED"}),
        json!({"suspended": "yes"}),
        json!(["suspended"]),
    ] {
        let response = h.put_json(&path, &bad).await;
        assert!(
            expect_v1_error(response, 400)
                .await
                .starts_with("Bad Request")
        );
    }
    let not_json = send(h.req(Method::PUT, &path).body("{suspended")).await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);

    let missing = h
        .put_json(
            "/api/systemusers/0123456789abcdef01234567",
            &json!({"suspended": true}),
        )
        .await;
    assert_eq!(expect_v1_error(missing, 404).await, "Not Found");
    let missing_get = h.get("/api/systemusers/not-an-id").await;
    assert_eq!(missing_get.status(), StatusCode::NOT_FOUND);

    assert_eq!(
        h.jc.user(&demo.leaver_id).unwrap().state,
        UserState::Activated
    );
    assert_eq!(h.jc.audit_log().len(), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn account_locked_and_profile_fields() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let path = format!("/api/systemusers/{}", demo.leaver_id);

    let locked = json(h.put_json(&path, &json!({"account_locked": true})).await).await;
    assert_eq!(locked["account_locked"], true);
    assert!(locked["account_locked_date"].is_string());
    assert_eq!(locked["state"], "ACTIVATED");
    assert!(h.jc.user(&demo.leaver_id).unwrap().account_locked);
    let updates = h.jc.count_events(event_type::USER_UPDATE, &demo.leaver_id);
    assert_eq!(updates, 1);

    let again = h.put_json(&path, &json!({"account_locked": true})).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        h.jc.count_events(event_type::USER_UPDATE, &demo.leaver_id),
        1
    );

    let moved = json(
        h.put_json(&path, &json!({"department": "Alumni", "manager": ""}))
            .await,
    )
    .await;
    assert_eq!(moved["department"], "Alumni");
    assert_eq!(moved["manager"], "");
    assert_eq!(h.jc.user(&demo.leaver_id).unwrap().manager_id, None);

    let taken = h
        .put_json(&path, &json!({"email": "SAM.LEE@example.com"}))
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    h.shutdown().await;
}

#[tokio::test]
async fn remove_from_user_groups() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let memberof = format!("/api/v2/users/{}/memberof", demo.leaver_id);
    let groups: Vec<Value> = h.get(&memberof).await.json().await.unwrap();
    let ids: Vec<&str> = groups.iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(ids, demo.leaver_group_ids);

    for group in &demo.leaver_group_ids {
        let path = format!("/api/v2/usergroups/{group}/members");
        let op = json!({"op": "remove", "type": "user", "id": demo.leaver_id});
        let removed = h.post_json(&path, &op).await;
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        assert!(removed.text().await.unwrap().is_empty());

        // Removing a non-member again is a 404.
        let repeat = h.post_json(&path, &op).await;
        assert_eq!(expect_v2_error(repeat, 404).await, "Not Found");
        assert_eq!(h.jc.count_events(event_type::ASSOCIATION_CHANGE, group), 1);
    }
    let after: Vec<Value> = h.get(&memberof).await.json().await.unwrap();
    assert!(after.is_empty());
    assert!(h.jc.user_groups(&demo.leaver_id).is_empty());
    assert_eq!(
        h.jc.count_events(event_type::ASSOCIATION_CHANGE, &demo.leaver_id),
        3
    );
    let event = &h.jc.audit_log()[0].body;
    assert_eq!(event["association"]["op"], "remove");
    assert_eq!(
        event["association"]["connection"]["from"]["type"],
        "user_group"
    );
    assert_eq!(
        event["association"]["connection"]["to"]["object_id"],
        demo.leaver_id.as_str()
    );
    // Other members are untouched.
    let engineering = h.jc.group("Engineering").unwrap();
    assert!(engineering.member_ids.contains(&demo.manager_id));
    assert_eq!(
        h.jc.counters()
            .count("POST", "/api/v2/usergroups/{id}/members"),
        6
    );
    h.shutdown().await;
}

#[tokio::test]
async fn group_membership_errors() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let group = &demo.leaver_group_ids[0];
    let path = format!("/api/v2/usergroups/{group}/members");

    let unknown_group = h
        .post_json(
            "/api/v2/usergroups/0123456789abcdef01234567/members",
            &json!({"op": "remove", "type": "user", "id": demo.leaver_id}),
        )
        .await;
    assert_eq!(expect_v2_error(unknown_group, 404).await, "Not Found");
    let unknown_user = h
        .post_json(
            &path,
            &json!({"op": "remove", "type": "user", "id": "0123456789abcdef01234567"}),
        )
        .await;
    assert_eq!(unknown_user.status(), StatusCode::NOT_FOUND);
    for bad in [
        json!({"op": "delete", "type": "user", "id": demo.leaver_id}),
        json!({"op": "remove", "type": "system", "id": demo.leaver_id}),
        json!({"op": "remove", "type": "user"}),
        json!({"type": "user", "id": demo.leaver_id}),
    ] {
        let response = h.post_json(&path, &bad).await;
        assert!(
            expect_v2_error(response, 400)
                .await
                .starts_with("Bad Request")
        );
    }
    // Adding an existing member is a 409; adding back after removal a 204.
    let add = json!({"op": "add", "type": "user", "id": demo.leaver_id});
    let conflict = h.post_json(&path, &add).await;
    assert_eq!(expect_v2_error(conflict, 409).await, "Already Exists");
    let remove = json!({"op": "remove", "type": "user", "id": demo.leaver_id});
    assert_eq!(
        h.post_json(&path, &remove).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.post_json(&path, &add).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.jc.user_groups(&demo.leaver_id).len(), 3);
    assert_eq!(h.jc.count_events(event_type::ASSOCIATION_CHANGE, group), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn builtin_lock_on_windows_and_command_results() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let system = &demo.windows_system_id;
    let path = format!("/api/systems/{system}/command/builtin/lock");

    let created = h.post_json(&path, &json!({})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.text().await.unwrap().is_empty());
    assert!(h.jc.system(system).unwrap().locked);
    let commands = h.jc.commands();
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].kind, CommandKind::Lock);
    assert_eq!(commands[0].channel, CommandChannel::Builtin);
    assert!(commands[0].completed);
    let result_id = commands[0].result_id.clone().unwrap();

    // Results are readable three ways.
    let list = json(h.get("/api/commandresults").await).await;
    assert_eq!(list["totalCount"], 1);
    assert_eq!(list["results"][0]["systemId"], system.as_str());
    assert_eq!(list["results"][0]["exitCode"], 0);
    let one = json(h.get(&format!("/api/commandresults/{result_id}")).await).await;
    assert_eq!(one["workflowId"], commands[0].id.as_str());
    assert_eq!(one["system"], "JANE-WIN11");
    let search = json(
        h.post_json(
            "/api/search/commandresults",
            &json!({"filter": format!("systemId:$eq:{system}"), "fields": "systemId name"}),
        )
        .await,
    )
    .await;
    assert_eq!(search["totalCount"], 1);
    assert_eq!(search["results"][0]["name"], "Lock");
    let missing = h.get("/api/commandresults/0123456789abcdef01234567").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Every request queues another command, as JumpCloud does.
    let repeat = h.post_json(&path, &json!({})).await;
    assert_eq!(repeat.status(), StatusCode::CREATED);
    assert_eq!(h.jc.commands().len(), 2);
    assert_eq!(h.jc.count_events(event_type::COMMAND_RUN, system), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn builtin_commands_refuse_macos_and_unknown_systems() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let mac = h
        .post_json(
            &format!("/api/systems/{}/command/builtin/lock", demo.mac_system_id),
            &json!({}),
        )
        .await;
    let message = expect_v1_error(mac, 400).await;
    assert!(message.contains("Linux and Windows"), "{message}");
    let missing = h
        .post_json(
            "/api/systems/0123456789abcdef01234567/command/builtin/erase",
            &json!({}),
        )
        .await;
    assert_eq!(expect_v1_error(missing, 404).await, "Not Found");
    assert!(h.jc.commands().is_empty());
    assert!(h.jc.audit_log().is_empty());
    let system = json(h.get(&format!("/api/systems/{}", demo.mac_system_id)).await).await;
    assert_eq!(system["osFamily"], "darwin");
    assert_eq!(system["builtInCommands"], json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn erase_and_offline_devices() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let erased = h
        .post_json(
            &format!(
                "/api/systems/{}/command/builtin/erase",
                demo.windows_system_id
            ),
            &json!({}),
        )
        .await;
    assert_eq!(erased.status(), StatusCode::CREATED);
    let windows = h.jc.system(&demo.windows_system_id).unwrap();
    assert!(windows.erased);
    assert!(!windows.online, "a wiped agent no longer reports in");

    // An offline device queues the command until it reconnects.
    let laptop = h.jc.seed_system(SeedSystem {
        online: false,
        ..SeedSystem::linux("build-box").bound_to(&demo.leaver_id)
    });
    let queued = h
        .post_json(
            &format!("/api/systems/{laptop}/command/builtin/lock"),
            &json!({}),
        )
        .await;
    assert_eq!(queued.status(), StatusCode::CREATED);
    let pending =
        h.jc.commands()
            .into_iter()
            .find(|c| c.system_id == laptop)
            .unwrap();
    assert!(!pending.completed);
    assert!(!h.jc.system(&laptop).unwrap().locked);
    let results = json(h.get("/api/commandresults").await).await;
    assert_eq!(results["totalCount"], 1, "only the erase has a result");

    assert!(h.jc.set_system_online(&laptop, true));
    assert!(h.jc.system(&laptop).unwrap().locked);
    let results = json(h.get("/api/commandresults").await).await;
    assert_eq!(results["totalCount"], 2);
    h.shutdown().await;
}

#[tokio::test]
async fn apple_mdm_lock_and_erase() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let mdms: Vec<Value> = h.get("/api/v2/applemdms").await.json().await.unwrap();
    assert_eq!(mdms.len(), 1);
    assert_eq!(mdms[0]["id"], demo.apple_mdm_id.as_str());
    let devices: Vec<Value> = h
        .get(&format!(
            "/api/v2/applemdms/{}/devices?filter=serialNumber:eq:C02FK1XYQ6LR",
            demo.apple_mdm_id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["id"], demo.mac_device_id.as_str());
    assert_eq!(devices[0]["mdmOsFamily"], "macos");

    let lock = format!(
        "/api/v2/applemdms/{}/devices/{}/lock",
        demo.apple_mdm_id, demo.mac_device_id
    );
    let no_pin = send(h.req(Method::POST, &lock)).await;
    assert_eq!(no_pin.status(), StatusCode::BAD_REQUEST);
    let bad_pin = h.post_json(&lock, &json!({"pin": "12ab56"})).await;
    assert!(expect_v2_error(bad_pin, 400).await.contains("pin"));
    assert!(h.jc.commands().is_empty());

    let locked = h.post_json(&lock, &json!({"pin": "123456"})).await;
    assert_eq!(locked.status(), StatusCode::NO_CONTENT);
    assert!(h.jc.system(&demo.mac_system_id).unwrap().locked);
    let commands = h.jc.commands();
    assert_eq!(commands[0].channel, CommandChannel::AppleMdm);
    assert_eq!(commands[0].pin.as_deref(), Some("123456"));
    assert_eq!(
        h.jc.count_events(event_type::MDM_COMMAND_RESULT, &demo.mac_device_id),
        1
    );
    let event = &h.jc.audit_log()[0];
    assert_eq!(event.service, "mdm");
    assert_eq!(event.body["request_type"], "DeviceLock");
    assert_eq!(event.body["status"], "Acknowledged");

    let repeat = h.post_json(&lock, &json!({"pin": "123456"})).await;
    assert_eq!(repeat.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.jc.count_events(event_type::MDM_COMMAND_RESULT, &demo.mac_device_id),
        2
    );

    let unknown_device = h
        .post_json(
            &format!(
                "/api/v2/applemdms/{}/devices/0123456789abcdef01234567/erase",
                demo.apple_mdm_id
            ),
            &json!({"pin": "123456"}),
        )
        .await;
    assert_eq!(expect_v2_error(unknown_device, 404).await, "Not Found");
    let unknown_mdm = h
        .post_json(
            &format!(
                "/api/v2/applemdms/0123456789abcdef01234567/devices/{}/erase",
                demo.mac_device_id
            ),
            &json!({"pin": "123456"}),
        )
        .await;
    assert_eq!(unknown_mdm.status(), StatusCode::NOT_FOUND);

    let erase = format!(
        "/api/v2/applemdms/{}/devices/{}/erase",
        demo.apple_mdm_id, demo.mac_device_id
    );
    let erased = h.post_json(&erase, &json!({"pin": "654321"})).await;
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    assert!(h.jc.system(&demo.mac_system_id).unwrap().erased);
    let device = json(
        h.get(&format!(
            "/api/v2/applemdms/{}/devices/{}",
            demo.apple_mdm_id, demo.mac_device_id
        ))
        .await,
    )
    .await;
    assert_eq!(device["enrolled"], false);
    h.shutdown().await;
}

#[tokio::test]
async fn directory_insights_returns_the_audit_trail() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    h.put_json(
        &format!("/api/systemusers/{}", demo.leaver_id),
        &json!({"suspended": true}),
    )
    .await;
    for group in &demo.leaver_group_ids {
        h.post_json(
            &format!("/api/v2/usergroups/{group}/members"),
            &json!({"op": "remove", "type": "user", "id": demo.leaver_id}),
        )
        .await;
    }
    let start = an_hour_ago();

    let all = h
        .post_json(
            "/insights/directory/v1/events",
            &json!({"service": ["directory"], "start_time": start}),
        )
        .await;
    assert_eq!(all.status(), StatusCode::OK);
    let headers = all.headers().clone();
    assert_eq!(headers["x-result-count"], "4");
    assert_eq!(headers["x-limit"], "1000");
    assert_eq!(headers["x-sort"], "ASC");
    assert!(headers.contains_key("x-request-id"));
    assert!(headers.contains_key("x-search_after"));
    let rows: Vec<Value> = all.json().await.unwrap();
    assert_eq!(rows[0]["event_type"], "user_suspended");
    assert!(
        rows.iter()
            .skip(1)
            .all(|r| r["event_type"] == "association_change")
    );

    let suspended = h
        .post_json(
            "/insights/directory/v1/events",
            &json!({
                "service": ["all"],
                "start_time": start,
                "search_term": {"and": [
                    {"event_type": "user_suspended"},
                    {"resource.id": demo.leaver_id},
                ]},
                "fields": ["id", "event_type", "timestamp"],
            }),
        )
        .await;
    let rows: Vec<Value> = suspended.json().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].as_object().unwrap().len(), 3);

    // Paging with search_after, newest first.
    let mut seen = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut query = json!({
            "service": ["directory"], "start_time": start, "limit": 3, "sort": "desc",
        });
        if let Some(a) = &after {
            query["search_after"] = a.clone();
        }
        let response = h.post_json("/insights/directory/v1/events", &query).await;
        let count: usize = response.headers()["x-result-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(response.headers()["x-sort"], "DESC");
        let next: Value =
            serde_json::from_str(response.headers()["x-search_after"].to_str().unwrap()).unwrap();
        let rows: Vec<Value> = response.json().await.unwrap();
        seen.extend(
            rows.into_iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        if count < 3 {
            break;
        }
        after = Some(next);
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(
        seen.last().map(String::as_str),
        Some(h.jc.audit_log()[0].id.as_str())
    );

    let missing = h
        .post_json(
            "/insights/directory/v1/events",
            &json!({"service": ["directory"]}),
        )
        .await;
    assert_eq!(
        expect_v1_error(missing, 400).await,
        "Bad Request: start_time is required"
    );
    let bad_service = h
        .post_json(
            "/insights/directory/v1/events",
            &json!({"service": ["everything"], "start_time": start}),
        )
        .await;
    assert!(
        expect_v1_error(bad_service, 400)
            .await
            .contains("supported values")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn sudo_comes_off_the_account_and_each_device_binding() {
    use passage_sandbox::jumpcloud::{Role, effect};
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let id = demo.leaver_id.as_str();
    let user = format!("/api/systemusers/{id}");
    let associations = format!("/api/v2/users/{id}/associations");
    assert_eq!(json(h.get(&user).await).await["sudo"], true);

    // `targets` is required; the Mac's binding grants sudo, the Windows one does not.
    expect_v2_error(h.get(&associations).await, 400).await;
    let bound: Vec<Value> = h
        .get(&format!("{associations}?targets=system"))
        .await
        .json()
        .await
        .unwrap();
    let sudo: Vec<&str> = bound
        .iter()
        .filter(|a| a["attributes"]["sudo"]["enabled"] == true)
        .map(|a| a["to"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(sudo, [demo.mac_system_id.as_str()]);

    // A Read Only administrator's key is refused the change.
    let read_only = h.jc.add_api_key(Role::ReadOnly, &[]);
    let off = json!({"op": "update", "type": "system", "id": demo.mac_system_id,
        "attributes": {"sudo": {"enabled": false, "withoutPassword": false}}});
    let refused = send(
        h.with_key(Method::POST, &associations, &read_only)
            .json(&off),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // withoutPassword needs enabled.
    let bad = json!({"op": "update", "type": "system", "id": demo.mac_system_id,
        "attributes": {"sudo": {"enabled": false, "withoutPassword": true}}});
    expect_v2_error(h.post_json(&associations, &bad).await, 400).await;

    assert_eq!(
        h.post_json(&associations, &off).await.status(),
        StatusCode::NO_CONTENT
    );
    let put = h.put_json(&user, &json!({"sudo": false})).await;
    assert_eq!(json(put).await["sudo"], false);
    let view = h.jc.user(id).unwrap();
    assert!(!view.sudo && view.sudo_system_ids.is_empty());
    assert!(view.system_ids.contains(&demo.mac_system_id), "still bound");
    assert_eq!(h.jc.effects_applied(effect::REMOVE_SUDO, id), 2);
    // An unbound system is not found.
    let unbound = json!({"op": "update", "type": "system", "id": "5f0000000000000000000000",
        "attributes": {"sudo": {"enabled": false, "withoutPassword": false}}});
    expect_v2_error(h.post_json(&associations, &unbound).await, 404).await;
    h.shutdown().await;
}
