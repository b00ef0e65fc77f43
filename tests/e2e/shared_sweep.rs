//! The shared-resource sweep through the running host: the demo leaver's Okta admin role goes
//! first, their rights on the Support shared mailbox are removed, the Microsoft 365 group they
//! alone own is handed to their manager, their OneDrive is handed over (and its sharing links
//! removed) before their licences go, and the app they registered is reported with who must
//! act; the Google group the leaver alone owns and the shared drive they alone manage are
//! handed to the manager before their memberships go. Each is read back from the emulators
//! and graded in the signed bundle's access.json.
//! The mail sweep deletes the leaver's inbox rule forwarding outside, takes the leaver out of
//! the manager's and the shared mailbox's forwarding rules and off the manager's calendar,
//! keeps Passage's own forward-to-manager rule and the colleague's permission on the leaver's
//! calendar, and leaves alone what lies outside its bound.
//! The hostile cases: a shared mailbox list, an inbox-rule list and a Google member list that
//! fail mid-paging hold the run, and a group whose last owner has no manager to hand it to is
//! reported, not forced.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, accept_what_stays, leaver_event};
use passage_core::access::{self, Grade};
use passage_core::ports::RunStore;
use passage_core::{RunId, RunState, StepState};
use passage_sandbox::google::{DEMO_CO_OWNED_GROUP, DEMO_OWNED_GROUP};
use passage_sandbox::microsoft::{
    DEMO_EXTERNAL_FORWARD, DEMO_LEAVER as MS_LEAVER, DEMO_MANAGER, DEMO_SHARED_MAILBOX,
};
use passage_sandbox::okta::DEMO_LEAVER;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The demo leaver's peer: same manager, outside the mail sweep's bound.
const PEER: &str = "priya.patel@example.com";

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
    let google = &sb.others.as_ref().unwrap().google;
    let owned_id = google.group_id(DEMO_OWNED_GROUP).unwrap();
    let drive_id = google.shared_drive_ids().remove(0);
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), vec![DEMO_LEAVER]);

    // Mail: the demo's rules and calendar grants, plus a shared mailbox's rule forwarding to
    // the leaver and the manager, and a peer's rule outside the sweep's bound.
    assert_eq!(
        ms.inbox_rules(MS_LEAVER)[0].forward_to,
        [DEMO_EXTERNAL_FORWARD]
    );
    assert_eq!(ms.calendar_permissions(DEMO_MANAGER)[0].address, MS_LEAVER);
    let shared_rule = ms
        .seed_inbox_rule(
            DEMO_SHARED_MAILBOX,
            "Escalate",
            &[MS_LEAVER, DEMO_MANAGER],
            &[],
        )
        .unwrap();
    ms.seed_inbox_rule(PEER, "To Jane", &[MS_LEAVER], &[])
        .unwrap();

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

    // The leaver's own forwarding rule is gone; Passage's forward to the manager stays.
    let own = ms.inbox_rules(MS_LEAVER);
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0].redirect_to, [DEMO_MANAGER]);
    assert!(ms.inbox_rules(DEMO_MANAGER).is_empty());
    let shared = ms.inbox_rules(DEMO_SHARED_MAILBOX);
    assert_eq!(shared.len(), 1);
    assert_eq!(
        (shared[0].id.as_str(), &shared[0].forward_to[..]),
        (shared_rule.as_str(), &[DEMO_MANAGER.to_owned()][..])
    );
    // Outside the bound (a peer's mailbox): not seen, not changed.
    assert_eq!(ms.inbox_rules(PEER)[0].forward_to, [MS_LEAVER]);
    assert!(ms.calendar_permissions(DEMO_MANAGER).is_empty());
    assert_eq!(ms.calendar_permissions(MS_LEAVER)[0].address, PEER);
    // Google: the manager owns the group and manages the drive; the leaver is in neither.
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), vec![DEMO_MANAGER]);
    assert_eq!(google.group_role(DEMO_OWNED_GROUP, DEMO_LEAVER), None);
    assert_eq!(
        google.group_owners(DEMO_CO_OWNED_GROUP),
        vec!["priya.patel@example.com"]
    );
    let drive = google.shared_drive_members(&drive_id);
    assert!(drive.iter().all(|(who, _)| who != DEMO_LEAVER), "{drive:?}");
    assert!(drive.contains(&(DEMO_MANAGER.to_owned(), "organizer".to_owned())));

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
    assert!(at("microsoft.forward_mail") <= at("microsoft.sweep_mail_access"));
    assert!(at("microsoft.sweep_mail_access") <= at("microsoft.remove_licenses"));
    // Google ownership was handed over before the memberships went.
    assert!(at("google.sweep_shared_access") <= at("google.remove_groups"));
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
    assert_eq!(
        grade("ownership", &format!("group:{owned_id}")).0,
        "removed"
    );
    assert_eq!(
        grade("ownership", &format!("shared_drive:{drive_id}")).0,
        "removed"
    );
    let (app, why) = grade("ownership", "application:");
    assert_eq!(app, "remains");
    assert!(
        why.as_str().unwrap().contains("Entra administrator"),
        "{why}"
    );
    let forwarding: Vec<&Value> = graded
        .iter()
        .filter(|i| i["kind"] == "forwarding")
        .collect();
    assert_eq!(forwarding.len(), 3, "{forwarding:#?}");
    assert!(forwarding.iter().all(|i| i["grade"] == "removed"));
    for mailbox in [MS_LEAVER, DEMO_MANAGER, DEMO_SHARED_MAILBOX] {
        assert_eq!(
            grade("forwarding", &format!("rule:{mailbox}/")).0,
            "removed"
        );
    }
    assert_eq!(
        grade("delegation", &format!("calendar:{DEMO_MANAGER}/")).0,
        "removed"
    );
    // The colleague on the leaver's own calendar is recorded, not graded: it is not the
    // leaver's access, and it carries the leaver's meetings on.
    assert!(
        !graded
            .iter()
            .any(|i| i["id"].as_str().unwrap().contains(PEER))
    );
    let snapshot = steps
        .iter()
        .find(|s| s.key.as_str() == "microsoft.snapshot")
        .unwrap();
    let mail = &snapshot.result.as_ref().unwrap().output["mail_access"];
    assert_eq!(mail["own_calendar"][0]["address"], PEER);
    let scanned: Vec<&str> = mail["scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["why"].as_str().unwrap())
        .collect();
    assert_eq!(scanned[..2], ["leaver", "manager"]);
    assert!(scanned[2..].iter().all(|w| *w == "shared mailbox") && scanned.len() > 2);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_inbox_rule_list_failing_mid_paging_holds_the_run() {
    let mut options = options("mail-paging");
    // Without Passage's own forward (whose rule list would fail the same way), the mail
    // sweep runs straight after the snapshot.
    options.customize = Some(std::sync::Arc::new(|p: &mut passage_core::TenantPolicy| {
        p.sweep = passage_core::SweepPolicy::default();
        if let Some(ms) = p.microsoft.as_mut() {
            ms.forward_to_delegate = false;
        }
    }));
    let sb = Sandbox::start(options).await.unwrap();
    let ms = &sb.others.as_ref().unwrap().microsoft;
    ms.fail_mail_pages(true);
    // A second rule, so the leaver's rule list has a second page to fail on.
    ms.seed_inbox_rule(MS_LEAVER, "Also home", &[], &[DEMO_EXTERNAL_FORWARD])
        .unwrap();
    let run_id = start_run(&sb, "msg_sweep_mail_paging").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let find = |key: &str| steps.iter().find(|s| s.key.as_str() == key).unwrap();
        let sweep = find("microsoft.sweep_mail_access");
        if find("microsoft.suspend").state == StepState::Verified && sweep.attempts >= 2 {
            assert_ne!(sweep.state, StepState::Verified);
            let output = &find("microsoft.snapshot").result.as_ref().unwrap().output;
            assert!(output["mail_unreadable"].is_string(), "{output}");
            assert!(output.get("mail_access").is_none());
            // Nothing the failed list would have shown is graded absent, or at all.
            let items = access::grade(&steps);
            assert!(items.iter().all(|i| {
                !matches!(
                    i.kind,
                    access::ItemKind::Forwarding | access::ItemKind::Delegation
                )
            }));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mail sweep {} after {} attempts",
            sweep.state.as_str(),
            sweep.attempts
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert!(run.state.is_open());
    // Nothing was removed unrecorded: both rules and the calendar grant are still there.
    assert_eq!(ms.inbox_rules(MS_LEAVER).len(), 2);
    assert_eq!(ms.inbox_rules(DEMO_MANAGER).len(), 1);
    assert_eq!(ms.calendar_permissions(DEMO_MANAGER).len(), 1);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_google_member_list_failing_mid_paging_holds_the_run() {
    let sb = Sandbox::start(options("google-paging")).await.unwrap();
    let google = &sb.others.as_ref().unwrap().google;
    // The co-owned group has two owners, so its owner list has a second page to fail on.
    google.fail_sweep_list_pages(true);
    let run_id = start_run(&sb, "msg_sweep_google_paging").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let step = |key: &str| steps.iter().find(|s| s.key.as_str() == key).unwrap();
        let sweep = step("google.sweep_shared_access");
        if step("google.suspend").state == StepState::Verified && sweep.attempts >= 2 {
            assert_ne!(sweep.state, StepState::Verified);
            // The memberships wait for the hand-over, so no group is left without an owner.
            assert_ne!(step("google.remove_groups").state, StepState::Verified);
            let snapshot = step("google.snapshot").result.as_ref().unwrap();
            assert!(snapshot.output["owned_unreadable"].is_string());
            let items = access::grade(&steps);
            assert!(items.iter().all(|i| {
                i.provider != passage_core::Provider::Google
                    || i.kind != access::ItemKind::Ownership
                    || i.grade != Grade::Absent
            }));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "google sweep {} after {} attempts",
            sweep.state.as_str(),
            sweep.attempts
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert!(run.state.is_open());
    // Nothing was handed over unrecorded: the leaver still owns the group and is a member.
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), vec![DEMO_LEAVER]);
    assert_eq!(
        google.group_role(DEMO_OWNED_GROUP, DEMO_LEAVER).as_deref(),
        Some("OWNER")
    );
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
