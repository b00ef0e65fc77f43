//! Conformance to the providers' published APIs.
//!
//! Every connector runs every action it supports (with each of its authentication modes)
//! against the sandbox emulators, through a recording proxy that sees each request on the
//! wire. Each request's (method, path) must be an operation of the provider's published spec,
//! and every field of its JSON body must be a field that operation's request schema declares.
//! The operations come from a compact extract committed under `conformance/`, derived from
//! the full specs by `scripts/extract-api-ops`; calls no spec publishes are listed there as
//! `unpublished`, each with its reason, and accepted only by exact (method, path) match.

use passage_core::ports::{ActionRequest, Connector};
use passage_core::{Action, DeviceAction, Manager, Provider, RunId, StepKey, Subject, TenantId};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Prior = BTreeMap<StepKey, serde_json::Value>;

/// A forward proxy that records every request passing through it, then relays it unchanged.
/// Connectors get a client built from `passage_connectors::http::builder()` with this proxy
/// set, so what is observed is exactly what went on the wire, with no observation code in the
/// connectors themselves.
mod recorder {
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::http::{HeaderName, StatusCode, header};
    use axum::response::Response;
    use std::sync::{Arc, Mutex};

    /// One request as a connector sent it.
    #[derive(Clone, Debug)]
    pub struct Seen {
        pub method: String,
        pub url: url::Url,
        pub content_type: Option<String>,
        pub body: Vec<u8>,
    }

    struct Shared {
        seen: Mutex<Vec<Seen>>,
        relay: reqwest::Client,
    }

    pub struct Recorder {
        url: url::Url,
        shared: Arc<Shared>,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
    }

    /// Headers that belong to one hop and must not be relayed.
    const HOP_BY_HOP: [HeaderName; 5] = [
        header::CONNECTION,
        header::PROXY_AUTHORIZATION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
        header::HOST,
    ];

    impl Recorder {
        pub async fn start() -> Self {
            let shared = Arc::new(Shared {
                seen: Mutex::new(Vec::new()),
                relay: passage_connectors::http::builder()
                    .no_proxy()
                    .build()
                    .unwrap(),
            });
            let router = axum::Router::new()
                .fallback(relay)
                .with_state(shared.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url =
                url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
            });
            Self {
                url,
                shared,
                stop: Some(stop),
            }
        }

        /// The connectors' client, with every request routed through this recorder.
        pub fn client(&self) -> reqwest::Client {
            passage_connectors::http::builder()
                .proxy(reqwest::Proxy::all(self.url.as_str()).unwrap())
                .build()
                .unwrap()
        }

        /// Everything recorded so far, in order.
        pub fn take(&self) -> Vec<Seen> {
            std::mem::take(&mut *self.shared.seen.lock().unwrap())
        }
    }

    impl Drop for Recorder {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
        }
    }

    async fn relay(State(shared): State<Arc<Shared>>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, 16 << 20).await else {
            return plain(StatusCode::BAD_REQUEST, "unreadable request body");
        };
        // A client talking to a forward proxy sends the absolute URL as the request target.
        let Ok(url) = url::Url::parse(&parts.uri.to_string()) else {
            return plain(StatusCode::BAD_REQUEST, "not an absolute request target");
        };
        shared.seen.lock().unwrap().push(Seen {
            method: parts.method.as_str().to_owned(),
            url: url.clone(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: bytes.to_vec(),
        });
        let mut onward = shared.relay.request(parts.method, url);
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(name) && name.as_str() != "proxy-connection" {
                onward = onward.header(name, value);
            }
        }
        // The relay frames the body again; a length the client stated (0 for a bodiless
        // write) is stated onward too.
        if parts.headers.contains_key(header::CONTENT_LENGTH) {
            onward = onward.header(header::CONTENT_LENGTH, bytes.len());
        }
        let answer = match onward.body(bytes).send().await {
            Ok(a) => a,
            Err(e) => return plain(StatusCode::BAD_GATEWAY, &format!("relay failed: {e}")),
        };
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if !HOP_BY_HOP.contains(name) {
                response = response.header(name, value);
            }
        }
        let body = answer.bytes().await.unwrap_or_default();
        response.body(Body::from(body)).unwrap()
    }

    fn plain(status: StatusCode, message: &str) -> Response {
        Response::builder()
            .status(status)
            .body(Body::from(message.to_owned()))
            .unwrap()
    }
}

/// Runs each connector through every action it supports, and returns what each one sent.
mod scenarios {
    use super::recorder::{Recorder, Seen};
    use super::*;
    use passage_core::secret::Secret;

    use crate::common::rsa_key;

    fn request(
        provider: Provider,
        action: Action,
        email: &str,
        delegate: Option<&str>,
        prior: &Prior,
    ) -> ActionRequest {
        ActionRequest {
            tenant: TenantId::new("acme"),
            run_id: RunId::new("run_conformance"),
            step_key: passage_core::step_key(provider, action),
            action,
            subject: Subject {
                employee_id: "E1".into(),
                email: email.into(),
                display_name: None,
                time_zone: "UTC".into(),
                manager: delegate.map(|d| Manager {
                    email: d.into(),
                    employee_id: None,
                }),
            },
            delegate: delegate.map(str::to_owned),
            attempt: 1,
            prior: prior.clone(),
            operation: None,
        }
    }

