//! The file as a whole: the shipped example, and refusals that name the key to fix.

use crate::Config;

#[test]
fn the_example_config_parses() {
    let config = Config::parse(include_str!("../../../passage.example.toml")).unwrap();
    assert_eq!(config.tenants.len(), 1);
    let okta = config.tenants[0].okta.as_ref().unwrap();
    assert!(okta.dpop && okta.client_id.is_some());
}

#[test]
fn the_example_config_has_every_section() {
    let text = include_str!("../../../passage.example.toml").replace(
        "file:/etc/passage/okta-acme.pem",
        "inline-key-not-checked-here",
    );
    let config = Config::parse(&text).unwrap();
    // Only the sections below are resolved: the Okta key above is not a real PEM.
    let t = &config.tenants[0];
    assert_eq!(t.hr_webhooks[0].vendor, "hibob");
    assert!(t.okta.as_ref().unwrap().pace.is_some());
    assert!(t.human.as_ref().unwrap().device_return.is_some());
    assert!(t.sign_in_watch.is_some());
    assert_eq!(config.operators.len(), 2);
    assert_eq!(config.oidc[0].name, "acme-okta");
    assert!(config.operators[0].oidc.is_some());
    assert!(config.notify.is_some());
    assert!(t.retry.is_some());
}

#[test]
fn hr_time_human_operator_and_notify_settings_resolve() {
    let text = r#"
[[tenants]]
id = "acme"
involuntary_immediate = false
[[tenants.locations]]
name = "Berlin"
time_zone = "Europe/Berlin"
end_of_day = "18:00"
[[tenants.hr_webhooks]]
vendor = "bamboohr"
secrets = ["bamboo-private-key"]
[tenants.hr_api]
vendor = "bamboohr"
company_domain = "acme"
api_key = "bamboo-api-key"
[tenants.human]
device_return = { due_after_hours = 1.5 }
remind = [{ kind = "slack", url = "https://hooks.slack.com/services/T/B/X" }]
[[operators]]
name = "it"
token = "0123456789abcdef0123456789abcdef"
tenants = ["acme"]
[notify.smtp]
host = "localhost"
port = 25
from = "passage@acme.example"
tls = "none"
"#;
    let r = Config::parse(text).unwrap().resolve_all().unwrap();
    let p = &r.policies[0];
    assert!(!p.involuntary_immediate);
    assert_eq!(
        p.location(Some("berlin")).unwrap().time_zone,
        "Europe/Berlin"
    );
    assert_eq!(p.hr_webhooks[0].vendor, "bamboohr");
    let d = p.human.device_return.as_ref().unwrap();
    assert!(
        d.critical,
        "device return is critical unless said otherwise"
    );
    assert_eq!(d.due_after, std::time::Duration::from_secs(5400));
    assert!(p.human.handover.is_none());
    assert_eq!(r.hr_apis[&p.id].vendor(), "bamboohr");
    assert_eq!(r.operators[0].tenants, vec!["acme".to_owned()]);
    assert!(r.notify.smtp.is_some());
    // No secret in Debug output.
    let debug = format!("{:?} {:?}", p.human, r.operators);
    assert!(!debug.contains("hooks.slack.com/services/T/B/X"), "{debug}");
    assert!(
        !debug.contains("0123456789abcdef0123456789abcdef"),
        "{debug}"
    );
}

#[test]
fn bad_hr_operator_and_human_settings_are_refused_with_a_reason() {
    let base = "[[tenants]]\nid = \"acme\"\n";
    let cases = [
        (
            "[[tenants.hr_webhooks]]\nvendor = \"workday\"\nsecrets = [\"x\"]\n",
            "workday",
        ),
        (
            "[[tenants.hr_webhooks]]\nvendor = \"hibob\"\nsecrets = []\n",
            "hibob",
        ),
        (
            "[[tenants.hr_webhooks]]\nvendor = \"hibob\"\nunsigned = true\n",
            "only for rippling",
        ),
        (
            "[[tenants.hr_webhooks]]\nvendor = \"rippling\"\nunsigned = true\nsecrets = [\"t0k3n-t0k3n-t0k3n\"]\n",
            "exclude each other",
        ),
        ("[tenants.hr_api]\nvendor = \"bamboohr\"\n", "hr_api"),
        (
            "[[tenants.locations]]\nname = \"X\"\ntime_zone = \"Mars/Base\"\n",
            "Mars/Base",
        ),
        (
            "[tenants.human]\ndevice_return = { due_after_hours = -1.0 }\n",
            "due_after_hours",
        ),
        (
            "[[operators]]\nname = \"o\"\ntoken = \"short\"\ntenants = [\"acme\"]\n",
            "too short",
        ),
        (
            "[[operators]]\nname = \"o\"\ntoken = \"0123456789abcdef0123456789abcdef\"\ntenants = [\"globex\"]\n",
            "globex",
        ),
        (
            "[[operators]]\nname = \"o\"\ntenants = [\"acme\"]\n",
            "token or an iam_principal",
        ),
        (
            "[[operators]]\nname = \"o\"\npassword_hash = \"hunter2\"\ntenants = [\"acme\"]\n",
            "must be an Argon2 hash",
        ),
    ];
    for (extra, needle) in cases {
        let text = format!("{base}{extra}");
        let err = match Config::parse(&text) {
            Err(e) => e,
            Ok(c) => match c.resolve_all() {
                Err(e) => e,
                Ok(_) => panic!("accepted: {extra}"),
            },
        };
        let msg = format!("{err:#}");
        assert!(msg.contains(needle), "{extra}: {msg}");
    }
}

