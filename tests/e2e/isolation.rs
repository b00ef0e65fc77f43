//! Many tenants in one deployment: a tenant's webhook secret cannot start a run for another,
//! an operator token sees and touches only its tenants, and bundles and hash chains are kept
//! per tenant.

use passage::harness::{Cutoff, SandboxOptions, leaver_event, random_secret, tenant, wait_for};
use passage_config::Integrations;
use passage_core::engine::EngineSettings;
use passage_core::ports::{RunFilter, RunStore};
use passage_core::secret::Secret;
use passage_core::{HrWebhook, RunId, RunState, TenantId};
use passage_hris::WebhookSecret;
use passage_http::{Operator, Operators};
use passage_sandbox::okta::DEMO_LEAVER;
use passage_sandbox::{OktaConfig, OktaEmulator};
use passage_server::System;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const ACME_OPS: &str = "acme-operator-token-000000000000000";
const GLOBEX_OPS: &str = "globex-operator-token-00000000000000";
const MSP: &str = "msp-operator-token-0000000000000000000";
const ACME_BOB: &str = "acme-hibob-webhook-secret";
const GLOBEX_BOB: &str = "globex-hibob-webhook-secret";

struct Tenant {
    id: &'static str,
    secret: WebhookSecret,
    okta: OktaEmulator,
}

struct World {
    tenants: Vec<Tenant>,
    system: System,
    base: String,
    running: Option<passage_server::host::Running>,
    http: reqwest::Client,
    dir: std::path::PathBuf,
}

async fn world() -> World {
    let dir = std::env::temp_dir().join(format!("passage-iso-{}", uuid::Uuid::new_v4().simple()));
    let mut policies = Vec::new();
    let mut connections = HashMap::new();
    let mut tenants = Vec::new();
    for (id, bob) in [("acme", ACME_BOB), ("globex", GLOBEX_BOB)] {
        let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
        passage_sandbox::demo_seed(&okta);
        let secret = random_secret();
        let (mut policy, settings) = tenant(&okta, &secret, &SandboxOptions::new(&dir));
        policy.id = TenantId::new(id);
        policy.name = id.into();
        policy.hr_webhooks = vec![HrWebhook {
            vendor: "hibob".into(),
            secrets: vec![Secret::new(bob)],
            unsigned: false,
        }];
        connections.insert(policy.id.clone(), settings);
        policies.push(policy);
        tenants.push(Tenant { id, secret, okta });
    }
    let system = System::open(
        &dir,
        Integrations::providers_only(policies, connections),
        EngineSettings::default(),
    )
    .unwrap();
    let mut host = passage::harness::host(&system, 4);
    host.settings.operators = Operators::new(vec![
        Operator::new(
            "acme-it",
            Some(&Secret::new(ACME_OPS)),
            None,
            vec!["acme".into()],
        ),
        Operator::new(
            "globex-it",
            Some(&Secret::new(GLOBEX_OPS)),
            None,
            vec!["globex".into()],
        ),
        Operator::new("msp", Some(&Secret::new(MSP)), None, vec!["*".into()]),
    ]);
    let running = host.start().await.unwrap();
    World {
        tenants,
        system,
        base: format!("http://{}", running.addr),
        running: Some(running),
        http: reqwest::Client::new(),
        dir,
    }
}

impl World {
    fn tenant(&self, id: &str) -> &Tenant {
        self.tenants.iter().find(|t| t.id == id).unwrap()
    }

    /// Posts a Standard Webhooks delivery to `path_tenant`, signed with `signer`'s secret.
    async fn post(
        &self,
        path_tenant: &str,
        signer: &str,
        id: &str,
        body: &[u8],
    ) -> reqwest::Response {
        let ts = jiff::Timestamp::now().as_second();
        let mut req = self
            .http
            .post(format!(
                "{}/v1/tenants/{path_tenant}/webhooks/leaver",
                self.base
            ))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in passage_hris::signed_headers(&self.tenant(signer).secret, id, ts, body) {
            req = req.header(k, v);
        }
        req.send().await.unwrap()
    }

    async fn runs(&self, tenant: &str) -> Vec<passage_core::Run> {
        self.system
            .store
            .list_runs(&RunFilter {
                tenant: Some(TenantId::new(tenant)),
                ..RunFilter::default()
            })
            .await
            .unwrap()
    }