    /// Runs `actions` in order for `email`, each of which must succeed, feeding each step's
    /// output to the later ones as the engine does.
    async fn run(
        connector: &dyn Connector,
        email: &str,
        delegate: Option<&str>,
        actions: &[Action],
        prior: &mut Prior,
    ) {
        let provider = connector.provider();
        for &action in actions {
            assert!(
                connector.supports(action),
                "{provider} does not support {action}"
            );
            let request = request(provider, action, email, delegate, prior);
            let report = crate::common::execute_polling(connector, &request, 5).await;
            let done = report
                .outcome
                .done()
                .unwrap_or_else(|f| panic!("{provider} {action} for {email} failed: {f:?}"));
            prior.insert(passage_core::step_key(provider, action), done.output);
        }
    }

    pub async fn okta() -> Vec<Seen> {
        use passage_connectors::okta::{OktaConnector, OktaCredentials, OktaSettings, ServiceApp};
        use passage_sandbox::okta::{
            ClientKey, DEMO_LEAVER, OktaConfig, OktaEmulator, SeedUser, SigningAlg,
        };
        const ALL: [Action; 6] = [
            Action::Snapshot,
            Action::ResetFactors,
            Action::RevokeSessions,
            Action::RevokeGrants,
            Action::RemoveGroups,
            Action::UnassignApps,
        ];
        let recorder = Recorder::start().await;

        // An API token, ending in deactivation.
        let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
        passage_sandbox::demo_seed(&okta);
        let org_url = url::Url::parse(&okta.base_url()).unwrap();
        let token = OktaConnector::new(
            OktaSettings {
                org_url: org_url.clone(),
                credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
            },
            recorder.client(),
        );
        let mut prior = Prior::new();
        run(&token, DEMO_LEAVER, None, &ALL, &mut prior).await;
        run(&token, DEMO_LEAVER, None, &[Action::Deactivate], &mut prior).await;
        // A login that is not the e-mail address: found by search instead.
        okta.seed_user(SeedUser {
            email: "kai.hart@example.com".into(),
            ..SeedUser::new("kai@corp.example.com", "Kai", "Hart")
        });
        let snapshot = [Action::Snapshot];
        run(
            &token,
            "kai.hart@example.com",
            None,
            &snapshot,
            &mut Prior::new(),
        )
        .await;
        okta.shutdown().await;

        // A service app with DPoP-bound tokens, ending in suspension.
        let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
        passage_sandbox::demo_seed(&okta);
        let scopes: Vec<String> = [
            "okta.users.read",
            "okta.users.manage",
            "okta.groups.read",
            "okta.groups.manage",
            "okta.apps.read",
            "okta.apps.manage",
        ]
        .map(String::from)
        .to_vec();
        let (private, public) = rsa_key();
        okta.register_service_app(
            "0oapassage",
            ClientKey::pem("key-1", SigningAlg::RS256, public),
            scopes.clone(),
            true,
        );
        let app = OktaConnector::new(
            OktaSettings {
                org_url: url::Url::parse(&okta.base_url()).unwrap(),
                credentials: OktaCredentials::ServiceApp(ServiceApp {
                    client_id: "0oapassage".into(),
                    private_key: Secret::new(private.clone()),
                    key_id: Some("key-1".into()),
                    scopes,
                    dpop: true,
                }),
            },
            recorder.client(),
        );
        let mut prior = Prior::new();
        run(&app, DEMO_LEAVER, None, &ALL, &mut prior).await;
        run(&app, DEMO_LEAVER, None, &[Action::Suspend], &mut prior).await;
        okta.shutdown().await;
        recorder.take()
    }

    pub async fn microsoft() -> Vec<Seen> {
        use passage_connectors::microsoft::{MicrosoftConnector, MicrosoftCredential};

        use passage_sandbox::microsoft::{
            AppCredential, DEMO_LEAVER, DEMO_MANAGER, MethodKind, MicrosoftConfig,
            MicrosoftEmulator, Resource, SeedDevice, SeedMethod, SeedUser, demo_seed,
            key_thumbprints,
        };
        const CLIENT_ID: &str = "5a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";
        const SECRET: &str = "passage~conformance.secret";
        let settings = |ms: &MicrosoftEmulator, credential, devices| {
            crate::common::microsoft_settings(
                ms,
                CLIENT_ID,
                credential,
                crate::common::microsoft_policy(devices),
            )
        };
        let recorder = Recorder::start().await;

        // A certificate credential; devices retired.
        let ms = MicrosoftEmulator::start(MicrosoftConfig::default())
            .await
            .unwrap();
        demo_seed(&ms);
        let (private, public) = rsa_key();
        let (x5t, _) = key_thumbprints(public).unwrap();
        ms.register_app(
            CLIENT_ID,
            AppCredential::PublicKey {
                pem: public.clone(),
                x5t: x5t.clone(),
            },
        );
        let certificate = MicrosoftConnector::new(
            settings(
                &ms,
                MicrosoftCredential::Certificate {
                    private_key: Secret::new(private.clone()),
                    x5t,
                },
                DeviceAction::Retire,
            ),
            recorder.client(),
        );
        let mut prior = Prior::new();
        run(
            &certificate,
            DEMO_LEAVER,
            Some(DEMO_MANAGER),
            &crate::common::MICROSOFT_PLAN,
            &mut prior,
        )
        .await;
        // A second forwarding rule of Passage's name, made outside Passage, and a new
        // delegate: the connector updates its rule and deletes the duplicate.
        let graph = url::Url::parse(&ms.graph_url()).unwrap();
        let leaver = ms.user(DEMO_LEAVER).unwrap().id;
        let token = ms.access_token(CLIENT_ID, Resource::Graph).unwrap();
        let rules = graph
            .join(&format!(
                "v1.0/users/{leaver}/mailFolders/inbox/messageRules"
            ))
            .unwrap();
        let direct = reqwest::Client::builder().no_proxy().build().unwrap();
        let created = direct
            .post(rules)
            .bearer_auth(token)
            .json(&serde_json::json!({
                "displayName": "Passage offboarding forward",
                "sequence": 2,
                "isEnabled": true,
                "actions": {"redirectTo": [{"emailAddress": {"address": DEMO_MANAGER}}]},
            }))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "{}", created.status());
        run(
            &certificate,
            DEMO_LEAVER,
            Some("priya.patel@example.com"),
            &[Action::ForwardMail],
            &mut prior,
        )
        .await;
        ms.shutdown().await;

