//! `passage check`'s preflight against each emulator with a permission withheld: it names the
//! missing grant and the step it would block, and it sends nothing but token requests and
//! reads — the emulators' request counters show no write, and their effect books stay empty.

use crate::common;
use passage_connectors::ConnectionSettings;
use passage_connectors::jumpcloud::JumpCloudCredential;
use passage_connectors::microsoft::MicrosoftCredential;
use passage_connectors::okta::{OktaCredentials, OktaSettings, ServiceApp};
use passage_connectors::preflight::{Finding, Status, TenantReport, check_tenant};
use passage_core::secret::Secret;
use passage_core::{DeviceAction, JumpCloudPolicy, TenantPolicy};
use passage_sandbox::common::counters::RequestCounters;
use passage_sandbox::google::{GoogleConfig, GoogleEmulator};
use passage_sandbox::jumpcloud::{JumpCloudConfig, JumpCloudEmulator, Role};
use passage_sandbox::microsoft::{
    AppCredential, AppRegistration, MicrosoftConfig, MicrosoftEmulator, directory_roles,
};
use passage_sandbox::okta::{ClientKey, OktaConfig, OktaEmulator, SigningAlg};

/// A policy with only the providers the test sets.
fn policy() -> TenantPolicy {
    let mut policy = TenantPolicy::new("acme");
    policy.okta = None;
    policy
}

fn finding<'a>(report: &'a TenantReport, check: &str) -> &'a Finding {
    report
        .providers
        .iter()
        .flat_map(|p| p.findings.iter())
        .find(|f| f.check.ends_with(check))
        .unwrap_or_else(|| panic!("no finding {check}: {report:#?}"))
}

fn steps(f: &Finding) -> Vec<(&str, bool)> {
    f.steps
        .iter()
        .map(|s| (s.step.as_str(), s.critical))
        .collect()
}

/// Every request the emulator served was a read: a GET, a token request, or a POST that
/// `reads` lists (Exchange's `InvokeCommand`, for `Get-Mailbox`).
fn assert_only_reads(counters: &RequestCounters, token_paths: &[&str], reads: &[&str]) {
    let writes: Vec<_> = counters
        .by_route()
        .into_iter()
        .filter(|((method, template), _)| {
            method != "GET"
                && !token_paths.contains(&template.as_str())
                && !(method == "POST" && reads.contains(&template.as_str()))
        })
        .collect();
    assert!(writes.is_empty(), "the preflight sent writes: {writes:?}");
    assert!(counters.total() > 0, "the preflight sent nothing");
}

/// The preflight's own record of its calls agrees: nothing but GETs and POSTs.
fn assert_recorded_only_reads(report: &TenantReport) {
    for p in &report.providers {
        for c in &p.calls {
            assert!(
                c.method == "GET" || c.method == "POST",
                "{} {} {}",
                p.provider,
                c.method,
                c.path
            );
        }
    }
}

// ----- Microsoft -------------------------------------------------------------------------

const MS_CLIENT: &str = "9b0e7c1d-2f3a-4b5c-8d6e-7f8091a2b3c4";
const MS_TOKEN: &str = "/{tenant}/oauth2/v2.0/token";
const MS_EXCHANGE: &str = "/adminapi/beta/{tenant}/InvokeCommand";

async fn microsoft(registration: AppRegistration) -> (MicrosoftEmulator, TenantReport) {
    let ms = MicrosoftEmulator::start(MicrosoftConfig::default())
        .await
        .unwrap();
    passage_sandbox::microsoft::demo_seed(&ms);
    ms.register(registration);
    let mut policy = policy();
    policy.microsoft = Some(common::microsoft_policy(DeviceAction::Retire));
    let settings = ConnectionSettings {
        microsoft: Some(common::microsoft_settings(
            &ms,
            MS_CLIENT,
            MicrosoftCredential::Secret(Secret::new("s3cret".to_owned())),
            common::microsoft_policy(DeviceAction::Retire),
        )),
        ..ConnectionSettings::default()
    };
    let report = check_tenant(&policy, &settings, &passage_connectors::http::client()).await;
    (ms, report)
}

fn ms_app() -> AppRegistration {
    AppRegistration::new(MS_CLIENT, AppCredential::Secret("s3cret".into()))
}