#[test]
fn hr_webhooks_without_secrets_only_where_passage_can_learn_or_skip_them() {
    let base = "[[tenants]]\nid = \"acme\"\n";
    for ok in [
        "[[tenants.hr_webhooks]]\nvendor = \"gusto\"\n",
        "[[tenants.hr_webhooks]]\nvendor = \"rippling\"\nunsigned = true\n",
    ] {
        let resolved = Config::parse(&format!("{base}{ok}"))
            .and_then(|c| c.resolve_all())
            .unwrap_or_else(|e| panic!("{ok}: {e:#}"));
        let hook = &resolved.policies[0].hr_webhooks[0];
        assert!(hook.secrets.is_empty(), "{ok}");
    }
    let Err(err) = Config::parse(&format!(
        "{base}[[tenants.hr_webhooks]]\nvendor = \"merge\"\n"
    ))
    .and_then(|c| c.resolve_all()) else {
        panic!("merge without a secret was accepted");
    };
    assert!(format!("{err:#}").contains("merge"), "{err:#}");
}

#[test]
fn okta_credentials_must_be_one_kind() {
    let text = r#"
[[tenants]]
id = "acme"
[tenants.okta]
org_url = "https://acme.okta.com"
api_token = "t"
client_id = "c"
private_key = "k"
"#;
    let err = Config::parse(text).unwrap().resolve().unwrap_err();
    assert!(err.to_string().contains("either api_token"), "{err}");
}

/// `[tenants.retry]` sets the deadlines and the SLA in hours over the defaults; a config
/// written for the attempt count still loads, the count no longer read.
#[test]
fn retry_deadlines_and_the_sla_are_read_in_hours_over_the_defaults() {
    use passage_core::RetryPolicy;
    use std::time::Duration;
    let policy = |extra: &str| {
        let text = format!("[[tenants]]\nid = \"acme\"\n{extra}");
        let (policies, _) = Config::parse(&text).unwrap().resolve().unwrap();
        policies[0].retry
    };
    assert_eq!(policy(""), RetryPolicy::default());
    assert_eq!(policy("max_attempts = 6\n"), RetryPolicy::default());
    let set = policy("[tenants.retry]\ncritical_deadline_hours = 12\nsla_hours = 0.5\n");
    assert_eq!(set.critical_deadline, Duration::from_secs(12 * 3600));
    assert_eq!(set.deadline, RetryPolicy::default().deadline);
    assert_eq!(set.sla, Duration::from_secs(1800));
    for (extra, needle) in [
        ("[tenants.retry]\ndeadline_hours = 0\n", "longer than zero"),
        ("[tenants.retry]\nsla_hours = -1\n", "retry.sla_hours"),
        ("[tenants.retry]\nattempts = 3\n", "attempts"),
    ] {
        let text = format!("[[tenants]]\nid = \"acme\"\n{extra}");
        let err = match Config::parse(&text) {
            Err(e) => e,
            Ok(c) => c.resolve().map(|_| ()).unwrap_err(),
        };
        assert!(format!("{err:#}").contains(needle), "{extra}: {err:#}");
    }
}

#[test]
fn the_go_live_guard_is_on_unless_turned_off() {
    use passage_core::GuardPolicy;
    use std::time::Duration;
    let guard = |extra: &str| {
        let text = format!("[[tenants]]\nid = \"acme\"\n{extra}");
        let (policies, _) = Config::parse(&text).unwrap().resolve().unwrap();
        policies[0].guard
    };
    assert_eq!(guard(""), Some(GuardPolicy::default()));
    assert_eq!(guard("[tenants.guard]\nenabled = false\n"), None);
    assert_eq!(
        guard("[tenants.guard]\nmax_terminations = 20\nwindow_minutes = 10\n"),
        Some(GuardPolicy {
            max_terminations: 20,
            window: Duration::from_secs(600)
        })
    );
    let text = "[[tenants]]\nid = \"acme\"\n[tenants.guard]\nmax_terminations = 0\n";
    let err = Config::parse(text)
        .unwrap()
        .resolve()
        .map(|_| ())
        .unwrap_err();
    assert!(format!("{err:#}").contains("enabled = false"), "{err:#}");
}

