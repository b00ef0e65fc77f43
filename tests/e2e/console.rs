//! The operator console in a real browser: headless Chromium, driven through chromedriver,
//! signs in, finds a blocked run on the home page, waives a non-critical step, confirms a
//! device, approves held runs and issues an auditor link; an operator scoped to one client
//! sees and touches nothing of another. Effects are read back from the engine's store and
//! audit log; every page is screenshotted (target/console-shots/) and checked by axe-core.
//!
//! Skipped, loudly, where chromedriver or axe-core is missing (`scripts/test` installs both).

use fantoccini::{Client, ClientBuilder, Locator};
use passage::harness::{
    Cutoff, Others, SandboxOptions, random_secret, tenant, tenant_leaver_event,
};
use passage_config::Integrations;
use passage_core::engine::EngineSettings;
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{GuardPolicy, HumanStepPolicy, RunId, RunState, StepState, TenantId};
use passage_hris::WebhookSecret;
use passage_http::{OidcIdentity, OidcProvider, Operator, Operators};
use passage_sandbox::okta::{DEMO_LEAVER, SeedUser};
use passage_sandbox::{OktaConfig, OktaEmulator};
use passage_server::System;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MSP_TOKEN: &str = "msp-console-token-000000000000000000";
const ANN_PASSWORD: &str = "ann's long console password";
const GHOST: &str = "ghost@example.com";
const GLOBEX_LEAVER: &str = "gina@globex.example";
const BURST: [&str; 2] = ["burst0@example.com", "burst1@example.com"];
/// Olga signs in through acme's own Okta (OpenID Connect); Nora has an Okta account there but
/// is no operator.
const OLGA: &str = "olga@example.com";
const NORA: &str = "nora@example.com";
const IDP_PASSWORD: &str = "olga's okta password";
const IDP: &str = "acme-okta";
const IDP_CLIENT: &str = "passage-console";
const IDP_SECRET: &str = "passage-console-client-secret";

/// Two clients of an MSP: acme (every provider, devices, a go-live guard of two) and globex.
struct World {
    system: System,
    base: String,
    running: Option<passage_server::host::Running>,
    secrets: HashMap<&'static str, WebhookSecret>,
    _okta: Vec<OktaEmulator>,
    _others: Others,
    http: reqwest::Client,
    dir: PathBuf,
}

async fn world() -> World {
    let dir =
        std::env::temp_dir().join(format!("passage-console-{}", uuid::Uuid::new_v4().simple()));
    let options = SandboxOptions::new(&dir);
    let (mut policies, mut connections, mut secrets, mut oktas) =
        (Vec::new(), HashMap::new(), HashMap::new(), Vec::new());
    let mut others = None;
    for id in ["acme", "globex"] {
        let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
        passage_sandbox::demo_seed(&okta);
        let secret = random_secret();
        let (mut policy, mut settings) = tenant(&okta, &secret, &options);
        policy.id = TenantId::new(id);
        policy.name = format!("{id} Ltd");
        if id == "acme" {
            for email in BURST {
                okta.seed_user(SeedUser::new(email, "Burst", email));
            }
            for login in [OLGA, NORA] {
                okta.seed_user(SeedUser::new(login, "Operator", login));
                okta.set_password(login, IDP_PASSWORD);
            }
            others = Some(Others::start(&mut policy, &mut settings).await.unwrap());
            policy.okta.as_mut().unwrap().grants_critical = false;
            policy.human.device_return = Some(HumanStepPolicy::device_return());
            policy.guard = Some(GuardPolicy {
                max_terminations: 2,
                window: Duration::from_secs(3600),
            });
        } else {
            okta.seed_user(SeedUser::new(GLOBEX_LEAVER, "Gina", "Globex"));
        }
        connections.insert(policy.id.clone(), settings);
        policies.push(policy);
        secrets.insert(id, secret);
        oktas.push(okta);
    }
    let system = System::open(
        &dir,
        Integrations::providers_only(policies, connections),
        EngineSettings::default(),
    )
    .unwrap();
    for id in ["acme", "globex"] {
        system
            .engine
            .prepare_signing_key(&TenantId::new(id))
            .await
            .unwrap();
    }
    let mut host = passage::harness::host(&system, 4);
    let phc = passage_http::hash_password(ANN_PASSWORD).unwrap();
    host.settings.operators = Operators::new(vec![
        Operator::new("ann", None, None, vec!["acme".into()]).with_password_hash(phc),
        Operator::new("msp", Some(&Secret::new(MSP_TOKEN)), None, vec!["*".into()]),
        Operator::new("olga", None, None, vec!["acme".into()])
            .with_oidc(IDP, OidcIdentity::Email(OLGA.into())),
    ])
    .with_oidc(vec![OidcProvider::new(
        IDP,
        oktas[0].base_url(),
        IDP_CLIENT,
        Secret::new(IDP_SECRET),
        None,
    )]);
    let running = host.start().await.unwrap();
    oktas[0].register_web_app(
        IDP_CLIENT,
        IDP_SECRET,
        &[format!(
            "http://{}/console/sign-in/oidc/callback",
            running.addr
        )],
    );
    World {
        system,
        base: format!("http://{}", running.addr),
        running: Some(running),
        secrets,
        _okta: oktas,
        _others: others.unwrap(),
        http: reqwest::Client::new(),
        dir,
    }
}