        // A client secret; devices wiped; a leaver with every kind of sign-in method.
        let ms = MicrosoftEmulator::start(MicrosoftConfig::default())
            .await
            .unwrap();
        demo_seed(&ms);
        let every_method = "riley.ng@example.com";
        ms.seed_user(SeedUser {
            methods: vec![
                SeedMethod::new(MethodKind::MicrosoftAuthenticator, "Pixel 9").default_method(),
                SeedMethod::new(MethodKind::Phone, "+1 5555550199"),
                SeedMethod::new(MethodKind::Fido2, "YubiKey 5"),
                SeedMethod::new(MethodKind::SoftwareOath, "OATH app"),
                SeedMethod::new(MethodKind::Email, "riley@personal.example"),
                SeedMethod::new(MethodKind::WindowsHelloForBusiness, "RILEY-PC"),
                SeedMethod::new(MethodKind::TemporaryAccessPass, "TAP"),
                SeedMethod::new(MethodKind::PlatformCredential, "RILEY-MBP"),
            ],
            devices: vec![SeedDevice::new("RILEY-PC", "Windows", "ThinkPad X1")],
            groups: vec!["Engineering".into()],
            licenses: vec!["SPE_E3".into()],
            manager: Some(DEMO_MANAGER.into()),
            ..SeedUser::new(every_method, "Riley Ng")
        });
        ms.register_app(CLIENT_ID, AppCredential::Secret(SECRET.into()));
        let secret = |devices| {
            MicrosoftConnector::new(
                settings(
                    &ms,
                    MicrosoftCredential::Secret(Secret::new(SECRET)),
                    devices,
                ),
                recorder.client(),
            )
        };
        // Mail that is not the user principal name: found by filter instead.
        ms.seed_user(SeedUser {
            mail: Some("morgan.lee@example.com".into()),
            ..SeedUser::new("morgan@example.onmicrosoft.com", "Morgan Lee")
        });
        let wipe = secret(DeviceAction::Wipe);
        let snapshot = [Action::Snapshot];
        run(
            &wipe,
            "morgan.lee@example.com",
            None,
            &snapshot,
            &mut Prior::new(),
        )
        .await;
        run(
            &wipe,
            every_method,
            Some(DEMO_MANAGER),
            &crate::common::MICROSOFT_PLAN,
            &mut Prior::new(),
        )
        .await;
        // Devices locked remotely.
        let lock = secret(DeviceAction::Lock);
        run(
            &lock,
            DEMO_LEAVER,
            Some(DEMO_MANAGER),
            &[Action::Snapshot, Action::SecureDevices],
            &mut Prior::new(),
        )
        .await;
        ms.shutdown().await;
        recorder.take()
    }

    pub async fn google() -> Vec<Seen> {
        use passage_connectors::google::{DELEGATED_SCOPES, GoogleConnector, TransferPolling};

        use passage_sandbox::google::{DEMO_LEAVER, DEMO_MANAGER, GoogleConfig, GoogleEmulator};
        use std::time::Duration;
        let recorder = Recorder::start().await;
        for devices in [DeviceAction::Retire, DeviceAction::Wipe] {
            let google = GoogleEmulator::start(GoogleConfig::default())
                .await
                .unwrap();
            passage_sandbox::google::demo_seed(&google);
            crate::common::register_google_service_account(&google, DELEGATED_SCOPES);
            let connector = GoogleConnector::new(
                crate::common::google_settings(&google, crate::common::google_policy(devices)),
                recorder.client(),
            )
            .with_transfer_polling(TransferPolling {
                polls: 20,
                interval: Duration::from_millis(20),
            });
            run(
                &connector,
                DEMO_LEAVER,
                Some(DEMO_MANAGER),
                &crate::common::GOOGLE_PLAN,
                &mut Prior::new(),
            )
            .await;
            google.shutdown().await;
        }
        recorder.take()
    }

    pub async fn jumpcloud() -> Vec<Seen> {
        use passage_connectors::jumpcloud::{JumpCloudConnector, JumpCloudCredential};

        use passage_sandbox::jumpcloud::{
            DEMO_LEAVER, JumpCloudConfig, JumpCloudEmulator, SeedSystem, demo_seed,
        };
        let recorder = Recorder::start().await;
        let connector = |jc: &JumpCloudEmulator, credential, org_id, devices| {
            JumpCloudConnector::new(
                crate::common::jumpcloud_settings(jc, credential, org_id, devices),
                recorder.client(),
            )
        };
        // An API key with an MSP org id, devices locked (a Linux box among them).
        let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
            .await
            .unwrap();
        let demo = demo_seed(&jc);
        jc.seed_system(SeedSystem::linux("build-box").bound_to(&demo.leaver_id));
        let key = connector(
            &jc,
            JumpCloudCredential::ApiKey(Secret::new(jc.api_key())),
            Some(jc.org_id()),
            DeviceAction::Lock,
        );
        run(
            &key,
            DEMO_LEAVER,
            None,
            &crate::common::JUMPCLOUD_PLAN,
            &mut Prior::new(),
        )
        .await;
        jc.shutdown().await;

        // A service account; devices erased.
        let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
            .await
            .unwrap();
        let demo = demo_seed(&jc);
        jc.seed_system(SeedSystem::linux("build-box").bound_to(&demo.leaver_id));
        let (client_id, client_secret) = jc.service_account();
        let account = connector(
            &jc,
            JumpCloudCredential::ServiceAccount {
                client_id,
                client_secret: Secret::new(client_secret),
            },
            None,
            DeviceAction::Wipe,
        );
        run(
            &account,
            DEMO_LEAVER,
            None,
            &crate::common::JUMPCLOUD_PLAN,
            &mut Prior::new(),
        )
        .await;
        jc.shutdown().await;
        recorder.take()
    }
}

