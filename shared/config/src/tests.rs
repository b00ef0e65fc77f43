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
    assert!(t.human.as_ref().unwrap().device_return.is_some());
    assert_eq!(config.operators.len(), 2);
    assert!(config.notify.is_some());
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
    let wiring = Config::parse(text).unwrap().wiring().unwrap();
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
    let Err(err) = config.wiring() else {
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
