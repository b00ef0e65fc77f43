//! The shared-resource sweep through the running host: the demo leaver's Okta admin role goes
//! first, their rights on the Support shared mailbox are removed, the Microsoft 365 group they
//! alone own is handed to their manager, their OneDrive is handed over (and its sharing links
//! removed) before their licences go, and the app they registered is reported with who must
//! act. Each is read back from the emulators and graded in the signed bundle's access.json.
//! The hostile cases: a shared mailbox list that fails mid-paging holds the run, and a group
//! whose last owner has no manager to hand it to is reported, not forced.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, accept_what_stays, leaver_event};
use passage_core::access::{self, Grade};
use passage_core::ports::RunStore;
use passage_core::{RunId, RunState, StepState};
use passage_sandbox::microsoft::{DEMO_LEAVER as MS_LEAVER, DEMO_MANAGER, DEMO_SHARED_MAILBOX};
use passage_sandbox::okta::DEMO_LEAVER;
use serde_json::Value;
use std::time::{Duration, Instant};

fn options(tag: &str) -> SandboxOptions {
    let dir = std::env::temp_dir().join(format!(
        "passage-sweep-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = SandboxOptions::new(&dir);
    options.all_providers = true;
    options.customize = Some(std::sync::Arc::new(|p: &mut passage_core::TenantPolicy| {
        p.sweep = passage_core::SweepPolicy::default();
    }));
    options
}

async fn start_run(sb: &Sandbox, id: &str) -> RunId {
    let r = sb
        .post(id, &leaver_event(DEMO_LEAVER, "E17", Cutoff::Immediate))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    RunId::new(v["run_id"].as_str().unwrap())
}

/// Accepts what the run reports as staying (as an operator would) until it closes.
async fn close(sb: &Sandbox, run_id: &RunId) -> passage_core::Run {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let run = sb.system.store.run(run_id).await.unwrap().unwrap();
        if run.state == RunState::Closed {
            return run;
        }
        accept_what_stays(&sb.system.engine, &run).await.unwrap();
        assert!(
            Instant::now() < deadline,
            "run never closed: {}",
            run.state.as_str()
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_leaver_is_swept_from_shared_resources_and_each_is_graded() {
    let sb = Sandbox::start(options("done")).await.unwrap();
    let ms = &sb.others.as_ref().unwrap().microsoft;
    let app_id = ms.group("Project Atlas").map(|g| g.id).unwrap();
    assert_eq!(sb.okta.admin_roles(DEMO_LEAVER), vec!["APP_ADMIN"]);
    assert_eq!(ms.group_owners("Project Atlas"), vec![MS_LEAVER]);
    assert_eq!(ms.mailbox_grants(DEMO_SHARED_MAILBOX, MS_LEAVER).len(), 3);

    let run_id = start_run(&sb, "msg_sweep").await;
    let run = close(&sb, &run_id).await;

    // The emulators' state, read through their own accessors.
    assert!(sb.okta.admin_roles(DEMO_LEAVER).is_empty());
    assert_eq!(
        sb.okta.admin_roles("john.smith@example.com"),
        vec!["SUPER_ADMIN"]
    );
    assert!(ms.mailbox_grants(DEMO_SHARED_MAILBOX, MS_LEAVER).is_empty());
    assert_eq!(ms.group_owners("Project Atlas"), vec![DEMO_MANAGER]);
    let drive = ms.drive_permissions(MS_LEAVER);
    assert!(drive.iter().all(|p| p.link.is_none()), "{drive:?}");
    assert!(drive.iter().any(|p| {
        p.grantee.as_deref() == Some(DEMO_MANAGER) && p.roles.contains(&"write".to_owned())
    }));

    // Admin roles went before every other Okta lockout step; OneDrive before the licences.
    let steps = sb.system.store.steps(&run_id).await.unwrap();
    let at = |key: &str| {
        let s = steps
            .iter()
            .find(|s| s.key.as_str() == key)
            .unwrap_or_else(|| panic!("{key}"));
        assert_eq!(s.state, StepState::Verified, "{key}");
        s.verified_at.unwrap()
    };
    assert!(at("okta.remove_admin_roles") <= at("okta.suspend"));
    assert!(at("okta.remove_admin_roles") <= at("okta.revoke_sessions"));
    assert!(at("microsoft.hand_over_onedrive") <= at("microsoft.remove_licenses"));
    let licences = steps
        .iter()
        .find(|s| s.key.as_str() == "microsoft.remove_licenses")
        .unwrap();
    assert!(
        licences
            .depends_on
            .iter()
            .any(|d| d.as_str() == "microsoft.hand_over_onedrive")
    );

    // The bundle grades each item.
    let bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let graded: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("access.json")).unwrap()).unwrap();
    let graded = graded.as_array().unwrap();
    let grade = |kind: &str, needle: &str| -> (String, Value) {
        let item = graded
            .iter()
            .find(|i| i["kind"] == kind && i["id"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no {kind} {needle} in {graded:#?}"));
        (
            item["grade"].as_str().unwrap().to_owned(),
            item["reason"].clone(),
        )
    };
    assert_eq!(grade("admin_role", "").0, "removed");
    for right in ["FullAccess", "SendAs", "SendOnBehalf"] {
        let needle = format!("{DEMO_SHARED_MAILBOX}/{right}");
        assert_eq!(grade("shared_access", &needle).0, "removed", "{right}");
    }
    assert_eq!(grade("ownership", &format!("group:{app_id}")).0, "removed");
    let (app, why) = grade("ownership", "application:");
    assert_eq!(app, "remains");
    assert!(
        why.as_str().unwrap().contains("Entra administrator"),
        "{why}"
    );
    let links: Vec<&Value> = graded.iter().filter(|i| i["kind"] == "drive").collect();
    assert_eq!(links.len(), 2);
    assert!(links.iter().all(|l| l["grade"] == "removed"));
    // The OneDrive hand-over records the tenant's retention.
    let onedrive = steps
        .iter()
        .find(|s| s.key.as_str() == "microsoft.hand_over_onedrive")
        .unwrap();
    assert_eq!(
        onedrive.result.as_ref().unwrap().output["retention_days"],
        30
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shared_mailbox_list_failing_mid_paging_holds_the_run() {
    let sb = Sandbox::start(options("paging")).await.unwrap();
    let ms = &sb.others.as_ref().unwrap().microsoft;
    ms.fail_shared_mailbox_pages(true);
    // A second shared mailbox, so the list has a second page to fail on.
    ms.seed_user(passage_sandbox::microsoft::SeedUser {
        account_enabled: false,
        mailbox: Some(passage_sandbox::microsoft::MailboxPurpose::Shared),
        ..passage_sandbox::microsoft::SeedUser::new("billing@example.com", "Billing")
    });
    let run_id = start_run(&sb, "msg_sweep_paging").await;
    // The rest of the run finishes; the sweep step stays unverified and the run stays open.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let sweep = steps
            .iter()
            .find(|s| s.key.as_str() == "microsoft.sweep_shared_access")
            .unwrap();
        let suspended = steps
            .iter()
            .find(|s| s.key.as_str() == "microsoft.suspend")
            .unwrap();
        if suspended.state == StepState::Verified && sweep.attempts >= 2 {
            assert_ne!(sweep.state, StepState::Verified);
            let items = access::grade(&steps);
            // Nothing the failed list would have shown is graded absent.
            assert!(
                items
                    .iter()
                    .all(|i| i.kind != access::ItemKind::SharedAccess || i.grade != Grade::Absent)
            );
            let snapshot = steps
                .iter()
                .find(|s| s.key.as_str() == "microsoft.snapshot")
                .unwrap();
            assert!(snapshot.result.as_ref().unwrap().output["shared_unreadable"].is_string());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sweep {} after {} attempts",
            sweep.state.as_str(),
            sweep.attempts
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert!(run.state.is_open());
    // The leaver still holds the rights: nothing was removed unrecorded.
    assert_eq!(ms.mailbox_grants(DEMO_SHARED_MAILBOX, MS_LEAVER).len(), 3);
    sb.shutdown().await;
}

/// JumpCloud: the demo leaver's sudo rights (the account-wide flag and the binding to their
/// Mac) are removed before every other JumpCloud lockout step, read back from the emulator,
/// and graded `admin_role` removed in the signed bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jumpcloud_sudo_rights_go_first_and_are_graded() {
    use passage_sandbox::jumpcloud::effect;
    let sb = Sandbox::start(options("jc")).await.unwrap();
    let jc = &sb.others.as_ref().unwrap().jumpcloud;
    let leaver = jc.user(DEMO_LEAVER).unwrap();
    assert!(leaver.sudo);
    assert_eq!(leaver.sudo_system_ids.len(), 1, "{leaver:?}");
    let mac = leaver.sudo_system_ids[0].clone();

    let run_id = start_run(&sb, "msg_sweep_jc").await;
    let run = close(&sb, &run_id).await;

    // The emulator's state: no sudo left anywhere, the account suspended, two removals.
    let after = jc.user(DEMO_LEAVER).unwrap();
    assert!(!after.sudo && after.sudo_system_ids.is_empty(), "{after:?}");
    assert!(after.suspended);
    assert!(after.system_ids.contains(&mac), "the binding itself stays");
    assert_eq!(jc.effects_applied(effect::REMOVE_SUDO, &leaver.id), 2);

    // Before every other JumpCloud lockout step, by plan and in time.
    let steps = sb.system.store.steps(&run_id).await.unwrap();
    let step = |key: &str| {
        steps
            .iter()
            .find(|s| s.key.as_str() == key)
            .unwrap_or_else(|| panic!("{key}"))
    };
    let first = step("jumpcloud.remove_admin_roles");
    assert_eq!(first.state, StepState::Verified);
    for key in [
        "jumpcloud.suspend",
        "jumpcloud.remove_groups",
        "jumpcloud.secure_devices",
    ] {
        let later = step(key);
        assert!(
            later.depends_on.contains(&first.key),
            "{key} waits for the sudo removal"
        );
        assert!(
            first.verified_at.unwrap() <= later.verified_at.unwrap(),
            "{key}"
        );
    }
    let snapshot = step("jumpcloud.snapshot").result.as_ref().unwrap();
    assert_eq!(snapshot.output["admin_access"]["sudo"], true);
    assert_eq!(
        snapshot.output["admin_access"]["systems"][0]["id"],
        mac.as_str()
    );

    // The bundle grades each grant.
    let bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let graded: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("access.json")).unwrap()).unwrap();
    let jc_roles: Vec<&Value> = graded
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["provider"] == "jumpcloud" && i["kind"] == "admin_role")
        .collect();
    let ids: Vec<&str> = jc_roles.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["sudo", format!("system:{mac}").as_str()],
        "{jc_roles:#?}"
    );
    assert!(
        jc_roles.iter().all(|i| i["grade"] == "removed"),
        "{jc_roles:#?}"
    );
    sb.shutdown().await;
}

/// Hostile: JumpCloud refuses Passage's credential the change (its administrator's role was
/// set to Read Only). The sudo rights are graded `remains` with who must act, the emulator
/// still shows them, and the run stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_jumpcloud_sudo_removal_remains_with_who_must_act() {
    use passage_sandbox::jumpcloud::Role;
    let sb = Sandbox::start(options("jc-refused")).await.unwrap();
    let jc = &sb.others.as_ref().unwrap().jumpcloud;
    assert!(jc.set_api_key_role(&jc.api_key(), Role::ReadOnly));
    let run_id = start_run(&sb, "msg_sweep_jc_refused").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let items = loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let first = steps
            .iter()
            .find(|s| s.key.as_str() == "jumpcloud.remove_admin_roles")
            .unwrap();
        if first.state == StepState::Verified {
            break access::grade(&steps);
        }
        assert!(
            Instant::now() < deadline,
            "sudo removal {}",
            first.state.as_str()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let refused: Vec<_> = items
        .iter()
        .filter(|i| {
            i.provider == passage_core::Provider::Jumpcloud && i.kind == access::ItemKind::AdminRole
        })
        .collect();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    for item in &refused {
        assert_eq!(item.grade, Grade::Remains, "{item:#?}");
        let why = item.reason.as_deref().unwrap_or_default();
        assert!(
            why.contains("403") && why.contains("Administrator or Manager"),
            "{why}"
        );
    }
    // Nothing was taken, nothing claimed: the emulator still shows both grants.
    let leaver = jc.user(DEMO_LEAVER).unwrap();
    assert!(
        leaver.sudo && leaver.sudo_system_ids.len() == 1,
        "{leaver:?}"
    );
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert!(run.state.is_open());
    sb.shutdown().await;
}