#[tokio::test]
async fn microsoft_with_every_grant_passes_and_only_reads() {
    let (ms, report) = microsoft(ms_app()).await;
    assert!(!report.blocks_critical(), "{report:#?}");
    for check in [
        "credential",
        "User.RevokeSessions.All",
        "GroupMember.Read.All",
        "Exchange.ManageAsApp",
        "Exchange Administrator",
        "read: a group membership, whole",
        "read: the Intune device list",
        "read: a mailbox setting",
        "read: Get-Mailbox through Exchange Online",
    ] {
        assert_eq!(finding(&report, check).status, Status::Ok, "{check}");
    }
    // Covered by a broader permission, and said so.
    assert!(
        finding(&report, "User.RevokeSessions.All")
            .detail
            .contains("User.ReadWrite.All")
    );
    // The default app holds no role for administrator leavers: a warning, not a failure.
    let admins = finding(&report, "Privileged Authentication Administrator");
    assert_eq!(admins.status, Status::Warning);
    assert_only_reads(ms.counters(), &[MS_TOKEN], &[MS_EXCHANGE]);
    assert_recorded_only_reads(&report);
    assert!(ms.audit_log().is_empty(), "{:?}", ms.audit_log());
    assert!(ms.effects().is_empty());
    ms.shutdown().await;
}

#[tokio::test]
async fn microsoft_without_a_group_permission_names_it_and_the_trap() {
    let roles = [
        "User.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "LicenseAssignment.ReadWrite.All",
        "MailboxSettings.ReadWrite",
        "DeviceManagementManagedDevices.Read.All",
        "DeviceManagementManagedDevices.PrivilegedOperations.All",
    ];
    let (ms, report) = microsoft(ms_app().with_graph_roles(&roles)).await;
    assert!(report.blocks_critical());
    let write = finding(&report, "GroupMember.ReadWrite.All");
    assert_eq!(write.status, Status::Missing);
    assert_eq!(
        write.id.as_deref(),
        Some("dbaae8cf-10b5-4b86-a4a1-f871c94c6695")
    );
    assert_eq!(steps(write), [("microsoft.remove_groups", true)]);
    let read = finding(&report, "GroupMember.Read.All");
    assert_eq!(read.status, Status::Missing);
    assert_eq!(
        steps(read),
        [
            ("microsoft.snapshot", true),
            ("microsoft.remove_groups", true)
        ]
    );
    // Graph answered memberOf with 200 and empty names: the read names the trap.
    let trap = finding(&report, "read: a group membership, whole");
    assert_eq!(trap.status, Status::Failed);
    assert!(
        trap.detail.contains("limited information"),
        "{}",
        trap.detail
    );
    assert!(
        report
            .blocked_critical_steps()
            .contains(&"microsoft.remove_groups".to_owned())
    );
    assert_only_reads(ms.counters(), &[MS_TOKEN], &[MS_EXCHANGE]);
    assert!(ms.effects().is_empty());
    ms.shutdown().await;
}

#[tokio::test]
async fn microsoft_exchange_without_its_permission_or_role_is_named() {
    let app = ms_app()
        .with_exchange_roles(&[])
        .with_directory_roles(&[directory_roles::USER_ADMINISTRATOR]);
    let (ms, report) = microsoft(app).await;
    let manage = finding(&report, "Exchange.ManageAsApp");
    assert_eq!(manage.status, Status::Missing);
    assert_eq!(
        steps(manage),
        [
            ("microsoft.remove_groups", true),
            ("microsoft.convert_mailbox", false)
        ]
    );
    assert_eq!(
        finding(&report, "Exchange Administrator").status,
        Status::Missing
    );
    assert_eq!(
        finding(&report, "read: Get-Mailbox through Exchange Online").status,
        Status::Failed
    );
    // User Administrator covers some administrator leavers, not all.
    assert_eq!(
        finding(&report, "Privileged Authentication Administrator").status,
        Status::Warning
    );
    assert!(report.blocks_critical());
    assert_only_reads(ms.counters(), &[MS_TOKEN], &[MS_EXCHANGE]);
    ms.shutdown().await;
}

#[tokio::test]
async fn microsoft_with_a_wrong_secret_fails_the_credential_and_every_step() {
    let mut app = ms_app();
    app.credentials = vec![AppCredential::Secret("another".into())];
    let (ms, report) = microsoft(app).await;
    let f = finding(&report, "credential");
    assert_eq!(f.status, Status::Failed);
    assert!(f.detail.contains("invalid_client"), "{}", f.detail);
    assert!(f.steps.iter().any(|s| s.step == "microsoft.suspend"));
    assert_eq!(report.providers[0].findings.len(), 1);
    ms.shutdown().await;
}

// ----- Google ------------------------------------------------------------------------------

async fn google(scopes: &[&str]) -> (GoogleEmulator, TenantReport) {
    let google = GoogleEmulator::start(GoogleConfig::default())
        .await
        .unwrap();
    passage_sandbox::google::demo_seed(&google);
    common::register_google_service_account(&google, scopes);
    let mut policy = policy();
    policy.google = Some(common::google_policy(DeviceAction::Retire));
    // The sweep on, so every delegated scope (Drive's too) is needed and checked.
    policy.sweep = passage_core::SweepPolicy::default();
    let settings = ConnectionSettings {
        google: Some(common::google_settings(
            &google,
            common::google_policy(DeviceAction::Retire),
        )),
        ..ConnectionSettings::default()
    };
    let report = check_tenant(&policy, &settings, &passage_connectors::http::client()).await;
    (google, report)
}