impl World {
    async fn start_run(&self, tenant: &str, email: &str, n: usize) -> RunId {
        let body = tenant_leaver_event(tenant, email, &format!("E{n}"), Cutoff::Immediate);
        let ts = jiff::Timestamp::now().as_second();
        let mut req = self
            .http
            .post(format!("{}/v1/tenants/{tenant}/webhooks/leaver", self.base))
            .header("content-type", "application/json")
            .body(body.clone());
        for (k, v) in
            passage_hris::signed_headers(&self.secrets[tenant], &format!("msg_{n}"), ts, &body)
        {
            req = req.header(k, v);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        RunId::new(v["run_id"].as_str().unwrap())
    }

    /// Waits until `done` holds of the run.
    async fn until(
        &self,
        id: &RunId,
        what: &str,
        done: impl Fn(&passage_core::Run, &[passage_core::Step]) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let run = self.system.store.run(id).await.unwrap().unwrap();
            let steps = self.system.store.steps(id).await.unwrap();
            if done(&run, &steps) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "run {id} never became {what}: {} {:?}",
                run.state.as_str(),
                run.blocked_reason
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The runs every journey starts from.
impl World {
    /// The tenant's audit log as the store holds it.
    async fn audit(&self, tenant: &str) -> Vec<passage_core::ports::AuditEvent> {
        self.system
            .engine
            .ports()
            .audit
            .audit_events(&TenantId::new(tenant), None)
            .await
            .unwrap()
    }
}

struct Runs {
    devices: RunId,
    ghost: RunId,
    held: Vec<RunId>,
    globex: RunId,
}

async fn runs(w: &World) -> Runs {
    let devices = w.start_run("acme", DEMO_LEAVER, 1).await;
    let ghost = w.start_run("acme", GHOST, 2).await;
    let mut held = Vec::new();
    for (i, email) in BURST.iter().enumerate() {
        held.push(w.start_run("acme", email, 3 + i).await);
    }
    let globex = w.start_run("globex", GLOBEX_LEAVER, 9).await;
    w.until(&ghost, "blocked", |r, _| r.state == RunState::Blocked)
        .await;
    w.until(&devices, "awaiting devices", |_, steps| {
        steps
            .iter()
            .any(|s| s.key.as_str() == "human.return_devices" && s.state == StepState::Awaiting)
    })
    .await;
    w.until(&globex, "closed", |r, _| r.state == RunState::Closed)
        .await;
    for id in &held {
        w.until(id, "held", |r, _| r.is_held()).await;
    }
    Runs {
        devices,
        ghost,
        held,
        globex,
    }
}

/// chromedriver on a free port, ended with the test.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<String> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .map(str::to_owned)
}

fn axe_source() -> Option<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(path).ok()
}

async fn browser(profile: &Path) -> (Driver, Client) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    let caps = json!({"goog:chromeOptions": {
        "binary": chromium().unwrap(),
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,1000",
            format!("--user-data-dir={}", profile.display())],
    }});
    let caps: serde_json::Map<String, Value> = caps.as_object().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut b = ClientBuilder::rustls().unwrap();
        match b
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver did not start a session: {e}"),
        }
    }
}

