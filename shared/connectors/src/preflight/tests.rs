use super::*;
use passage_core::{MicrosoftPolicy, TenantPolicy};

fn plan() -> Vec<Step> {
    let mut policy = TenantPolicy::new("acme");
    policy.okta = None;
    policy.microsoft = Some(MicrosoftPolicy::default());
    passage_core::plan::build(&RunId::new("r"), &policy, Some("boss@acme.com")).unwrap()
}

fn finding<'a>(report: &'a ProviderReport, check: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.check.ends_with(check))
        .unwrap_or_else(|| panic!("no finding {check} in {:#?}", report.findings))
}

#[test]
fn a_missing_grant_names_the_steps_it_blocks_and_whether_they_are_critical() {
    let mut evidence = Evidence::new(Ok("token".into()), Vec::new());
    evidence.grant(
        "GroupMember.ReadWrite.All",
        Verdict::Missing("not in the token".into()),
    );
    evidence.grant("User.Read.All", Verdict::Held("in the token".into()));
    let report = assemble(Provider::Microsoft, &plan(), evidence);
    let missing = finding(&report, "GroupMember.ReadWrite.All");
    assert_eq!(missing.status, Status::Missing);
    assert_eq!(
        missing.steps,
        [Blocked {
            step: "microsoft.remove_groups".into(),
            critical: true
        }]
    );
    assert!(
        missing.detail.contains("API permissions"),
        "{}",
        missing.detail
    );
    assert!(missing.blocks_critical());
    assert_eq!(finding(&report, "User.Read.All").status, Status::Ok);
    // A grant the provider said nothing about is unproven, in the words an operator reads.
    let silent = finding(&report, "MailboxSettings.ReadWrite");
    assert_eq!(silent.status, Status::Unproven);
    assert!(
        silent.detail.starts_with(
            "UNPROVEN MailboxSettings.ReadWrite: only a change would prove it; Passage did not try. Confirm at Entra admin center"
        ),
        "{}",
        silent.detail
    );
    assert!(silent.detail.ends_with("or run a canary leaver."));
    assert!(!silent.blocks_critical());
}

#[test]
fn a_grant_only_administrator_leavers_need_is_a_warning_when_missing() {
    let mut evidence = Evidence::new(Ok("token".into()), Vec::new());
    evidence.grant(
        "Privileged Authentication Administrator",
        Verdict::Missing("no role".into()),
    );
    let report = assemble(Provider::Microsoft, &plan(), evidence);
    let f = finding(&report, "Privileged Authentication Administrator");
    assert_eq!(f.status, Status::Warning);
    assert!(f.detail.contains("administrator would be refused"));
    assert!(!f.blocks_critical());
}

#[test]
fn a_refused_credential_blocks_every_step_of_the_provider() {
    let evidence = Evidence::new(Err("invalid_client".into()), Vec::new());
    let plan = plan();
    let report = assemble(Provider::Microsoft, &plan, evidence);
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!((f.status, f.check.as_str()), (Status::Failed, "credential"));
    let ms_steps = plan
        .iter()
        .filter(|s| s.provider == Provider::Microsoft)
        .count();
    assert_eq!(f.steps.len(), ms_steps);
}

#[test]
fn a_failed_read_blocks_the_steps_of_the_grants_it_blames() {
    let mut evidence = Evidence::new(Ok("token".into()), Vec::new());
    evidence
        .reads
        .push(Probe::new("a group membership, whole", &["GroupMember.Read.All"]).failed("limited"));
    evidence
        .reads
        .push(Probe::new("one user", &["User.Read.All"]).ok("answered"));
    let report = assemble(Provider::Microsoft, &plan(), evidence);
    let f = finding(&report, "a group membership, whole");
    assert_eq!(f.status, Status::Failed);
    let steps: Vec<&str> = f.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["microsoft.snapshot", "microsoft.remove_groups"]);
    assert!(finding(&report, "one user").steps.is_empty());
    let tenant = TenantReport {
        tenant: "acme".into(),
        plan: String::new(),
        providers: vec![report],
    };
    assert!(tenant.blocks_critical());
    assert_eq!(
        tenant.blocked_critical_steps(),
        ["microsoft.remove_groups", "microsoft.snapshot"]
    );
}

#[test]
fn token_claims_are_read_without_a_signature_check() {
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"roles":["User.Read.All"],"wids":["x"]}"#);
    let claims = token_claims(&format!("h.{payload}.s")).unwrap();
    assert_eq!(strings(&claims, "roles"), ["User.Read.All"]);
    assert_eq!(strings(&claims, "scp"), Vec::<String>::new());
    assert!(token_claims("opaque").is_none());
}