#[test]
fn the_shared_resource_sweep_is_on_once_its_section_is_there() {
    use passage_core::SweepPolicy;
    let sweep = |extra: &str| {
        let text = format!("[[tenants]]\nid = \"acme\"\n{extra}");
        let (policies, _) = Config::parse(&text).unwrap().resolve().unwrap();
        policies[0].sweep.clone()
    };
    assert_eq!(sweep(""), SweepPolicy::off());
    assert_eq!(sweep("[tenants.sweep]\n"), SweepPolicy::default());
    let some = sweep("[tenants.sweep]\nonedrive_handover = false\nonedrive_retention_days = 93\n");
    assert!(some.admin_roles && some.shared_access && !some.onedrive_handover);
    assert!(some.google_shared);
    let no_google = sweep("[tenants.sweep]\ngoogle_shared = false\n");
    assert!(no_google.shared_access && !no_google.google_shared);
    assert_eq!(some.onedrive_retention_days, 93);
    assert!(
        some.mail_access && SweepPolicy::default().mail_access && !SweepPolicy::off().mail_access
    );
    assert!(!sweep("[tenants.sweep]\nmail_access = false\n").mail_access);
    assert!(
        Config::parse("[[tenants]]\nid = \"acme\"\n[tenants.sweep]\nadmin_role = true\n").is_err()
    );
}

#[test]
fn typos_and_bad_values_are_refused_with_a_reason() {
    assert!(Config::parse("[[tenants]]\nid = \"acme\"\nend_of_dya = \"17:00\"\n").is_err());
    assert!(Config::parse("[[tenants]]\nid = \"Acme Corp\"\n").is_err());
    let bad_zone = Config::parse("[[tenants]]\nid = \"acme\"\ndefault_time_zone = \"Mars/Base\"\n")
        .unwrap()
        .resolve()
        .unwrap_err();
    assert!(bad_zone.to_string().contains("Mars/Base"), "{bad_zone}");
}