/// The browser, the page checks and where screenshots go.
struct Console {
    c: Client,
    base: String,
    axe: String,
    shots: PathBuf,
}

impl Console {
    async fn open(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn main_text(&self) -> String {
        self.c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Screenshots the page, checks it rendered and says `expected`, and runs axe-core on it.
    async fn check_page(&self, name: &str, expected: &[&str]) {
        let text = self.main_text().await;
        for e in expected {
            assert!(text.contains(e), "page {name} should say {e:?}:\n{text}");
        }
        let png = self.c.screenshot().await.unwrap();
        check_png(&png, name);
        std::fs::write(self.shots.join(format!("{name}.png")), &png).unwrap();
        self.accessible(name).await;
    }

    /// Fails on any axe-core violation of impact serious or critical.
    async fn accessible(&self, name: &str) {
        self.c
            .execute(&format!("{};return true;", self.axe), vec![])
            .await
            .unwrap();
        let found = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => n.html).slice(0, 3)}))))
                   .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));",
                vec![],
            )
            .await
            .unwrap();
        let serious: Vec<&Value> = found
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            serious.is_empty(),
            "accessibility violations on {name}: {serious:#?}"
        );
    }

    /// Submits the form matched by `css`, after filling `fields` by name, and waits for the page
    /// it answers with (the old page's `main` gone, the new one there).
    async fn submit(&self, css: &str, fields: &[(&str, &str)]) {
        let old = self.c.find(Locator::Css("main")).await.unwrap();
        let form = self
            .c
            .form(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no form {css}: {e}"));
        for (name, value) in fields {
            form.set_by_name(name, value).await.unwrap();
        }
        form.submit().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while old.text().await.is_ok() {
            assert!(Instant::now() < deadline, "submitting {css} never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.c
            .wait()
            .for_element(Locator::Css("main"))
            .await
            .unwrap();
    }

    async fn sign_in_password(&self, name: &str, password: &str) {
        self.open("/console").await;
        self.submit(
            "form:has(input[name='password'])",
            &[("name", name), ("password", password)],
        )
        .await;
    }

    async fn sign_out(&self) {
        self.submit("form.signout", &[]).await;
    }

    /// The session cookie and CSRF token of the signed-in browser, to forge requests with.
    async fn credentials(&self) -> (String, String) {
        let cookie = self.c.get_named_cookie("passage_console").await.unwrap();
        let csrf = self
            .c
            .find(Locator::Css("input[name='csrf']"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        (format!("passage_console={}", cookie.value()), csrf)
    }
}

/// A PNG that decodes, has a size, and is not one flat colour.
fn check_png(bytes: &[u8], name: &str) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{name}: not a PNG: {e}"));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(
        info.width >= 800 && info.height >= 600,
        "{name}: {}x{}",
        info.width,
        info.height
    );
    let pixels = &buf[..info.buffer_size()];
    let distinct: std::collections::HashSet<&[u8]> = pixels
        .chunks(info.color_type.samples())
        .take(200_000)
        .collect();
    assert!(
        distinct.len() > 8,
        "{name}: the screenshot is blank ({} colours)",
        distinct.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_in_a_real_browser() {
    if !Path::new("/usr/bin/chromedriver").exists() || chromium().is_none() {
        eprintln!(
            "!!!!! chromium or chromedriver is not installed: the console browser tests are SKIPPED !!!!!"
        );
        return;
    }
    let Some(axe) = axe_source() else {
        eprintln!(
            "!!!!! axe-core is not installed (.cache/axe): the console browser tests are SKIPPED !!!!!"
        );
        return;
    };
    let started = Instant::now();
    let w = world().await;
    every_answer_carries_the_security_headers(&w).await;
    let r = runs(&w).await;
    eprintln!("console: world and runs ready in {:?}", started.elapsed());
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = w.dir.join("chromium-profile");
    let (_driver, c) = browser(&profile).await;
    let console = Console {
        c,
        base: w.base.clone(),
        axe,
        shots,
    };

    signed_in_as_a_scoped_operator(&console, &w, &r).await;
    scoped_operator_reaches_nothing_of_another_client(&console, &w, &r).await;
    console.sign_out().await;
    all_tenants_operator_sees_both_and_issues_a_link(&console, &w, &r).await;
    console.sign_out().await;
    signed_in_through_the_tenants_own_identity_provider(&console, &w).await;
    eprintln!("console: every journey done in {:?}", started.elapsed());

    console.c.close().await.unwrap();
    let mut w = w;
    w.running.take().unwrap().shutdown().await;
    let _ = std::fs::remove_dir_all(&w.dir);
}

/// Ann (acme only) signs in with her password, sees the blocked run, waives a non-critical
/// step, confirms a device and approves the held runs.
async fn signed_in_as_a_scoped_operator(console: &Console, w: &World, r: &Runs) {
    console.sign_in_password("ann", "a wrong password").await;
    console
        .check_page("sign-in-refused", &["Not done", "do not match"])
        .await;
    console.sign_in_password("ann", ANN_PASSWORD).await;
    console
        .check_page(
            "home",
            &[
                "Needs attention",
                GHOST,
                "Blocked",
                BURST[0],
                "Held by the go-live guard",
                "Awaiting confirmation",
            ],
        )
        .await;
    assert!(!console.main_text().await.contains(GLOBEX_LEAVER));

    waive_a_step(console, w, r).await;
    confirm_a_device(console, w, r).await;

    console.open("/console/runs?tenant=acme").await;
    console
        .check_page("runs", &["Runs", GHOST, DEMO_LEAVER])
        .await;
    console.open("/console/tenants").await;
    console
        .check_page(
            "tenants",
            &["acme", "Held by the go-live guard", "Go-live guard"],
        )
        .await;
    approve_held(console, w, r).await;
}

async fn waive_a_step(console: &Console, w: &World, r: &Runs) {
    let steps = w.system.store.steps(&r.ghost).await.unwrap();
    let step = steps
        .iter()
        .find(|s| !s.critical && !s.state.satisfies_dependents() && s.state != StepState::Failed)
        .or_else(|| {
            steps
                .iter()
                .find(|s| !s.critical && s.state == StepState::Failed)
        })
        .expect("the blocked run has a non-critical step to waive")
        .key
        .clone();
    console
        .open(&format!("/console/tenants/acme/runs/{}", r.ghost))
        .await;
    console
        .check_page(
            "run-blocked",
            &[
                "Blocked because",
                "What resolves it",
                "Timeline",
                "Access, graded",
            ],
        )
        .await;
    let form = format!("form[action$='/waive']:has(input[name='step'][value='{step}'])");
    console
        .submit(
            &form,
            &[("reason", "the leaver had no grants worth revoking")],
        )
        .await;
    assert!(
        console
            .main_text()
            .await
            .contains(&format!("Done: step {step} is waived by ann"))
    );
    let waived = w
        .system
        .store
        .steps(&r.ghost)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == step)
        .unwrap();
    assert_eq!(waived.state, StepState::Waived);
    let waiver = waived.waiver.unwrap();
    assert_eq!(
        (waiver.actor.as_str(), waiver.reason.as_str()),
        ("ann", "the leaver had no grants worth revoking")
    );
}

async fn confirm_a_device(console: &Console, w: &World, r: &Runs) {
    console
        .open(&format!("/console/tenants/acme/runs/{}", r.devices))
        .await;
    console
        .check_page(
            "run-devices",
            &["Devices and confirmations", "human.return_devices"],
        )
        .await;
    let item = console
        .c
        .find(Locator::Css("form[action$='/confirm'] input[name='item']"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let form = format!("form[action$='/confirm']:has(input[name='item'][value='{item}'])");
    console
        .submit(
            &form,
            &[("condition", "good"), ("note", "handed in at reception")],
        )
        .await;
    assert!(
        console
            .main_text()
            .await
            .contains(&format!("Done: {item} is confirmed as received"))
    );
    let steps = w.system.store.steps(&r.devices).await.unwrap();
    let human = steps
        .iter()
        .find(|s| s.key.as_str() == "human.return_devices")
        .unwrap();
    let confirmed = human
        .human
        .as_ref()
        .unwrap()
        .items
        .iter()
        .find(|i| i.id == item)
        .unwrap();
    let confirmation = confirmed
        .confirmation
        .as_ref()
        .expect("the device is confirmed");
    assert_eq!(confirmation.actor, "operator:ann");
    assert_eq!(confirmation.condition.as_deref(), Some("good"));
}

async fn approve_held(console: &Console, w: &World, r: &Runs) {
    console.open("/console").await;
    let first = format!(
        "form[action='/console/tenants/acme/approve']:has(input[name='run_id'][value='{}'])",
        r.held[0]
    );
    console.submit(&first, &[]).await;
    assert!(
        console
            .main_text()
            .await
            .contains("Done: 1 held runs of acme approved")
    );
    console.open("/console/tenants").await;
    console
        .submit(
            "form[action='/console/tenants/acme/approve']:has(input[name='all'])",
            &[],
        )
        .await;
    assert!(
        console
            .main_text()
            .await
            .contains("Done: 1 held runs of acme approved")
    );
    for id in &r.held {
        let events = w.system.store.events(id).await.unwrap();
        let approved = events
            .iter()
            .find(|e| e.kind == "run.approved")
            .expect("approved");
        assert_eq!(approved.actor, "operator:ann");
        assert!(!w.system.store.run(id).await.unwrap().unwrap().is_held());
    }
}

/// Ann sees nothing of globex: not on the home page, not in the runs list, not by its run's
/// URL, and a forged POST with her own valid session and token is refused as not found.
async fn scoped_operator_reaches_nothing_of_another_client(console: &Console, w: &World, r: &Runs) {
    for path in [
        "/console",
        "/console/runs",
        "/console/tenants",
        "/console/evidence",
    ] {
        console.open(path).await;
        let text = console.main_text().await;
        assert!(
            !text.contains(GLOBEX_LEAVER) && !text.contains("globex"),
            "{path} shows globex:\n{text}"
        );
    }
    console.open("/console/runs?tenant=globex").await;
    assert!(!console.main_text().await.contains(GLOBEX_LEAVER));
    console
        .open(&format!("/console/tenants/globex/runs/{}", r.globex))
        .await;
    console
        .check_page("not-found", &["Not found", "nothing here you can see"])
        .await;
    console
        .open(&format!("/console/tenants/acme/runs/{}", r.globex))
        .await;
    assert!(console.main_text().await.contains("Not found"));

    console.open("/console").await;
    let (cookie, csrf) = console.credentials().await;
    let forged = [
        (
            format!("/console/tenants/globex/runs/{}/actions/link", r.globex),
            "hours=24",
        ),
        (
            format!("/console/tenants/acme/runs/{}/actions/link", r.globex),
            "hours=24",
        ),
        (
            format!("/console/tenants/globex/runs/{}/actions/cancel", r.globex),
            "reason=forged",
        ),
        ("/console/tenants/globex/approve".to_owned(), "all=yes"),
    ];
    for (path, fields) in &forged {
        let resp = w
            .http
            .post(format!("{}{path}", w.base))
            .header("cookie", &cookie)
            .header("host", w.base.trim_start_matches("http://"))
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&{fields}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
    let audit = w.audit("globex").await;
    assert!(audit.iter().all(|e| e.kind != "link.issued"), "{audit:?}");
    assert_eq!(
        w.system
            .store
            .events(&r.globex)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.actor.contains("ann"))
            .count(),
        0
    );

    // Her own run, without the form's token or from another site: refused, nothing done.
    let own = format!(
        "{}/console/tenants/acme/runs/{}/actions/cancel",
        w.base, r.devices
    );
    for (site, token) in [
        ("same-origin", "not-the-token"),
        ("cross-site", csrf.as_str()),
    ] {
        let resp = w
            .http
            .post(&own)
            .header("cookie", &cookie)
            .header("sec-fetch-site", site)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={token}&reason=forged"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{site}");
    }
    assert!(
        w.system
            .store
            .run(&r.devices)
            .await
            .unwrap()
            .unwrap()
            .cancellation
            .is_none()
    );
}

/// The MSP's own staff sign in with a token, see both clients, and issue an auditor link for
/// globex's closed run, which then serves the bundle.
async fn all_tenants_operator_sees_both_and_issues_a_link(console: &Console, w: &World, r: &Runs) {
    console.open("/console/sign-in").await;
    console
        .check_page(
            "sign-in",
            &["Sign in", "With your password", "With an operator token"],
        )
        .await;
    console
        .submit("form:has(input[name='token'])", &[("token", MSP_TOKEN)])
        .await;
    console
        .check_page("home-msp", &["Needs attention", GHOST])
        .await;
    console.open("/console/runs").await;
    let text = console.main_text().await;
    assert!(
        text.contains(GLOBEX_LEAVER) && text.contains(DEMO_LEAVER),
        "{text}"
    );
    console.open("/console/tenants").await;
    console.check_page("tenants-msp", &["acme", "globex"]).await;
    console
        .submit(
            "form[action='/console/tenants/acme/plan']",
            &[("email", DEMO_LEAVER)],
        )
        .await;
    console
        .check_page(
            "plan",
            &[
                "Plan for jane.doe@example.com in acme",
                "nothing was changed",
            ],
        )
        .await;
    console.open("/console/evidence").await;
    console
        .check_page(
            "evidence",
            &["Bundles of closed runs", GLOBEX_LEAVER, "matches the chain"],
        )
        .await;
    period_link(console, w).await;

    console
        .open(&format!("/console/tenants/globex/runs/{}", r.globex))
        .await;
    console
        .check_page(
            "run-closed",
            &["closed", "Evidence bundle", "Issue an auditor link"],
        )
        .await;
    console
        .submit("form[action$='/link']", &[("hours", "24")])
        .await;
    let text = console.main_text().await;
    let path = text
        .split_whitespace()
        .find(|t| t.starts_with(&format!("/v1/bundles/globex/{}", r.globex)))
        .unwrap_or_else(|| panic!("no link on the page:\n{text}"))
        .to_owned();
    let audit = w.audit("globex").await;
    let issued = audit
        .iter()
        .find(|e| e.kind == "link.issued" && e.detail["scope"] == "run")
        .expect("the issue is recorded");
    assert_eq!(issued.actor, "operator:msp");
    let index = w
        .http
        .get(format!("{}{path}", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status().as_u16(), 200, "{path}");
    let index: Value = index.json().await.unwrap();
    assert_eq!(index["run_id"], r.globex.as_str());

    // The same issue through the operator API, recorded the same way.
    let api = w
        .http
        .post(format!(
            "{}/v1/operator/tenants/globex/runs/{}/link",
            w.base, r.globex
        ))
        .bearer_auth(MSP_TOKEN)
        .json(&json!({"hours": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 200);
    let api: Value = api.json().await.unwrap();
    let fetched = w
        .http
        .get(format!("{}{}", w.base, api["path"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status().as_u16(), 200);
    let audit = w.audit("globex").await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.kind == "link.issued" && e.detail["scope"] == "run")
            .map(|e| e.actor.as_str())
            .collect::<Vec<_>>(),
        ["operator:msp", "operator:msp"]
    );
}

/// Every console answer, page or refusal, carries the strict policy; the session cookie is
/// HttpOnly, SameSite=Strict and scoped to the console (without Secure only on loopback).
async fn every_answer_carries_the_security_headers(w: &World) {
    for path in ["/console/sign-in", "/console", "/console/static/console.js"] {
        let r = w
            .http
            .get(format!("{}{path}", w.base))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = no_redirects
        .post(format!("{}/console/sign-in", w.base))
        .form(&[("method", "token"), ("token", MSP_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains(MSP_TOKEN),
        "the token is not in the cookie"
    );
    let cross_site = w
        .http
        .post(format!("{}/console/sign-in", w.base))
        .header("origin", "https://evil.example")
        .form(&[("method", "token"), ("token", MSP_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status().as_u16(), 403);
    assert!(cross_site.headers().get("set-cookie").is_none());
}

/// A period link issued from the evidence page, recorded with the operator as issuer.
async fn period_link(console: &Console, w: &World) {
    // From yesterday, in UTC as the report's days are: a run that closed just before midnight
    // is still inside the period when the link is issued just after it.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let yesterday = (today - jiff::Span::new().days(1)).to_string();
    let today = today.to_string();
    let fields = [
        ("tenant", "globex"),
        ("from", yesterday.as_str()),
        ("to", today.as_str()),
    ];
    console
        .submit("form[action='/console/evidence/period-link']", &fields)
        .await;
    let text = console.main_text().await;
    assert!(
        text.contains("Done: period link for 1 leavers: /v1/periods/globex/"),
        "{text}"
    );
    let audit = w.audit("globex").await;
    let period = audit
        .iter()
        .find(|e| e.kind == "link.issued" && e.detail["scope"] == "period")
        .expect("the period link is recorded");
    assert_eq!(period.actor, "operator:msp");
    assert!(text.contains("Links issued and fetched"), "{text}");
    assert!(text.contains("link.issued"), "the issue is listed:\n{text}");
}

/// Olga signs in through acme's Okta (OpenID Connect, code flow with PKCE) and sees acme only.
/// Refused, each with its reason: a wrong password and a suspended account (at the IdP), an
/// Okta user who is no operator, an ID token signed with a key Okta does not publish, and an
/// answer whose state is not this browser's sign-in.
async fn signed_in_through_the_tenants_own_identity_provider(console: &Console, w: &World) {
    let okta = &w._okta[0];
    console.open("/console/sign-in").await;
    console
        .check_page("sign-in", &["Sign in with acme-okta", "With your password"])
        .await;

    console.idp_sign_in(OLGA, "not it").await;
    assert!(console.main_text().await.contains("Unable to sign in"));
    console.idp_sign_in(OLGA, IDP_PASSWORD).await;
    console.until_text("/console", "Signed in as").await;
    console
        .check_page("home-oidc", &["Needs attention", GHOST])
        .await;
    let header = console.c.find(Locator::Css("header")).await.unwrap();
    assert!(header.text().await.unwrap().contains("olga"));
    assert!(!console.main_text().await.contains(GLOBEX_LEAVER));
    console.open("/console/tenants").await;
    assert!(!console.main_text().await.contains("globex"));
    console.sign_out().await;

    console.idp_sign_in(NORA, IDP_PASSWORD).await;
    console
        .until_text(
            "/console/sign-in/oidc/callback",
            "no operator of this deployment",
        )
        .await;
    console
        .check_page("sign-in-oidc-refused", &["nora@example.com", "acme-okta"])
        .await;

    okta.sign_id_tokens_with_unpublished_key(true);
    console.idp_sign_in(OLGA, IDP_PASSWORD).await;
    console
        .until_text("/console/sign-in/oidc/callback", "does not verify")
        .await;
    okta.sign_id_tokens_with_unpublished_key(false);

    // A flow started in this browser, answered with another state.
    console.open("/console/sign-in/oidc/acme-okta").await;
    console
        .open("/console/sign-in/oidc/callback?code=stolen&state=not-this-one")
        .await;
    assert!(console.main_text().await.contains("its state differs"));
    assert!(console.c.get_named_cookie("passage_console").await.is_err());

    let olga = okta.user(OLGA).unwrap().id;
    let r = w
        .http
        .post(format!(
            "{}/api/v1/users/{olga}/lifecycle/suspend",
            okta.base_url()
        ))
        .header("authorization", okta.authorization())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    console.idp_sign_in(OLGA, IDP_PASSWORD).await;
    assert!(console.main_text().await.contains("Unable to sign in"));
}

impl Console {
    /// From the sign-in page to the IdP's form, filled and sent.
    async fn idp_sign_in(&self, login: &str, password: &str) {
        self.open("/console/sign-in").await;
        self.c
            .find(Locator::LinkText("Sign in with acme-okta"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.c
            .wait()
            .for_element(Locator::Css("input[name='username']"))
            .await
            .unwrap();
        self.submit("form", &[("username", login), ("password", password)])
            .await;
    }

    /// Waits until the browser is at `path` and its page says `text`.
    async fn until_text(&self, path: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url = self.c.current_url().await.unwrap();
            let body = match self.c.find(Locator::Css("body")).await {
                Ok(b) => b.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if url.path() == path && body.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never at {path} saying {text:?}: at {url}, saying\n{body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