#[tokio::test]
async fn google_names_the_scope_not_delegated_and_only_reads() {
    use passage_connectors::google::{DELEGATED_SCOPES, scopes};
    let withheld = scopes::DIRECTORY_GROUP_MEMBER;
    let delegated: Vec<&str> = DELEGATED_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != withheld)
        .collect();
    let (google, report) = google(&delegated).await;
    let f = finding(&report, withheld);
    assert_eq!(f.status, Status::Missing);
    assert!(f.detail.contains("unauthorized_client"), "{}", f.detail);
    assert_eq!(
        steps(f),
        [
            ("google.remove_groups", true),
            ("google.sweep_shared_access", true)
        ]
    );
    assert!(report.blocks_critical());
    for scope in &delegated {
        assert_eq!(finding(&report, scope).status, Status::Ok, "{scope}");
    }
    assert_eq!(finding(&report, "Super Admin").status, Status::Ok);
    for read in [
        "admin_subject (users.get)",
        "admin_subject's OAuth tokens",
        "admin_subject's groups",
        "the mobile device list",
        "the data transfer applications",
        "a licence assignment",
        "a Gmail setting (vacation)",
        "the shared drive list",
    ] {
        let f = finding(&report, read);
        assert_eq!(f.status, Status::Ok, "{read}: {}", f.detail);
    }
    assert_only_reads(google.counters(), &["/token"], &[]);
    assert_recorded_only_reads(&report);
    assert!(google.effects().is_empty());
    assert!(google.audit_log().is_empty());
    google.shutdown().await;
}

#[tokio::test]
async fn google_with_every_scope_passes() {
    let (google, report) = google(passage_connectors::google::DELEGATED_SCOPES).await;
    assert!(!report.blocks_critical(), "{report:#?}");
    assert!(
        report.providers[0]
            .findings
            .iter()
            .all(|f| f.status == Status::Ok),
        "{report:#?}"
    );
    google.shutdown().await;
}

// ----- Okta --------------------------------------------------------------------------------

const OKTA_APP: &str = "0oapreflight";

async fn okta_report(okta: &OktaEmulator, credentials: OktaCredentials) -> TenantReport {
    let mut policy = TenantPolicy::new("acme");
    let o = policy.okta.as_mut().unwrap();
    o.reset_factors = true;
    o.unassign_apps = true;
    let settings = ConnectionSettings {
        okta: Some(OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials,
        }),
        ..ConnectionSettings::default()
    };
    check_tenant(&policy, &settings, &passage_connectors::http::client()).await
}

fn all_okta_scopes() -> Vec<String> {
    passage_connectors::permissions::table(passage_core::Provider::Okta)
        .iter()
        .filter(|p| p.kind == passage_connectors::permissions::Kind::OktaScope)
        .map(|p| p.name.to_owned())
        .collect()
}

#[tokio::test]
async fn okta_names_the_scope_the_app_was_not_granted_and_only_reads() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let (private, public) = common::rsa_key().clone();
    let granted: Vec<String> = all_okta_scopes()
        .into_iter()
        .filter(|s| s != "okta.groups.manage")
        .collect();
    okta.register_service_app(
        OKTA_APP,
        ClientKey::pem("key-1", SigningAlg::RS256, &public),
        granted,
        false,
    );
    let credentials = OktaCredentials::ServiceApp(ServiceApp {
        client_id: OKTA_APP.into(),
        private_key: Secret::new(private),
        key_id: Some("key-1".into()),
        scopes: all_okta_scopes(),
        dpop: false,
    });
    let report = okta_report(&okta, credentials).await;
    let f = finding(&report, "okta.groups.manage");
    assert_eq!(f.status, Status::Missing);
    assert!(f.detail.contains("did not grant"), "{}", f.detail);
    assert_eq!(steps(f), [("okta.remove_groups", true)]);
    assert!(report.blocks_critical());
    for scope in [
        "okta.users.read",
        "okta.users.manage",
        "okta.apps.read",
        "okta.apps.manage",
    ] {
        assert_eq!(finding(&report, scope).status, Status::Ok, "{scope}");
    }
    assert_eq!(finding(&report, "read: one user").status, Status::Ok);
    let role = finding(&report, "Super Administrator");
    assert_eq!(role.status, Status::Unproven);
    assert!(
        role.detail
            .contains("UNPROVEN Super Administrator: only a change would prove it")
    );
    assert_only_reads(okta.counters(), &["/oauth2/v1/token"], &[]);
    assert_recorded_only_reads(&report);
    assert!(okta.effects().is_empty());
    okta.shutdown().await;
}

