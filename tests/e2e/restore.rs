//! Rehire: the demo leaver's run closes across Okta, Microsoft 365, Google Workspace and
//! JumpCloud; an operator restores it over the operator API. Each emulator, read directly, shows
//! the person back as the snapshot recorded them (active, groups, licences, mailbox type,
//! no forwarding, no auto-reply) except the listed irreversible items; both bundles verify, with
//! openssl and `passage verify`, and the restore bundle names the original's digest. A restore
//! of an open run, a second restore while one is open, and a provider failing mid-restore are
//! refused or held.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event, wait_for};
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{RunId, RunState, StepState};
use passage_http::{Operator, Operators};
use passage_sandbox::okta::DEMO_LEAVER;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "rehire-operator-token-0123456789abcdef";

/// What each emulator says of the leaver, read directly: the state a restore must bring back.
#[derive(Debug, PartialEq)]
struct World {
    okta_status: String,
    okta_groups: BTreeSet<String>,
    ms_enabled: bool,
    ms_groups: BTreeSet<String>,
    ms_licences: BTreeSet<String>,
    ms_mailbox: String,
    ms_auto_reply: String,
    ms_forward_rules: usize,
    google_suspended: bool,
    google_groups: BTreeSet<String>,
    google_licences: usize,
    google_forwarding: bool,
    google_vacation: bool,
    jc_suspended: bool,
    jc_groups: BTreeSet<String>,
}

fn read_world(sb: &Sandbox) -> World {
    let o = sb.others.as_ref().unwrap();
    let okta = sb.okta.user(DEMO_LEAVER).unwrap();
    let ms = o.microsoft.user(DEMO_LEAVER).unwrap();
    let mailbox = o.microsoft.mailbox(DEMO_LEAVER).unwrap();
    let google = o.google.user(DEMO_LEAVER).unwrap();
    let jc = o.jumpcloud.user(DEMO_LEAVER).unwrap();
    World {
        okta_status: format!("{:?}", okta.status),
        okta_groups: okta.groups.iter().map(|g| g.name.clone()).collect(),
        ms_enabled: ms.account_enabled,
        ms_groups: o
            .microsoft
            .user_groups(DEMO_LEAVER)
            .into_iter()
            .map(|g| g.display_name)
            .collect(),
        ms_licences: o
            .microsoft
            .licenses(DEMO_LEAVER)
            .into_iter()
            .map(|l| l.sku_part_number)
            .collect(),
        ms_mailbox: format!("{:?}", mailbox.purpose),
        ms_auto_reply: mailbox.auto_reply_status.clone(),
        ms_forward_rules: mailbox
            .rules
            .iter()
            .filter(|r| r.display_name.starts_with("Passage"))
            .count(),
        google_suspended: google.suspended,
        google_groups: google.groups.iter().cloned().collect(),
        google_licences: google.licenses.len(),
        google_forwarding: google.auto_forwarding.enabled,
        google_vacation: google.vacation.enable_auto_reply,
        jc_suspended: jc.suspended,
        jc_groups: jc.groups.iter().map(|g| g.name.clone()).collect(),
    }
}