    async fn op(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        for t in self.tenants {
            t.okta.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A leaver event for `tenant` (the harness writes the sandbox tenant; this one is rewritten).
fn event_for(tenant: &str, employee: &str, cutoff: Cutoff) -> Vec<u8> {
    let mut v: Value =
        serde_json::from_slice(&leaver_event(DEMO_LEAVER, employee, cutoff)).unwrap();
    v["tenant"] = json!(tenant);
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_tenants_webhook_secret_cannot_start_a_run_for_another() {
    let w = world().await;
    let far = jiff::Zoned::now().date() + jiff::Span::new().days(30);

    // Acme's secret, Globex's URL, Globex's body: the signature does not verify.
    let r = w
        .post(
            "globex",
            "acme",
            "msg_x1",
            &event_for("globex", "G1", Cutoff::LastDay(far)),
        )
        .await;
    assert_eq!(r.status().as_u16(), 401, "{}", r.text().await.unwrap());
    // Acme's secret, Acme's URL, a body naming Globex: refused as a tenant mismatch.
    let r = w
        .post(
            "acme",
            "acme",
            "msg_x2",
            &event_for("globex", "G1", Cutoff::LastDay(far)),
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "tenant_mismatch");
    // Globex's secret on Acme's URL for an Acme body: not Acme's secret.
    let r = w
        .post(
            "acme",
            "globex",
            "msg_x3",
            &event_for("acme", "A1", Cutoff::LastDay(far)),
        )
        .await;
    assert_eq!(r.status().as_u16(), 401);

    // HR vendor webhooks: Acme's HiBob secret signs a delivery sent to Globex.
    let body = br#"{"companyId":"1","type":"employee.left","triggeredAt":"2026-11-25T10:00:00","triggeredBy":"hr","data":{"employeeId":"A1"}}"#;
    let r = w
        .http
        .post(format!("{}/v1/tenants/globex/webhooks/hibob", w.base))
        .header("content-type", "application/json")
        .header(
            "Bob-Signature",
            passage_sandbox::hr::hibob::sign(ACME_BOB, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "{}", r.text().await.unwrap());

    // Nothing was stored for either tenant, and neither Okta org was touched.
    assert!(w.runs("acme").await.is_empty());
    assert!(w.runs("globex").await.is_empty());
    for t in &w.tenants {
        assert_eq!(
            format!("{:?}", t.okta.user(DEMO_LEAVER).unwrap().status),
            "Active"
        );
    }

    // The right secret on the right tenant works.
    let r = w
        .post(
            "globex",
            "globex",
            "msg_ok",
            &event_for("globex", "G1", Cutoff::LastDay(far)),
        )
        .await;
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(w.runs("globex").await.len(), 1);
    assert!(w.runs("acme").await.is_empty());
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_token_sees_and_touches_only_its_tenants() {
    let w = world().await;
    let far = jiff::Zoned::now().date() + jiff::Span::new().days(30);
    let mut ids = HashMap::new();
    for t in ["acme", "globex"] {
        let r = w
            .post(
                t,
                t,
                &format!("msg_{t}"),
                &event_for(t, "E1", Cutoff::LastDay(far)),
            )
            .await;
        assert_eq!(r.status().as_u16(), 202);
        let v: Value = r.json().await.unwrap();
        ids.insert(t, v["run_id"].as_str().unwrap().to_owned());
    }
    use reqwest::Method;
    let (s, v) = w
        .op(
            ACME_OPS,
            Method::GET,
            "/v1/operator/tenants/acme/runs",
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert_eq!(v["runs"][0]["run_id"], ids["acme"].as_str());

    // Globex is invisible to Acme's operator: the same answer as a tenant that does not exist.
    let (s, v) = w
        .op(
            ACME_OPS,
            Method::GET,
            "/v1/operator/tenants/globex/runs",
            None,
        )
        .await;
    assert_eq!(s, 404, "{v}");
    let (s_none, v_none) = w
        .op(
            ACME_OPS,
            Method::GET,
            "/v1/operator/tenants/initech/runs",
            None,
        )
        .await;
    assert_eq!(s_none, 404);
    assert_eq!(
        v["error"]["code"], v_none["error"]["code"],
        "a hidden tenant looks like a missing one"
    );
    // A Globex run id through Acme's path is not found, and cannot be cancelled.
    let globex_run = &ids["globex"];
    let (s, _) = w
        .op(
            ACME_OPS,
            Method::GET,
            &format!("/v1/operator/tenants/acme/runs/{globex_run}"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = w
        .op(
            ACME_OPS,
            Method::POST,
            &format!("/v1/operator/tenants/acme/runs/{globex_run}/cancel"),
            Some(json!({"reason": "not yours"})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = w
        .op(
            ACME_OPS,
            Method::POST,
            "/v1/operator/tenants/globex/runs",
            Some(json!({"employee_id": "G9", "email": "g9@example.com", "immediate": true})),
        )
        .await;
    assert_eq!(s, 404, "no manual run in another tenant");
    let run = w
        .system
        .store
        .run(&RunId::new(globex_run.as_str()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.state, RunState::Scheduled);
    assert_eq!(w.runs("globex").await.len(), 1);

    // A wrong token is refused outright; the MSP's token sees both tenants.
    let (s, _) = w
        .op(
            "not-a-token",
            Method::GET,
            "/v1/operator/tenants/acme/runs",
            None,
        )
        .await;
    assert_eq!(s, 401);
    for t in ["acme", "globex"] {
        let (s, v) = w
            .op(
                MSP,
                Method::GET,
                &format!("/v1/operator/tenants/{t}/runs"),
                None,
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(v["runs"][0]["run_id"], ids[t].as_str());
    }
    let (s, v) = w
        .op(GLOBEX_OPS, Method::GET, "/v1/operator/whoami", None)
        .await;
    assert_eq!((s, v["tenants"].clone()), (200, json!(["globex"])));

    // Globex's own operator cancels its run; the action names the operator.
    let (s, _) = w
        .op(
            GLOBEX_OPS,
            Method::POST,
            &format!("/v1/operator/tenants/globex/runs/{globex_run}/cancel"),
            Some(json!({"reason": "termination withdrawn"})),
        )
        .await;
    assert_eq!(s, 200);
    let events = w
        .system
        .store
        .events(&RunId::new(globex_run.as_str()))
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "run.cancelled" && e.actor == "operator:globex-it")
    );
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bundles_and_hash_chains_are_kept_per_tenant() {
    let w = world().await;
    let mut closed = Vec::new();
    // Two Acme leavers and one Globex leaver, cut now.
    for (t, n) in [("acme", 1), ("globex", 1), ("acme", 2)] {
        if n == 2 {
            w.tenant("acme")
                .okta
                .seed_user(passage_sandbox::okta::SeedUser::new(
                    "second@example.com",
                    "Sec",
                    "Ond",
                ));
        }
        let mut v: Value =
            serde_json::from_slice(&event_for(t, &format!("E{n}"), Cutoff::Immediate)).unwrap();
        if n == 2 {
            v["email"] = json!("second@example.com");
        }
        let body = serde_json::to_vec(&v).unwrap();
        let r = w.post(t, t, &format!("msg_{t}_{n}"), &body).await;
        assert_eq!(r.status().as_u16(), 202);
        let v: Value = r.json().await.unwrap();
        let id = RunId::new(v["run_id"].as_str().unwrap());
        let run = wait_for(&w.system, &id, Duration::from_secs(60), |r| {
            r.state == RunState::Closed
        })
        .await
        .unwrap();
        closed.push((t, run));
    }
    // Each tenant's chain counts its own bundles only.
    assert_eq!(
        w.system
            .store
            .chain_head(&TenantId::new("acme"))
            .await
            .unwrap()
            .sequence,
        2
    );
    assert_eq!(
        w.system
            .store
            .chain_head(&TenantId::new("globex"))
            .await
            .unwrap()
            .sequence,
        1
    );
    let seqs: Vec<(&str, u64)> = closed
        .iter()
        .map(|(t, r)| (*t, r.bundle.as_ref().unwrap().sequence))
        .collect();
    assert_eq!(seqs, vec![("acme", 1), ("globex", 1), ("acme", 2)]);

    // Bundles live under their tenant and verify as a chain only with their own tenant's.
    let dir = |t: &str, r: &passage_core::Run| {
        w.system
            .evidence
            .bundle_dir(&TenantId::new(t), &r.id)
            .unwrap()
    };
    let acme: Vec<_> = closed
        .iter()
        .filter(|(t, _)| *t == "acme")
        .map(|(t, r)| dir(t, r))
        .collect();
    let globex = dir("globex", &closed[1].1);
    for d in acme.iter().chain([&globex]) {
        assert!(
            d.components()
                .any(|c| c.as_os_str() == "acme" || c.as_os_str() == "globex")
        );
    }
    let verify = |dirs: &[&std::path::PathBuf]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_passage"))
            .arg("verify")
            .args(dirs)
            .output()
            .unwrap()
    };
    let ok = verify(&[&acme[0], &acme[1]]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let ok = verify(&[&globex]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let manifest = |d: &std::path::PathBuf| -> (Value, String) {
        let bytes = std::fs::read(d.join("manifest.json")).unwrap();
        (
            serde_json::from_slice(&bytes).unwrap(),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
        )
    };
    let (g, _) = manifest(&globex);
    let (a1, a1_hash) = manifest(&acme[0]);
    let (a2, _) = manifest(&acme[1]);
    assert_eq!(g["tenant"], "globex");
    assert_eq!(a1["tenant"], "acme");
    // Globex's first bundle starts its own chain; Acme's second follows Acme's first, not
    // the Globex bundle closed between them.
    assert_eq!(g["prev_manifest_sha256"], "0".repeat(64));
    assert_eq!(a2["prev_manifest_sha256"], a1_hash.as_str());
    w.shutdown().await;
}