/// The SaaS apps: two SCIM servers, Slack on Enterprise Grid, a GitHub organisation and
/// its managed users. Each runs every action its connector supports.
mod saas_scenarios {
    use super::recorder::{Recorder, Seen};
    use crate::common::saas::{self as saas, Prior};
    use passage_core::Action::*;

    /// Where the SCIM emulators serve SCIM: the app's base path, which the extract leaves out
    /// (RFC 7644 paths are relative to the base a tenant configures).
    pub const SCIM_BASE: &str = "/scim/v2";

    pub async fn scim() -> Vec<Seen> {
        use passage_sandbox::scim::{DEMO_LEAVER, Flavor, ScimConfig, ScimEmulator, demo_seed};
        let recorder = Recorder::start().await;
        // A strict server (PATCH, e-mail filters, ETags) and a lenient one that claims PATCH,
        // refuses it, refuses e-mail filters and discovers under the plural name.
        for (flavor, lie) in [(Flavor::Strict, None), (Flavor::Lenient, Some(true))] {
            let mut config = ScimConfig::new(flavor);
            config.advertise_patch = lie;
            let scim = ScimEmulator::start(config).await.unwrap();
            demo_seed(&scim);
            let connector =
                saas::scim_connector(&scim, saas::scim_policy("wiki"), recorder.client());
            let actions = [Snapshot, DeactivateSeat, RemoveSeat];
            saas::all(
                &connector,
                Some("wiki"),
                &actions,
                DEMO_LEAVER,
                &mut Prior::new(),
            )
            .await;
            scim.shutdown().await;
        }
        recorder
            .take()
            .into_iter()
            .map(|mut seen| {
                let path = seen.url.path().to_owned();
                seen.url
                    .set_path(path.strip_prefix(SCIM_BASE).unwrap_or(&path));
                seen
            })
            .collect()
    }

    pub async fn slack() -> Vec<Seen> {
        use passage_core::SlackPlan as Plan;
        use passage_sandbox::slack::{
            DEMO_LEAVER, SlackConfig, SlackEmulator, SlackPlan, demo_seed,
        };
        let recorder = Recorder::start().await;
        let slack = SlackEmulator::start(SlackConfig::new(SlackPlan::EnterpriseGrid))
            .await
            .unwrap();
        demo_seed(&slack);
        let connector = saas::slack_connector(&slack, Plan::EnterpriseGrid, recorder.client());
        let actions = [Snapshot, DeactivateSeat, RevokeSessions];
        saas::all(&connector, None, &actions, DEMO_LEAVER, &mut Prior::new()).await;
        slack.shutdown().await;
        recorder.take()
    }

    pub async fn github() -> Vec<Seen> {
        use passage_sandbox::github::{
            DEMO_LEAVER, DEMO_LOGIN, GithubConfig, GithubEmulator, demo_seed,
        };
        let recorder = Recorder::start().await;
        let github = GithubEmulator::start(GithubConfig::default())
            .await
            .unwrap();
        demo_seed(&github);
        github.seed_outside_collaborator("jane-ext");
        let org = [Snapshot, RevokeGrants, RemoveLicenses, DeactivateSeat];
        // The leaver by mapping; an outside collaborator; a colleague by public address.
        for (email, login) in [
            (DEMO_LEAVER, DEMO_LOGIN),
            ("jane.ext@example.com", "jane-ext"),
        ] {
            let connector = saas::github_connector(
                &github,
                saas::github_policy(false),
                &[(email, login)],
                recorder.client(),
            );
            saas::all(&connector, None, &org, email, &mut Prior::new()).await;
        }
        let connector =
            saas::github_connector(&github, saas::github_policy(false), &[], recorder.client());
        saas::all(
            &connector,
            None,
            &org,
            "sam.lee@example.com",
            &mut Prior::new(),
        )
        .await;
        // A managed user: suspended, then deleted.
        let user = "kim.park@example.com";
        github.seed_managed_user(user, "kim-park_acme");
        let connector = saas::github_connector(
            &github,
            saas::github_policy(true),
            &[(user, "kim-park_acme")],
            recorder.client(),
        );
        let emu = [Snapshot, DeactivateSeat, RemoveSeat];
        saas::all(&connector, None, &emu, user, &mut Prior::new()).await;
        github.shutdown().await;
        recorder.take()
    }
}

/// The committed extract and the check of one request against it.
mod extract {
    use serde::Deserialize;
    use std::fmt;

    /// One provider's extract, as `scripts/extract-api-ops` writes it.
    #[derive(Debug, Deserialize)]
    pub struct Extract {
        pub provider: String,
        pub operations: Vec<Operation>,
        pub unpublished: Vec<Unpublished>,
    }