#[tokio::test]
async fn the_wiring_carries_each_tenants_connections_hr_api_and_operators() {
    use passage_core::{Provider, TenantId};
    let text = r#"
[[tenants]]
id = "zeta"
[tenants.hr_api]
vendor = "bamboohr"
company_domain = "zeta"
api_key = "bamboo-api-key"
[[tenants]]
id = "acme"
name = "Acme"
[tenants.okta]
org_url = "https://acme.okta.com"
api_token = "okta-token"
[[tenants]]
id = "globex"
[tenants.hr_api]
vendor = "bamboohr"
company_domain = "globex"
api_key = "bamboo-api-key"
[[operators]]
name = "msp-staff"
token = "0123456789abcdef0123456789abcdef"
tenants = ["*"]
"#;
    let wiring = Config::parse(text)
        .unwrap()
        .wiring(crate::Pacing::off())
        .unwrap();
    assert_eq!(
        wiring.reconcile,
        vec![TenantId::new("zeta"), TenantId::new("globex")],
        "tenants with an HR API, in the file's order"
    );
    let ports = &wiring.integrations;
    let acme = ports
        .tenants
        .tenant(&TenantId::new("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme.name, "Acme");
    assert!(ports.connectors.connector(&acme, Provider::Okta).is_some());
    assert!(
        ports
            .connectors
            .connector(&acme, Provider::Google)
            .is_none()
    );
    assert!(ports.hr.source(&acme).is_none());
    let globex = ports
        .tenants
        .tenant(&TenantId::new("globex"))
        .await
        .unwrap()
        .unwrap();
    assert!(ports.hr.source(&globex).is_some());
    assert!(
        ports
            .tenants
            .tenant(&TenantId::new("initech"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(format!("{:?}", wiring.operators).contains("msp-staff"));
}

#[test]
fn unusable_notify_settings_stop_the_wiring() {
    let text = "[notify.smtp]\nhost = \"localhost\"\nport = 25\nfrom = \"not an address\"\ntls = \"none\"\n";
    let config = Config::parse(text).unwrap();
    let Err(err) = config.wiring(crate::Pacing::off()) else {
        panic!("a notifier with an unusable sender was wired");
    };
    assert!(format!("{err:#}").contains("notify"), "{err:#}");
}

#[test]
fn confirmation_links_last_fourteen_days_on_either_host() {
    let links = crate::confirm_links(
        "https://passage.example.com".into(),
        passage_core::secret::Secret::new("k"),
    );
    assert_eq!(links.base_url, "https://passage.example.com");
    assert_eq!(links.key.expose(), "k");
    assert_eq!(links.valid_for, std::time::Duration::from_secs(14 * 86_400));
}

#[test]
fn provider_refusals_name_the_tenant_and_the_key() {
    let base = "[[tenants]]\nid = \"acme\"\n";
    let ms = "[tenants.microsoft]\ntenant_id = \"t\"\nclient_id = \"c\"\n";
    let google = "[tenants.google]\nservice_account_email = \"sa@x\"\nprivate_key = \"k\"\nkey_id = \"1\"\nadmin_subject = \"admin@x\"\n";
    let cases = [
        (
            "[tenants.okta]\norg_url = \"acme.okta\"\napi_token = \"t\"\n".to_owned(),
            "tenant acme: okta.org_url",
        ),
        (
            "[tenants.okta]\norg_url = \"https://acme.okta.com\"\nclient_id = \"c\"\nprivate_key = \"not a pem\"\n".to_owned(),
            "tenant acme: okta.private_key",
        ),
        (ms.to_owned(), "tenant acme: microsoft needs either client_secret"),
        (
            format!("{ms}client_secret = \"s\"\ngraph_url = \"graph\"\n"),
            "tenant acme: microsoft.graph_url \"graph\" is not a URL",
        ),
        (
            format!("{google}token_url = \"token\"\n"),
            "tenant acme: google.token_url",
        ),
        (
            "[tenants.jumpcloud]\napi_key = \"k\"\nclient_id = \"c\"\n".to_owned(),
            "tenant acme: jumpcloud needs either api_key",
        ),
        (
            "[tenants.jumpcloud]\napi_key = \"k\"\ntoken_url = \"t\"\n".to_owned(),
            "tenant acme: jumpcloud.token_url",
        ),
    ];
    for (extra, needle) in cases {
        let config = Config::parse(&format!("{base}{extra}")).unwrap();
        let err = config
            .resolve()
            .err()
            .unwrap_or_else(|| panic!("accepted: {extra}"));
        assert!(err.to_string().contains(needle), "{extra}: {err:#}");
    }
}

#[test]
fn a_missing_secret_names_the_tenant_and_the_variable() {
    let text = "[[tenants]]\nid = \"acme\"\n[tenants.jumpcloud]\napi_key = \"env:PASSAGE_CONFIG_TEST_NEVER_SET\"\n";
    let err = Config::parse(text).unwrap().resolve().unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with("tenant acme: environment variable PASSAGE_CONFIG_TEST_NEVER_SET"),
        "{msg}"
    );
}

#[test]
fn google_takes_the_downloaded_json_key_file() {
    let dir = std::env::temp_dir().join(format!("passage-gkey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key.json");
    // The shape `gcloud iam service-accounts keys create` writes (fields Passage ignores kept).
    std::fs::write(
        &key,
        r#"{"type": "service_account", "project_id": "acme-prod", "private_key_id": "abc123",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
            "client_email": "passage@acme-prod.iam.gserviceaccount.com", "client_id": "1",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token", "universe_domain": "googleapis.com"}"#,
    )
    .unwrap();
    let text = format!(
        "[[tenants]]\nid = \"acme\"\n[tenants.google]\nkey_file = \"file:{}\"\nadmin_subject = \"admin@acme.example\"\n",
        key.display()
    );
    let (_, connections) = Config::parse(&text).unwrap().resolve().unwrap();
    let g = connections[&passage_core::TenantId::new("acme")]
        .google
        .clone()
        .unwrap();
    assert_eq!(
        g.service_account_email,
        "passage@acme-prod.iam.gserviceaccount.com"
    );
    assert_eq!(g.key_id, "abc123");
    assert!(
        g.private_key
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    std::fs::write(&key, r#"{"type": "authorized_user"}"#).unwrap();
    let err = format!("{:#}", Config::parse(&text).unwrap().resolve().unwrap_err());
    assert!(err.contains("tenant acme: google.key_file"), "{err}");
    let both = format!("{text}key_id = \"x\"\n");
    let err = format!("{:#}", Config::parse(&both).unwrap().resolve().unwrap_err());
    assert!(err.contains("either key_file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_check_lists_every_problem_at_once_with_its_key_and_fix() {
    let dir = std::env::temp_dir().join(format!("passage-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("passage.toml");
    std::fs::write(
        &path,
        r#"
[[tenants]]
id = "acme"
webhook_secrets = ["env:PASSAGE_CHECK_NO_SUCH_1"]
[tenants.okta]
org_url = "not a url"
api_token = "env:PASSAGE_CHECK_NO_SUCH_2"

[[tenants]]
id = "globex"
webhook_secrets = ["file:secrets/globex-whsec"]
[tenants.jumpcloud]
api_key = "k"
token_url = "nope"

[[operators]]
name = "it"
token = "env:PASSAGE_CHECK_NO_SUCH_3"
tenants = ["nosuch"]
"#,
    )
    .unwrap();
    let problems = crate::check_file(&path);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let all = text.join("\n");
    for needle in [
        "tenants[acme].webhook_secrets[0]: environment variable PASSAGE_CHECK_NO_SUCH_1",
        "tenants[acme].okta.api_token: environment variable PASSAGE_CHECK_NO_SUCH_2",
        "export PASSAGE_CHECK_NO_SUCH_2=",
        &format!(
            "reading secret file {}",
            dir.join("secrets/globex-whsec").display()
        ),
        "operators[it].token: environment variable PASSAGE_CHECK_NO_SUCH_3",
        "tenant globex: jumpcloud.token_url",
        "operators:",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sla_defaults_to_a_day_from_the_cutoff_and_refuses_nonsense() {
    use passage_core::{SlaClock, SlaPolicy};
    let base = "[[tenants]]\nid = \"acme\"\n";
    let r = Config::parse(base).unwrap().resolve_all().unwrap();
    assert_eq!(r.policies[0].sla, SlaPolicy::default());
    assert_eq!(r.policies[0].sla.within.as_secs(), 86_400);
    let text = format!("{base}[tenants.sla]\nhours = 1.5\nfrom = \"hr_notice\"\n");
    let r = Config::parse(&text).unwrap().resolve_all().unwrap();
    assert_eq!(r.policies[0].sla.within.as_secs(), 5400);
    assert_eq!(r.policies[0].sla.from, SlaClock::HrNotice);
    for (extra, needle) in [
        ("[tenants.sla]\nhours = 0\n", "sla.hours"),
        ("[tenants.sla]\nhours = 24\nfrom = \"payday\"\n", "payday"),
    ] {
        let err = match Config::parse(&format!("{base}{extra}")) {
            Err(e) => e,
            Ok(c) => c.resolve_all().err().expect("refused"),
        };
        assert!(format!("{err:#}").contains(needle), "{extra}: {err:#}");
    }
}

#[test]
fn the_sign_in_watch_defaults_to_three_days_and_refuses_nonsense() {
    use passage_core::SignInWatchPolicy;
    let base = "[[tenants]]\nid = \"acme\"\n";
    let r = Config::parse(base).unwrap().resolve_all().unwrap();
    assert_eq!(r.policies[0].sign_in_watch, SignInWatchPolicy::default());
    assert_eq!(r.policies[0].sign_in_watch.window.as_secs(), 72 * 3600);
    let text = format!(
        "{base}[tenants.sign_in_watch]\nhours = 0.5\nevery_minutes = 1\nslack_seconds = 5\ningestion_hours = 0\n"
    );
    let r = Config::parse(&text).unwrap().resolve_all().unwrap();
    let watch = r.policies[0].sign_in_watch;
    assert_eq!(watch.window.as_secs(), 1800);
    assert_eq!(watch.every.as_secs(), 60);
    assert_eq!(watch.slack.as_secs(), 5);
    assert!(watch.ingestion.is_zero());
    for (extra, needle) in [
        (
            "[tenants.sign_in_watch]\nhours = -1\n",
            "sign_in_watch.hours",
        ),
        (
            "[tenants.sign_in_watch]\nevery_minutes = 0\n",
            "every_minutes",
        ),
        ("[tenants.sign_in_watch]\ndays = 3\n", "days"),
    ] {
        let err = match Config::parse(&format!("{base}{extra}")) {
            Err(e) => e,
            Ok(c) => c.resolve_all().err().expect("refused"),
        };
        assert!(format!("{err:#}").contains(needle), "{extra}: {err:#}");
    }
}

#[test]
fn saas_sections_resolve_into_policies_and_connections() {
    let text = r#"
[[tenants]]
id = "acme"
[tenants.slack]
plan = "enterprise_grid"
token = "xoxp-1"
[tenants.github]
org = "acme-corp"
enterprise = "acme"
token = "ghp_1"
saml_sso = true
copilot = true
emu = true
remove_after_days = 14
logins = { "Jane.Doe@acme.example" = "jdoe" }
[[tenants.scim_apps]]
app = "notion"
name = "Notion"
base_url = "https://api.notion.example/scim/v2"
token = "s"
remove_after_days = 30
[[tenants.scim_apps]]
app = "canva"
name = "Canva"
base_url = "https://www.canva.example/_scim/v2"
token = "s"
deactivate_by = "delete"
remove_at_cutoff = true
critical = false
[[tenants.manual_apps]]
app = "figma"
name = "Figma"
owner = "design@acme.example"
escalate_after_hours = 48
"#;
    let (policies, connections) = Config::parse(text).unwrap().resolve().unwrap();
    let saas = &policies[0].saas;
    assert_eq!(
        saas.slack.as_ref().unwrap().plan,
        passage_core::SlackPlan::EnterpriseGrid
    );
    let github = saas.github.as_ref().unwrap();
    assert!(github.emu && github.saml_sso && github.copilot);
    assert_eq!(
        github.seat.remove_after,
        Some(std::time::Duration::from_secs(14 * 86_400))
    );
    let notion = saas.scim_app("notion").unwrap();
    assert!(notion.seat.deactivate_first && notion.removal_frees_seat);
    let canva = saas.scim_app("canva").unwrap();
    assert!(!canva.seat.deactivate_first && !canva.seat.critical);
    let figma = saas.manual_app("figma").unwrap();
    assert_eq!(figma.owner, "design@acme.example");
    assert_eq!(
        figma.step.escalate_after,
        std::time::Duration::from_secs(48 * 3600)
    );
    let c = &connections[&passage_core::TenantId::new("acme")];
    assert_eq!(c.scim.len(), 2);
    assert_eq!(
        c.scim["notion"].base_url.as_str(),
        "https://api.notion.example/scim/v2"
    );
    assert_eq!(
        c.github.as_ref().unwrap().logins["Jane.Doe@acme.example"],
        "jdoe"
    );
    assert_eq!(
        c.slack.as_ref().unwrap().api_url.as_str(),
        "https://slack.com/api"
    );
    // The plan built from it closes every seat.
    let steps =
        passage_core::plan::build(&passage_core::RunId::new("r"), &policies[0], None).unwrap();
    for key in [
        "slack.revoke_sessions",
        "github.remove_seat",
        "scim.notion.remove_seat",
        "scim.canva.remove_seat",
        "human.figma.confirm_app_removal",
    ] {
        assert!(steps.iter().any(|s| s.key.as_str() == key), "{key}");
    }
}

#[test]
fn saas_settings_that_would_lose_data_or_cannot_work_are_refused_with_the_fix() {
    let base = "[[tenants]]\nid = \"acme\"\n";
    let scim = "[[tenants.scim_apps]]\napp = \"wiki\"\nname = \"Wiki\"\nbase_url = \"https://w.example/scim/v2\"\ntoken = \"t\"\n";
    let cases = [
        (
            format!("{scim}deactivate_by = \"delete\"\n"),
            "DELETE cannot be undone, so it is no reversible deactivation",
        ),
        (
            format!("{scim}remove_at_cutoff = true\nremove_after_days = 3\n"),
            "contradict each other",
        ),
        (
            scim.replace("\"wiki\"", "\"Wiki!\""),
            "must be 1-32 of a-z, 0-9 and -",
        ),
        (
            scim.replace("\"wiki\"", "\"slack\""),
            "taken by the built-in connector",
        ),
        (format!("{scim}{scim}"), "used twice"),
        (
            "[tenants.slack]\nplan = \"pro\"\n".to_owned(),
            "has no SCIM API; name the owner",
        ),
        (
            "[tenants.slack]\nplan = \"business_plus\"\nremove_after_days = 3\ntoken = \"t\"\n"
                .to_owned(),
            "no removal beyond its deactivation",
        ),
        (
            "[tenants.github]\norg = \"o\"\ntoken = \"t\"\nremove_after_days = 3\n".to_owned(),
            "no removal beyond its deactivation",
        ),
        (
            "[tenants.github]\norg = \"o\"\ntoken = \"t\"\nemu = true\n".to_owned(),
            "needs the enterprise's slug",
        ),
        (
            "[[tenants.manual_apps]]\napp = \"figma\"\nname = \"Figma\"\nowner = \"design team\"\n"
                .to_owned(),
            "owner must be the e-mail address",
        ),
    ];
    for (extra, needle) in cases {
        let text = format!("{base}{extra}");
        let err = match Config::parse(&text) {
            Err(e) => e,
            Ok(config) => config
                .resolve()
                .err()
                .unwrap_or_else(|| panic!("accepted: {extra}")),
        };
        assert!(format!("{err:#}").contains(needle), "{extra}: {err:#}");
    }
    // On Free or Pro, the named owner gets a task instead of any API call.
    let text = format!("{base}[tenants.slack]\nplan = \"pro\"\nowner = \"it@acme.example\"\n");
    let (policies, connections) = Config::parse(&text).unwrap().resolve().unwrap();
    assert!(
        connections[&passage_core::TenantId::new("acme")]
            .slack
            .is_none()
    );
    let steps =
        passage_core::plan::build(&passage_core::RunId::new("r"), &policies[0], None).unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s.key.as_str() == "human.slack.confirm_app_removal")
    );
}

#[test]
fn the_listener_limits_and_the_date_window_have_defaults_and_can_be_set() {
    let defaults = Config::parse("[[tenants]]\nid = \"acme\"").unwrap();
    assert_eq!(defaults.server.header_timeout_seconds, 10);
    assert_eq!(defaults.server.body_timeout_seconds, 30);
    assert_eq!(defaults.server.max_connections, 512);
    let p = &defaults.resolve_all().unwrap().policies[0];
    assert_eq!(p.date_window, passage_hris::DateWindow::default());

    let text = r#"
[server]
header_timeout_seconds = 2
body_timeout_seconds = 3
max_connections = 4
[[tenants]]
id = "acme"
max_days_past = 7
max_days_ahead = 3650
"#;
    let config = Config::parse(text).unwrap();
    assert_eq!(
        (
            config.server.header_timeout_seconds,
            config.server.body_timeout_seconds,
            config.server.max_connections
        ),
        (2, 3, 4)
    );
    let p = &config.resolve_all().unwrap().policies[0];
    assert_eq!(
        p.date_window,
        passage_hris::DateWindow {
            max_days_past: 7,
            max_days_ahead: 3650,
        }
    );
}

#[test]
fn pace_sections_change_the_documented_budgets() {
    use passage_connectors::PacePlan;
    use passage_core::pace::Rate;
    let text = r#"
[[tenants]]
id = "acme"
[tenants.okta]
org_url = "https://acme.okta.com"
api_token = "t"
[tenants.okta.pace]
families = { users = "1000/min", logs = "120/min" }
burst_percent = 10
[tenants.jumpcloud]
api_key = "k"
[tenants.jumpcloud.pace]
all = "120/min"
"#;
    let (_, connections) = Config::parse(text).unwrap().resolve().unwrap();
    let pace = &connections[&passage_core::TenantId::new("acme")].pace;
    let mut okta = PacePlan::documented(passage_core::Provider::Okta);
    okta.set("users", Rate::per_minute(1000)).unwrap();
    okta.set("logs", Rate::per_minute(120)).unwrap();
    okta.burst_percent(10);
    assert_eq!(pace.okta, okta);
    let mut jumpcloud = PacePlan::documented(passage_core::Provider::Jumpcloud);
    jumpcloud.single(Rate::per_minute(120));
    assert_eq!(pace.jumpcloud, jumpcloud);
    assert_eq!(
        pace.google,
        PacePlan::documented(passage_core::Provider::Google),
        "no section: the documented limits"
    );
}

#[test]
fn bad_pace_sections_are_refused_with_the_key_to_fix() {
    let base = "[[tenants]]\nid = \"acme\"\n[tenants.okta]\norg_url = \"https://acme.okta.com\"\napi_token = \"t\"\n[tenants.okta.pace]\n";
    let cases = [
        ("all = \"lots\"", "tenant acme: okta.pace.all"),
        (
            "families = { usres = \"600/min\" }",
            "no endpoint family \"usres\"",
        ),
        (
            "families = { users = \"600\" }",
            "tenant acme: okta.pace.users",
        ),
        (
            "all = \"60/min\"\nfamilies = { users = \"600/min\" }",
            "either `all` or `families`",
        ),
        ("burst_percent = 0", "okta.pace.burst_percent"),
    ];
    for (section, needle) in cases {
        let config = Config::parse(&format!("{base}{section}\n")).unwrap();
        let err = config
            .resolve()
            .err()
            .unwrap_or_else(|| panic!("accepted: {section}"));
        assert!(format!("{err:#}").contains(needle), "{section}: {err:#}");
    }
}

#[test]
fn google_licence_skus_come_from_the_config() {
    let base = "[[tenants]]\nid = \"acme\"\n[tenants.google]\nservice_account_email = \"sa@x\"\nprivate_key = \"k\"\nkey_id = \"1\"\nadmin_subject = \"admin@x\"\n";
    let google = |text: &str| {
        let (_, connections) = Config::parse(text).unwrap().resolve().unwrap();
        connections[&passage_core::TenantId::new("acme")]
            .google
            .clone()
            .unwrap()
    };
    assert!(google(base).license_skus.is_empty());
    let listed = format!(
        "{base}license_skus = [{{ product = \"Google-Apps\", sku = \"1010020020\" }}, {{ product = \"101047\", sku = \"1010470001\" }}]\n"
    );
    assert_eq!(
        google(&listed).license_skus,
        vec![
            ("Google-Apps".to_owned(), "1010020020".to_owned()),
            ("101047".to_owned(), "1010470001".to_owned()),
        ]
    );
    let blank = format!("{base}license_skus = [{{ product = \"\", sku = \"1\" }}]\n");
    let err = format!(
        "{:#}",
        Config::parse(&blank).unwrap().resolve().unwrap_err()
    );
    assert!(err.contains("google.license_skus"), "{err}");
}

#[test]
fn a_microsoft_cloud_sets_its_hosts_and_token_resources() {
    use passage_connectors::microsoft::Cloud;
    let base = "[[tenants]]\nid = \"acme\"\n[tenants.microsoft]\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
    let microsoft = |text: &str| {
        let (_, connections) = Config::parse(text).unwrap().resolve().unwrap();
        connections[&passage_core::TenantId::new("acme")]
            .microsoft
            .clone()
            .unwrap()
    };
    let global = microsoft(base);
    assert_eq!(global.cloud, Cloud::Global);
    assert_eq!(global.graph_url.as_str(), "https://graph.microsoft.com/");
    let cases = [
        (
            "us_gov_high",
            Cloud::UsGovHigh,
            "https://login.microsoftonline.us/",
            "https://graph.microsoft.us/",
        ),
        (
            "us_gov_dod",
            Cloud::UsGovDod,
            "https://login.microsoftonline.us/",
            "https://dod-graph.microsoft.us/",
        ),
        (
            "china",
            Cloud::China,
            "https://login.chinacloudapi.cn/",
            "https://microsoftgraph.chinacloudapi.cn/",
        ),
    ];
    for (name, cloud, login, graph) in cases {
        let s = microsoft(&format!("{base}cloud = \"{name}\"\n"));
        assert_eq!(s.cloud, cloud);
        assert_eq!(s.login_url.as_str(), login);
        assert_eq!(s.graph_url.as_str(), graph);
    }
    // A host set by hand wins; the cloud still names the token resources.
    let proxied = microsoft(&format!(
        "{base}cloud = \"china\"\ngraph_url = \"https://graph.proxy.example\"\n"
    ));
    assert_eq!(proxied.cloud, Cloud::China);
    assert_eq!(proxied.graph_url.as_str(), "https://graph.proxy.example/");
}

#[test]
fn an_operator_may_have_only_a_console_password() {
    let phc = passage_http::hash_password("a long console password").unwrap();
    let text = format!(
        "[[tenants]]\nid = \"acme\"\n[[operators]]\nname = \"ann\"\npassword_hash = \"{phc}\"\ntenants = [\"acme\"]\n"
    );
    let r = Config::parse(&text).unwrap().resolve_all().unwrap();
    assert_eq!(r.operators[0].name, "ann");
    assert!(
        !format!("{:?}", r.operators).contains(&phc),
        "the hash is not printed"
    );
}

/// `[[oidc]]` and an operator's identity there: resolved, the secret kept out of prints, and
/// every mistake refused with the key to fix.
#[test]
fn console_single_sign_on_resolves_and_refuses_what_cannot_work() {
    let provider = |extra: &str| {
        format!(
            "[[tenants]]\nid = \"acme\"\n[[oidc]]\nname = \"acme-okta\"\nissuer = \"https://acme.okta.com\"\nclient_id = \"0oa1\"\nclient_secret = \"s3cret-value-of-the-client\"\n{extra}[[operators]]\nname = \"ann\"\noidc = {{ provider = \"acme-okta\", email = \"ann@acme.example\" }}\ntenants = [\"acme\"]\n"
        )
    };
    let r = Config::parse(&provider("")).unwrap().resolve_all().unwrap();
    assert_eq!(r.oidc[0].issuer, "https://acme.okta.com");
    assert_eq!(r.operators[0].oidc_provider(), Some("acme-okta"));
    assert!(!format!("{:?}", r.oidc).contains("s3cret-value"));

    let refused = |text: String, needle: &str| {
        let e = Config::parse(&text)
            .and_then(|c| c.resolve_all())
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"));
        let e = format!("{e:#}");
        assert!(e.contains(needle), "{needle:?} not in {e}");
    };
    refused(
        provider("").replace("https://acme.okta.com", "http://acme.okta.com"),
        "must be an https:// URL",
    );
    refused(
        provider("redirect_url = \"https://passage.acme.example/console\"\n"),
        "redirect_url must be",
    );
    refused(
        provider("").replace("acme-okta\"\nissuer", "callback\"\nissuer"),
        "not \"callback\"",
    );
    refused(
        provider("").replace("provider = \"acme-okta\"", "provider = \"entra\""),
        "is not an [[oidc]] provider",
    );
    refused(
        provider("").replace(
            "email = \"ann@acme.example\"",
            "email = \"ann@acme.example\", subject = \"00u1\"",
        ),
        "exactly one of subject or email",
    );
    refused(
        provider("").replace(
            "[[oidc]]\nname = \"acme-okta\"",
            "[[oidc]]\nname = \"acme okta\"",
        ),
        "a name is letters",
    );
    // On AWS the providers live in the settings text, never in a tenant's.
    let settings = "[[oidc]]\nname = \"acme-okta\"\nissuer = \"https://acme.okta.com\"\nclient_id = \"0oa1\"\nclient_secret = \"x\"\n[[operators]]\nname = \"ann\"\noidc = { provider = \"acme-okta\", subject = \"00u1\" }\ntenants = [\"acme\"]\n";
    assert!(crate::resolve_settings(settings).is_ok());
}