async fn operator_post(sb: &Sandbox, run: &RunId, body: Value) -> (u16, Value) {
    let url = format!(
        "{}/v1/operator/tenants/demo/runs/{run}/restore",
        sb.base_url
    );
    let r = sb
        .http
        .post(url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn keys(plan: &Value, list: &str) -> Vec<String> {
    plan[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rehire_gets_back_what_the_leaver_run_took_and_both_bundles_verify() {
    let dir =
        std::env::temp_dir().join(format!("passage-restore-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.all_providers = true;
    options.operators = Operators::new(vec![Operator::new(
        "rosa",
        Some(&Secret::new(TOKEN)),
        None,
        vec!["demo".into()],
    )]);
    let sb = Sandbox::start(options).await.unwrap();
    let before = read_world(&sb);
    assert_eq!(before.okta_status, "Active");
    assert!(before.ms_enabled && !before.google_suspended && !before.jc_suspended);

    let r = sb
        .post(
            "msg_rehire",
            &leaver_event(DEMO_LEAVER, "E17", Cutoff::Immediate),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    let original = RunId::new(v["run_id"].as_str().unwrap());

    // An open run cannot be restored.
    let (status, refused) = operator_post(&sb, &original, json!({"dry_run": true})).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.to_string().contains("closed"), "{refused}");

    let closed = sb
        .wait_closed(&original, Duration::from_secs(180))
        .await
        .unwrap();
    let original_bundle = closed.bundle.clone().unwrap();
    let after_leaving = read_world(&sb);
    assert_ne!(after_leaving.okta_status, "Active");
    assert!(
        !after_leaving.ms_enabled && after_leaving.google_suspended && after_leaving.jc_suspended
    );

    // The plan first: nothing changes.
    let (status, dry) = operator_post(&sb, &original, json!({"dry_run": true})).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(read_world(&sb), after_leaving, "a dry run changes nothing");
    let plan = &dry["plan"];
    let restoring = keys(plan, "items");
    for expected in [
        "okta.account",
        "microsoft.account",
        "microsoft.mailbox.type",
        "microsoft.mailbox.forwarding",
        "microsoft.mailbox.auto_reply",
        "google.account",
        "jumpcloud.account",
    ] {
        assert!(
            restoring.contains(&expected.to_owned()),
            "{expected} not in {restoring:?}"
        );
    }
    assert!(restoring.iter().any(|k| k.starts_with("microsoft.group.")));
    assert!(
        restoring
            .iter()
            .any(|k| k.starts_with("microsoft.licence."))
    );
    assert!(restoring.iter().any(|k| k.starts_with("jumpcloud.group.")));
    let cannot = keys(plan, "not_restorable");
    assert!(
        cannot
            .iter()
            .any(|k| k.starts_with("jumpcloud.device.") || k.starts_with("microsoft.device.")),
        "a secured device is listed as irreversible: {cannot:?}"
    );
    for n in plan["not_restorable"].as_array().unwrap() {
        assert!(!n["why"].as_str().unwrap().is_empty(), "{n}");
    }
    // Groups the leaver never lost through the run (AD-mastered, dynamic) are not restored.
    let names: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"AD Engineering"), "{names:?}");
    assert!(!names.contains(&"All Engineering (dynamic)"), "{names:?}");

    // Started in the operator's name; a second one while it is open is refused.
    let (status, started) = operator_post(&sb, &original, json!({"note": "rehired"})).await;
    assert_eq!(status, 202, "{started}");
    let restore = RunId::new(started["run_id"].as_str().unwrap());
    let (status, twice) = operator_post(&sb, &original, json!({})).await;
    assert_eq!(status, 409, "{twice}");
    assert!(twice.to_string().contains("still"), "{twice}");

    let restored = wait_for(&sb.system, &restore, Duration::from_secs(180), |r| {
        r.state == RunState::Closed
    })
    .await
    .unwrap();
    let source = restored.restore().expect("a restore run");
    assert_eq!(source.original_run, original);
    assert_eq!(
        source.original_manifest_sha256,
        original_bundle.manifest_sha256
    );
    assert_eq!(source.actor, "rosa");
    let steps = sb.system.store.steps(&restore).await.unwrap();
    assert!(
        steps.iter().all(|s| s.state == StepState::Verified),
        "{steps:#?}"
    );
    assert!(
        steps
            .iter()
            .all(|s| s.result.as_ref().is_some_and(|r| !r.readback.is_null()))
    );

    // Read back from each emulator: the person is back as the snapshot recorded them.
    let after = read_world(&sb);
    assert_eq!(after, before, "restored state differs from the pre-state");

    // Both bundles verify, with openssl and with passage verify, which checks the link.
    let restore_bundle = restored.bundle.clone().unwrap();
    for location in [&original_bundle.location, &restore_bundle.location] {
        openssl_verifies(Path::new(location));
    }
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(Path::new(&restore_bundle.location).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["restores"]["run_id"], original.as_str());
    assert_eq!(
        manifest["restores"]["manifest_sha256"],
        original_bundle.manifest_sha256.as_str()
    );
    assert!(
        !manifest["restores"]["not_restorable"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_passage"))
        .args([
            "verify",
            &original_bundle.location,
            &restore_bundle.location,
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "restore link OK: run {restore} restores run {original}"
        )),
        "{text}"
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The signature over the statement checks with stock openssl, and the statement pins the
/// manifest's SHA-256.
fn openssl_verifies(dir: &Path) {
    let out = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "signing-key.pem",
            "-signature",
            "statement.sig",
            "statement.txt",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statement = std::fs::read_to_string(dir.join("statement.txt")).unwrap();
    let digest = Command::new("sha256sum")
        .arg(dir.join("manifest.json"))
        .output()
        .unwrap();
    let digest = String::from_utf8(digest.stdout).unwrap()[..64].to_owned();
    assert!(statement.contains(&digest), "{statement}");
}

/// A leaver run that unassigns apps (`unassign_apps = true`) is restored: each app the leaver
/// held directly is assigned again with its recorded username and profile, read back from the
/// emulator; the app held through a group comes back with the group, not a second time; and
/// an app deleted since the run is listed with why instead of holding the restore.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rehire_gets_back_the_okta_apps_the_run_unassigned() {
    use passage_core::Action;
    use passage_sandbox::okta::effect;
    let dir = std::env::temp_dir().join(format!(
        "passage-restore-apps-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = SandboxOptions::new(&dir);
    options.customize = Some(std::sync::Arc::new(|p: &mut passage_core::TenantPolicy| {
        if let Some(okta) = p.okta.as_mut() {
            okta.unassign_apps = true;
        }
    }));
    options.operators = Operators::new(vec![Operator::new(
        "rosa",
        Some(&Secret::new(TOKEN)),
        None,
        vec!["demo".into()],
    )]);
    let sb = Sandbox::start(options).await.unwrap();
    let held = |sb: &Sandbox| -> BTreeSet<(String, String, Option<String>)> {
        sb.okta
            .user(DEMO_LEAVER)
            .unwrap()
            .app_assignments
            .into_iter()
            .map(|a| (a.label, a.scope.as_str().to_owned(), a.group))
            .collect()
    };
    let before = held(&sb);
    let app_id = |label: &str| {
        let user = sb.okta.user(DEMO_LEAVER).unwrap();
        let app = user.app_assignments.iter().find(|a| a.label == label);
        app.unwrap().app_id.clone()
    };
    let (slack, workspace, github) = (
        app_id("Slack"),
        app_id("Google Workspace"),
        app_id("GitHub Enterprise"),
    );
    assert!(before.contains(&("Slack".into(), "USER".into(), None)));
    assert!(before.contains(&(
        "GitHub Enterprise".into(),
        "GROUP".into(),
        Some("GitHub Admins".into())
    )));

    let r = sb
        .post(
            "msg_rehire_apps",
            &leaver_event(DEMO_LEAVER, "E18", Cutoff::Immediate),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    let original = RunId::new(v["run_id"].as_str().unwrap());
    sb.wait_closed(&original, Duration::from_secs(180))
        .await
        .unwrap();
    assert!(held(&sb).is_empty(), "{:?}", held(&sb));

    // The plan gives back the two direct assignments; the group's app is the group's.
    let (status, dry) = operator_post(&sb, &original, json!({"dry_run": true})).await;
    assert_eq!(status, 200, "{dry}");
    let restoring = keys(&dry["plan"], "items");
    for id in [&slack, &workspace] {
        assert!(
            restoring.contains(&format!("okta.app.{id}")),
            "{restoring:?}"
        );
    }
    assert!(
        !restoring.contains(&format!("okta.app.{github}")),
        "{restoring:?}"
    );
    assert!(
        !keys(&dry["plan"], "not_restorable")
            .iter()
            .any(|k| k.starts_with("okta.app."))
    );

    // Hostile: an administrator deletes one of the apps before the restore runs.
    assert!(sb.okta.delete_app("Google Workspace"));
    let (status, started) = operator_post(&sb, &original, json!({"note": "rehired"})).await;
    assert_eq!(status, 202, "{started}");
    let restore = RunId::new(started["run_id"].as_str().unwrap());
    wait_for(&sb.system, &restore, Duration::from_secs(180), |r| {
        r.state == RunState::Closed
    })
    .await
    .unwrap();
    let steps = sb.system.store.steps(&restore).await.unwrap();
    let apps = steps
        .iter()
        .find(|s| s.action == Action::RestoreApps)
        .expect("a restore_apps step");
    assert_eq!(apps.state, StepState::Verified, "{apps:#?}");
    let output = &apps.result.as_ref().unwrap().output;
    assert_eq!(output["restored"][0]["id"], slack.as_str(), "{output}");
    assert_eq!(
        output["not_restored"][0]["id"],
        workspace.as_str(),
        "{output}"
    );
    assert!(
        output["not_restored"][0]["why"]
            .as_str()
            .unwrap()
            .contains("deleted"),
        "{output}"
    );
    assert_eq!(output["via_group"][0]["id"], github.as_str(), "{output}");
    assert_eq!(output["via_group"][0]["held_again"], true, "{output}");

    // Read from the emulator: Slack is the leaver's again, directly; GitHub through its
    // group; the deleted app nowhere; exactly one assignment made.
    let after = held(&sb);
    assert_eq!(
        after,
        BTreeSet::from([
            ("Slack".into(), "USER".into(), None),
            (
                "GitHub Enterprise".into(),
                "GROUP".into(),
                Some("GitHub Admins".into())
            ),
        ])
    );
    assert_eq!(sb.okta.effects_applied(effect::ASSIGN_APP, DEMO_LEAVER), 1);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