    /// An operation of the published spec that a connector uses.
    #[derive(Debug, Deserialize)]
    pub struct Operation {
        pub method: String,
        /// As sent on the wire (base path included), `{name}` for a variable part.
        pub path: String,
        pub source: String,
        /// The request body's allowed field paths; `None` when the spec declares no body.
        pub body: Option<Vec<String>>,
    }

    /// A call no saved spec publishes, accepted only by exact (method, path template).
    #[derive(Debug, Deserialize)]
    pub struct Unpublished {
        pub method: String,
        pub path: String,
        pub reason: String,
    }

    /// Which entry of the extract a request matched: (method, path template).
    pub type Key = (String, String);

    pub enum Entry<'a> {
        Published(&'a Operation),
        Unpublished(&'a Unpublished),
    }

    impl Entry<'_> {
        pub fn key(&self) -> Key {
            match self {
                Self::Published(o) => (o.method.clone(), o.path.clone()),
                Self::Unpublished(u) => (u.method.clone(), u.path.clone()),
            }
        }
    }

    /// Why a request does not conform. Each names the provider, method and path.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Violation {
        NoSuchOperation {
            provider: String,
            method: String,
            path: String,
        },
        FieldNotInSpec {
            provider: String,
            method: String,
            path: String,
            template: String,
            source: String,
            field: String,
        },
        BodyNotInSpec {
            provider: String,
            method: String,
            path: String,
            template: String,
            source: String,
        },
        BodyNotJson {
            provider: String,
            method: String,
            path: String,
            detail: String,
        },
    }

    impl fmt::Display for Violation {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::NoSuchOperation {
                    provider,
                    method,
                    path,
                } => write!(
                    f,
                    "{provider}: {method} {path} is no operation of the published spec \
                     (nor a listed unpublished call)"
                ),
                Self::FieldNotInSpec {
                    provider,
                    method,
                    path,
                    template,
                    source,
                    field,
                } => write!(
                    f,
                    "{provider}: {method} {path} sends body field `{field}`, which the request \
                     body of {method} {template} in {source} does not declare"
                ),
                Self::BodyNotInSpec {
                    provider,
                    method,
                    path,
                    template,
                    source,
                } => write!(
                    f,
                    "{provider}: {method} {path} sends a JSON body, but {method} {template} in \
                     {source} takes none"
                ),
                Self::BodyNotJson {
                    provider,
                    method,
                    path,
                    detail,
                } => write!(
                    f,
                    "{provider}: {method} {path} sends a body that is not JSON: {detail}"
                ),
            }
        }
    }

    impl Extract {
        pub fn load(dir: &std::path::Path, provider: &str) -> Self {
            let file = dir.join(format!("{provider}.json"));
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let extract: Self = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not an extract: {e}", file.display()));
            assert_eq!(extract.provider, provider, "{}", file.display());
            extract
        }

        /// Every (method, template) the extract lists, published or not.
        pub fn keys(&self) -> Vec<Key> {
            let published = self.operations.iter().map(|o| (&o.method, &o.path));
            let unpublished = self.unpublished.iter().map(|u| (&u.method, &u.path));
            published
                .chain(unpublished)
                .map(|(m, p)| (m.clone(), p.clone()))
                .collect()
        }

        /// The entry a request's (method, path) matches: the most specific template (most
        /// literal segments; the first listed on a tie), published or not.
        pub fn find(&self, method: &str, path: &str) -> Option<Entry<'_>> {
            let published = self
                .operations
                .iter()
                .rev()
                .filter(|o| o.method == method)
                .filter_map(|o| specificity(&o.path, path).map(|s| (s, o)))
                .max_by_key(|(s, _)| *s);
            let unpublished = self
                .unpublished
                .iter()
                .rev()
                .filter(|u| u.method == method)
                .filter_map(|u| specificity(&u.path, path).map(|s| (s, u)))
                .max_by_key(|(s, _)| *s);
            match (published, unpublished) {
                (Some((p, op)), Some((u, _))) if p >= u => Some(Entry::Published(op)),
                (Some((_, op)), None) => Some(Entry::Published(op)),
                (_, Some((_, u))) => Some(Entry::Unpublished(u)),
                (None, None) => None,
            }
        }

        /// Checks one request: its (method, path) is a listed operation, and every field of
        /// its JSON body is one that operation's request schema declares.
        pub fn check(
            &self,
            method: &str,
            url: &url::Url,
            content_type: Option<&str>,
            body: &[u8],
        ) -> Result<Key, Box<Violation>> {
            let path = url.path();
            let op = match self.find(method, path) {
                Some(Entry::Published(op)) => op,
                // Unpublished calls (token endpoints, Exchange's admin API) are described by
                // no spec, so there is no body schema to check them against.
                Some(Entry::Unpublished(u)) => return Ok((u.method.clone(), u.path.clone())),
                None => {
                    return Err(Box::new(Violation::NoSuchOperation {
                        provider: self.provider.clone(),
                        method: method.into(),
                        path: path.into(),
                    }));
                }
            };
            let key = (op.method.clone(), op.path.clone());
            if body.is_empty() {
                return Ok(key);
            }
            let is_json = content_type.is_some_and(|c| c.contains("json"));
            let value: serde_json::Value = match serde_json::from_slice(body) {
                Ok(v) if is_json => v,
                Ok(_) | Err(_) => {
                    return Err(Box::new(Violation::BodyNotJson {
                        provider: self.provider.clone(),
                        method: method.into(),
                        path: path.into(),
                        detail: format!("content-type {content_type:?}, {} bytes", body.len()),
                    }));
                }
            };
            let Some(allowed) = &op.body else {
                // An empty object carries no field; JumpCloud's own samples send `-d {}` to
                // operations that take no body.
                if value.as_object().is_some_and(|o| o.is_empty()) {
                    return Ok(key);
                }
                return Err(Box::new(Violation::BodyNotInSpec {
                    provider: self.provider.clone(),
                    method: method.into(),
                    path: path.into(),
                    template: op.path.clone(),
                    source: op.source.clone(),
                }));
            };
            let mut fields = Vec::new();
            field_paths(&value, "", &mut fields);
            if let Some(field) = fields.into_iter().find(|f| !is_allowed(allowed, f)) {
                return Err(Box::new(Violation::FieldNotInSpec {
                    provider: self.provider.clone(),
                    method: method.into(),
                    path: path.into(),
                    template: op.path.clone(),
                    source: op.source.clone(),
                    field,
                }));
            }
            Ok(key)
        }
    }

    /// How many literal segments of `template` match `path`; `None` when it does not match.
    /// A `{name}` part matches one whole non-empty segment, or the variable part of a segment
    /// with literal text around it (Google's `{devicesId}:wipe`).
    pub fn specificity(template: &str, path: &str) -> Option<usize> {
        let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
        let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        if t.len() != p.len() {
            return None;
        }
        let mut literal = 0;
        for (t, p) in t.iter().zip(&p) {
            match (t.find('{'), t.rfind('}')) {
                (Some(open), Some(close)) if open < close => {
                    let (prefix, suffix) = (&t[..open], &t[close + 1..]);
                    let fits = p.len() > prefix.len() + suffix.len()
                        && p.starts_with(prefix)
                        && p.ends_with(suffix);
                    if !fits {
                        return None;
                    }
                }
                _ if t == p => literal += usize::from(!t.is_empty()),
                _ => return None,
            }
        }
        Some(literal)
    }

    /// `a`, `a.b`, `list[].c`: every field a JSON body carries, at every depth.
    pub fn field_paths(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let path = if at.is_empty() {
                        key.clone()
                    } else {
                        format!("{at}.{key}")
                    };
                    out.push(path.clone());
                    field_paths(inner, &path, out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    field_paths(item, &format!("{at}[]"), out);
                }
            }
            _ => {}
        }
    }

    /// Declared exactly, or below a field the spec leaves open (`x.*`, or `*` for the root).
    fn is_allowed(allowed: &[String], field: &str) -> bool {
        if allowed.iter().any(|a| a == field || a == "*") {
            return true;
        }
        field.match_indices('.').any(|(i, _)| {
            allowed
                .iter()
                .any(|a| a.strip_suffix(".*") == Some(&field[..i]))
        })
    }
}