#[tokio::test]
async fn okta_says_when_a_needed_scope_is_not_even_asked_for() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let (private, public) = common::rsa_key().clone();
    okta.register_service_app(
        OKTA_APP,
        ClientKey::pem("key-1", SigningAlg::RS256, &public),
        all_okta_scopes(),
        true,
    );
    let asked: Vec<String> = all_okta_scopes()
        .into_iter()
        .filter(|s| !s.starts_with("okta.apps"))
        .collect();
    let credentials = OktaCredentials::ServiceApp(ServiceApp {
        client_id: OKTA_APP.into(),
        private_key: Secret::new(private),
        key_id: Some("key-1".into()),
        scopes: asked,
        dpop: true,
    });
    let report = okta_report(&okta, credentials).await;
    let f = finding(&report, "okta.apps.manage");
    assert_eq!(f.status, Status::Missing);
    assert!(f.detail.contains("[tenants.okta] scopes"), "{}", f.detail);
    assert_eq!(steps(f), [("okta.unassign_apps", true)]);
    assert_eq!(finding(&report, "okta.groups.manage").status, Status::Ok);
    okta.shutdown().await;
}

#[tokio::test]
async fn okta_with_an_api_token_is_proven_by_a_read() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let report = okta_report(
        &okta,
        OktaCredentials::ApiToken(Secret::new(okta.api_token())),
    )
    .await;
    assert!(!report.blocks_critical(), "{report:#?}");
    assert_eq!(finding(&report, "credential").status, Status::Ok);
    assert_eq!(finding(&report, "okta.groups.manage").status, Status::Ok);
    assert_eq!(
        finding(&report, "Super Administrator").status,
        Status::Unproven
    );
    let wrong = okta_report(
        &okta,
        OktaCredentials::ApiToken(Secret::new("nope".to_owned())),
    )
    .await;
    assert_eq!(finding(&wrong, "credential").status, Status::Failed);
    assert!(wrong.blocks_critical());
    assert_only_reads(okta.counters(), &["/oauth2/v1/token"], &[]);
    okta.shutdown().await;
}

// ----- JumpCloud ---------------------------------------------------------------------------

async fn jumpcloud(role: Role) -> (JumpCloudEmulator, TenantReport) {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    passage_sandbox::jumpcloud::demo_seed(&jc);
    let key = jc.add_api_key(role, &[]);
    let mut policy = policy();
    policy.jumpcloud = Some(JumpCloudPolicy {
        devices: DeviceAction::Lock,
    });
    let settings = ConnectionSettings {
        jumpcloud: Some(common::jumpcloud_settings(
            &jc,
            JumpCloudCredential::ApiKey(Secret::new(key)),
            None,
            DeviceAction::Lock,
        )),
        ..ConnectionSettings::default()
    };
    let report = check_tenant(&policy, &settings, &passage_connectors::http::client()).await;
    (jc, report)
}

#[tokio::test]
async fn jumpcloud_read_only_key_reads_and_leaves_every_write_unproven() {
    let (jc, report) = jumpcloud(Role::ReadOnly).await;
    assert_eq!(finding(&report, "credential").status, Status::Ok);
    assert_eq!(finding(&report, "Read Only").status, Status::Ok);
    let admin = finding(&report, "Administrator");
    assert_eq!(admin.status, Status::Unproven);
    assert!(
        admin
            .detail
            .contains("UNPROVEN Administrator: only a change would prove it; Passage did not try. Confirm at Admin Portal"),
        "{}",
        admin.detail
    );
    assert_eq!(
        steps(admin),
        [
            ("jumpcloud.suspend", true),
            ("jumpcloud.remove_groups", true),
            ("jumpcloud.secure_devices", true)
        ]
    );
    assert!(!report.blocks_critical());
    assert_only_reads(jc.counters(), &["/oauth2/token"], &[]);
    assert_recorded_only_reads(&report);
    assert!(jc.effects().is_empty());
    jc.shutdown().await;
}

#[tokio::test]
async fn jumpcloud_command_runner_key_cannot_read_and_blocks_every_step() {
    let (jc, report) = jumpcloud(Role::CommandRunner).await;
    let f = finding(&report, "credential");
    assert_eq!(f.status, Status::Failed);
    assert!(f.detail.contains("role"), "{}", f.detail);
    assert!(report.blocks_critical());
    assert_eq!(
        report.blocked_critical_steps(),
        [
            "jumpcloud.remove_groups",
            "jumpcloud.secure_devices",
            "jumpcloud.snapshot",
            "jumpcloud.suspend"
        ]
    );
    assert_only_reads(jc.counters(), &["/oauth2/token"], &[]);
    jc.shutdown().await;
}