const PROVIDERS: [&str; 7] = [
    "okta",
    "microsoft",
    "google",
    "jumpcloud",
    "scim",
    "slack",
    "github",
];

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Every request each connector sent, by provider. The scenarios run once per test binary and
/// their requests are shared by the tests below.
async fn observed() -> &'static BTreeMap<&'static str, Vec<recorder::Seen>> {
    static OBSERVED: tokio::sync::OnceCell<BTreeMap<&'static str, Vec<recorder::Seen>>> =
        tokio::sync::OnceCell::const_new();
    OBSERVED
        .get_or_init(|| async {
            BTreeMap::from([
                ("okta", scenarios::okta().await),
                ("microsoft", scenarios::microsoft().await),
                ("google", scenarios::google().await),
                ("jumpcloud", scenarios::jumpcloud().await),
                ("scim", saas_scenarios::scim().await),
                ("slack", saas_scenarios::slack().await),
                ("github", saas_scenarios::github().await),
            ])
        })
        .await
}

/// A known non-conformance, tolerated until its connector is fixed: (provider, method, path
/// template, body field prefix, why). Each must still occur, so a fixed one cannot linger here.
const KNOWN_DEVIATIONS: &[(&str, &str, &str, &str, &str)] = &[];

fn is_known(v: &extract::Violation) -> Option<usize> {
    let extract::Violation::FieldNotInSpec {
        provider,
        method,
        template,
        field,
        ..
    } = v
    else {
        return None;
    };
    KNOWN_DEVIATIONS.iter().position(|(p, m, t, prefix, _)| {
        p == provider && m == method && t == template && field.starts_with(prefix)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_a_published_operation_with_declared_body_fields() {
    let mut violations = Vec::new();
    let mut known = BTreeSet::new();
    let mut checked = 0;
    for (provider, seen) in observed().await {
        let extract = extract::Extract::load(&conformance_dir(), provider);
        assert!(!seen.is_empty(), "{provider}: no request was observed");
        for s in seen {
            checked += 1;
            if let Err(v) = extract.check(&s.method, &s.url, s.content_type.as_deref(), &s.body) {
                match is_known(&v) {
                    Some(i) => {
                        known.insert(i);
                    }
                    None => violations.push(v.to_string()),
                }
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "{} of {checked} requests do not conform to the published APIs:\n{}",
        violations.len(),
        violations.join("\n")
    );
    for (i, (provider, method, template, field, why)) in KNOWN_DEVIATIONS.iter().enumerate() {
        assert!(
            known.contains(&i),
            "{provider}: {method} {template} `{field}` no longer deviates ({why}); \
             remove it from KNOWN_DEVIATIONS"
        );
    }
}

#[test]
fn unpublished_calls_each_say_why() {
    for provider in PROVIDERS {
        let extract = extract::Extract::load(&conformance_dir(), provider);
        for u in &extract.unpublished {
            assert!(
                u.reason.split_whitespace().count() >= 5,
                "{provider}: unpublished {} {} needs a reason, not {:?}",
                u.method,
                u.path,
                u.reason
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_in_the_extract_is_exercised() {
    let observed = observed().await;
    let mut unexercised = Vec::new();
    for provider in PROVIDERS {
        let extract = extract::Extract::load(&conformance_dir(), provider);
        let used: BTreeSet<extract::Key> = observed[provider]
            .iter()
            .filter_map(|s| extract.find(&s.method, s.url.path()).map(|e| e.key()))
            .collect();
        for (method, path) in extract.keys() {
            if !used.contains(&(method.clone(), path.clone())) {
                unexercised.push(format!("{provider}: {method} {path}"));
            }
        }
    }
    assert!(
        unexercised.is_empty(),
        "listed in the extract but sent by no connector in any scenario (drop them from \
         conformance/used-operations.txt and regenerate, or exercise them):\n{}",
        unexercised.join("\n")
    );
}

fn fabricated(
    provider: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<extract::Key, Box<extract::Violation>> {
    let extract = extract::Extract::load(&conformance_dir(), provider);
    let url = url::Url::parse(&format!("https://api.example.com{path}")).unwrap();
    let body = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    extract.check(method, &url, Some("application/json"), &body)
}

#[test]
fn a_path_or_method_the_spec_lacks_fails() {
    // A published path accepted, then the same path changed to one no spec has.
    assert_eq!(
        fabricated("okta", "POST", "/api/v1/users/00u1/lifecycle/suspend", None).unwrap(),
        ("POST".into(), "/api/v1/users/{id}/lifecycle/suspend".into())
    );
    let err = fabricated("okta", "POST", "/api/v1/users/00u1/lifecycle/pause", None).unwrap_err();
    assert_eq!(
        *err,
        extract::Violation::NoSuchOperation {
            provider: "okta".into(),
            method: "POST".into(),
            path: "/api/v1/users/00u1/lifecycle/pause".into(),
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("okta") && message.contains("POST /api/v1/users/00u1/lifecycle/pause"),
        "{message}"
    );
    // The right path with a method the spec does not give it.
    assert!(
        fabricated(
            "microsoft",
            "DELETE",
            "/v1.0/users/u1/revokeSignInSessions",
            None
        )
        .is_err()
    );
    // The namespace-qualified action is not the documented wire path.
    assert!(
        fabricated(
            "microsoft",
            "POST",
            "/v1.0/users/u1/microsoft.graph.revokeSignInSessions",
            None
        )
        .is_err()
    );
    // A base path left out.
    assert!(fabricated("google", "GET", "/users/u1/tokens", None).is_err());
    assert!(fabricated("jumpcloud", "GET", "/systemusers/abc", None).is_err());
    // Unpublished calls match only exactly: another method or an extra segment fails.
    assert!(fabricated("microsoft", "POST", "/tid/oauth2/v2.0/token", None).is_ok());
    assert!(fabricated("microsoft", "GET", "/tid/oauth2/v2.0/token", None).is_err());
    assert!(fabricated("microsoft", "POST", "/tid/oauth2/v2.0/token/x", None).is_err());
}

#[test]
fn a_body_field_the_spec_lacks_fails() {
    use serde_json::json;
    let suspend = json!({"accountEnabled": false});
    assert!(fabricated("microsoft", "PATCH", "/v1.0/users/u1", Some(suspend)).is_ok());
    let err = fabricated(
        "microsoft",
        "PATCH",
        "/v1.0/users/u1",
        Some(json!({"accountEnabled": false, "accountDisabled": true})),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&*err, extract::Violation::FieldNotInSpec { field, .. } if field == "accountDisabled"),
        "{err:?}"
    );
    for part in ["microsoft", "PATCH /v1.0/users/u1", "`accountDisabled`"] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }

    // Nested fields and array elements are checked at every depth.
    let rule = |address_key: &str| {
        json!({
            "displayName": "Passage offboarding forward",
            "isEnabled": true,
            "actions": {"redirectTo": [{"emailAddress": {address_key: "sam@example.com"}}]},
        })
    };
    let rules = "/v1.0/users/u1/mailFolders/inbox/messageRules";
    assert!(fabricated("microsoft", "POST", rules, Some(rule("address"))).is_ok());
    let err = fabricated("microsoft", "POST", rules, Some(rule("adress"))).unwrap_err();
    assert!(
        matches!(&*err, extract::Violation::FieldNotInSpec { field, .. }
            if field == "actions.redirectTo[].emailAddress.adress"),
        "{err:?}"
    );
    let licences = "/v1.0/users/u1/assignLicense";
    let ok = json!({"addLicenses": [{"skuId": "s", "disabledPlans": []}], "removeLicenses": []});
    assert!(fabricated("microsoft", "POST", licences, Some(ok)).is_ok());
    let bad = json!({"addLicenses": [{"sku": "s"}], "removeLicenses": []});
    assert!(matches!(
        fabricated("microsoft", "POST", licences, Some(bad)),
        Err(v) if matches!(&*v, extract::Violation::FieldNotInSpec { field, .. }
            if field == "addLicenses[].sku")
    ));

    // The other providers' schemas (Swagger 2.0, discovery documents) likewise.
    let jc = "/api/systemusers/abc";
    assert!(fabricated("jumpcloud", "PUT", jc, Some(json!({"suspended": true}))).is_ok());
    assert!(fabricated("jumpcloud", "PUT", jc, Some(json!({"disabled": true}))).is_err());
    let vacation = "/gmail/v1/users/me/settings/vacation";
    let on = json!({"enableAutoReply": true, "responseBodyPlainText": "Gone"});
    assert!(fabricated("google", "PUT", vacation, Some(on)).is_ok());
    let bad = json!({"enableAutoReply": true, "responseText": "Gone"});
    assert!(fabricated("google", "PUT", vacation, Some(bad)).is_err());
}

#[test]
fn a_body_where_the_spec_takes_none_or_a_body_that_is_not_json_fails() {
    let revoke = "/v1.0/users/u1/revokeSignInSessions";
    let body = serde_json::json!({"reason": "offboarding"});
    assert!(matches!(
        fabricated("microsoft", "POST", revoke, Some(body)),
        Err(v) if matches!(*v, extract::Violation::BodyNotInSpec { .. })
    ));
    // An empty object carries no field.
    assert!(fabricated("microsoft", "POST", revoke, Some(serde_json::json!({}))).is_ok());
    let extract = extract::Extract::load(&conformance_dir(), "microsoft");
    let url = url::Url::parse("https://graph.example.com/v1.0/users/u1").unwrap();
    let form = b"accountEnabled=false";
    let result = extract.check(
        "PATCH",
        &url,
        Some("application/x-www-form-urlencoded"),
        form,
    );
    let err = result.unwrap_err();
    assert!(
        matches!(*err, extract::Violation::BodyNotJson { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[test]
fn templates_match_whole_segments() {
    use extract::specificity;
    assert_eq!(specificity("/a/{id}/b", "/a/x/b"), Some(2));
    assert_eq!(specificity("/a/{id}/b", "/a/x/y/b"), None);
    assert_eq!(specificity("/a/{id}", "/a/"), None);
    assert_eq!(specificity("/a/{id}", "/a"), None);
    assert_eq!(specificity("/a/b", "/a/c"), None);
    // Literal text around a variable part (Google's `{devicesId}:wipe`).
    assert_eq!(
        specificity("/v1/devices/{id}:wipe", "/v1/devices/d1:wipe"),
        Some(2)
    );
    assert_eq!(
        specificity("/v1/devices/{id}:wipe", "/v1/devices/d1:cancel"),
        None
    );
    let mut fields = Vec::new();
    extract::field_paths(
        &serde_json::json!({"a": {"b": [{"c": 1}, 2]}, "d": []}),
        "",
        &mut fields,
    );
    assert_eq!(fields, ["a", "a.b", "a.b[].c", "d"]);
}

#[test]
fn the_extract_is_what_the_script_derives_from_the_specs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let specs = root.join("../shared/specs");
    if !specs.is_dir() {
        eprintln!(
            "note: {} is absent, so the extract's reproduction was not checked",
            specs.display()
        );
        return;
    }
    let out = std::env::temp_dir().join(format!("passage-conformance-{}", std::process::id()));
    let run = std::process::Command::new("python3")
        .arg(root.join("scripts/extract-api-ops"))
        .arg(&specs)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python3 runs scripts/extract-api-ops");
    assert!(
        run.status.success(),
        "scripts/extract-api-ops failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    for provider in PROVIDERS {
        let name = format!("{provider}.json");
        let derived = std::fs::read(out.join(&name)).unwrap();
        let committed = std::fs::read(conformance_dir().join(&name)).unwrap();
        assert!(
            derived == committed,
            "conformance/{name} differs from what scripts/extract-api-ops derives from {}; \
             regenerate it",
            specs.display()
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn saas_bodies_are_checked_against_the_rfc_and_the_web_api_arguments() {
    use serde_json::json;
    // SCIM: a PatchOp's `value` takes any attribute; its envelope only what RFC 7644 says.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    assert!(fabricated("scim", "PATCH", "/Users/u1", Some(patch)).is_ok());
    let bad = json!({"schemas": [], "Operations": [{"op": "replace", "attribute": "active"}]});
    assert!(matches!(
        fabricated("scim", "PATCH", "/Users/u1", Some(bad)),
        Err(v) if matches!(&*v, extract::Violation::FieldNotInSpec { field, .. } if field == "Operations[].attribute")
    ));
    // A PUT carries the User's writable attributes, never read-only ones such as `groups`.
    let user = json!({"schemas": [], "userName": "a", "active": false, "emails": [{"value": "a@b"}],
        "name": {"givenName": "A"}});
    assert!(fabricated("scim", "PUT", "/Users/u1", Some(user)).is_ok());
    let with_groups = json!({"userName": "a", "groups": [{"display": "g"}]});
    assert!(fabricated("scim", "PUT", "/Users/u1", Some(with_groups)).is_err());
    // The RFC has no /Users/{id}/password, and only an app's own base path is stripped.
    assert!(fabricated("scim", "POST", "/Users/u1/password", None).is_err());
    assert!(fabricated("slack", "DELETE", "/scim/v2/Users/W1", None).is_ok());
    assert!(fabricated("slack", "DELETE", "/scim/v1/Users/W1", None).is_err());
    // Slack's JSON bodies carry the method's form arguments, and nothing else.
    let reset = "/api/admin.users.session.reset";
    assert!(fabricated("slack", "POST", reset, Some(json!({"user_id": "W1"}))).is_ok());
    assert!(fabricated("slack", "POST", reset, Some(json!({"user": "W1"}))).is_err());
    // GitHub's Copilot cancellation takes `selected_usernames`.
    let copilot = "/orgs/acme/copilot/billing/selected_users";
    assert!(
        fabricated(
            "github",
            "DELETE",
            copilot,
            Some(json!({"selected_usernames": ["a"]}))
        )
        .is_ok()
    );
    assert!(
        fabricated(
            "github",
            "DELETE",
            copilot,
            Some(json!({"usernames": ["a"]}))
        )
        .is_err()
    );
}
