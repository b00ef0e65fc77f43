use crate::fairness::{FairShare, Fairness};
use crate::tenants::{LazyTenants, TENANT_CACHE_TTL};
use anyhow::{Context, Result};
use async_trait::async_trait;
use passage_aws::{
    AwsNames, DynamoPacer, DynamoStore, KmsVault, S3Evidence, SchedulerTimer, SqsQueue,
    TenantSecrets, secret_string,
};
use passage_connectors::Pacing;
use passage_core::engine::{Engine, EngineSettings, Ports};
use passage_core::ports::{
    EvidenceError, NoHrSources, StaticTenants, SystemClock, TenantDirectory,
};
use passage_core::secret::Secret;
use passage_core::{RunId, TenantId};
use passage_http::{ApiState, FileDelivery, Presigner};
use std::sync::Arc;
use std::time::Duration;

/// Where a host's configuration comes from.
#[derive(Clone)]
pub struct HostSecrets {
    /// Prefix of the per-tenant secrets (`TENANT_SECRET_PREFIX`, e.g. `passage/prod/tenants/`);
    /// `None` for a function that serves no tenant (the evidence function).
    pub tenant_prefix: Option<String>,
    /// The settings text: `[[operators]]` and `[notify]` (`SETTINGS_SECRET_ARN`); empty for none.
    pub settings: String,
    pub link_key: Secret,
    pub confirm_key: Secret,
    /// How long a tenant read from its secret is used (`TENANT_CACHE_SECONDS`).
    pub tenant_ttl: Option<Duration>,
    /// Each tenant's share of the workers (`TENANT_STEP_SLOTS`).
    pub share: FairShare,
}

impl Default for HostSecrets {
    /// No tenants, no operators, no link keys.
    fn default() -> Self {
        Self {
            tenant_prefix: None,
            settings: String::new(),
            link_key: Secret::new(String::new()),
            confirm_key: Secret::new(String::new()),
            tenant_ttl: None,
            share: FairShare::default(),
        }
    }
}

/// Everything a function needs, built once per cold start.
#[derive(Clone)]
pub struct AwsHost {
    pub engine: Engine,
    pub queue: Arc<SqsQueue>,
    pub evidence: Arc<S3Evidence>,
    /// The store itself, for the per-tenant index queries of the sweep.
    pub store: Arc<DynamoStore>,
    pub names: AwsNames,
    pub link_key: Secret,
    /// Signs and checks the managers' confirmation links (its own secret, so the auditor link
    /// key stays with the evidence function).
    pub confirm_key: Secret,
    pub operators: passage_http::Operators,
    /// Tenants, each read from its own secret on demand (`None` where no tenant is served).
    pub tenants: Option<Arc<LazyTenants>>,
    /// The tenants' secrets, listed by the periodic jobs to fan their work out per tenant.
    pub tenant_secrets: Option<TenantSecrets>,
    /// Each tenant's share of the step workers; one finalizer per tenant.
    pub fairness: Arc<Fairness>,
}

impl AwsHost {
    /// Reads names from the environment and the settings and link keys from Secrets Manager;
    /// tenants are read later, each when first needed.
    pub async fn from_env() -> Result<Self> {
        let sdk = passage_aws::sdk_config().await;
        let names = AwsNames::from_env()?;
        let optional_secret = |var: &'static str| {
            let sdk = sdk.clone();
            async move {
                match std::env::var(var) {
                    Ok(arn) if !arn.is_empty() => {
                        Ok::<_, anyhow::Error>(Some(secret_string(&sdk, &arn).await?))
                    }
                    // Functions that issue or check no such links run without one.
                    _ => Ok(None),
                }
            }
        };
        let tenant_ttl = match std::env::var("TENANT_CACHE_SECONDS") {
            Ok(v) => Some(Duration::from_secs(v.trim().parse().with_context(
                || format!("TENANT_CACHE_SECONDS is {v:?}, not a number of seconds"),
            )?)),
            Err(_) => None,
        };
        let mut share = FairShare::default();
        if let Ok(v) = std::env::var("TENANT_STEP_SLOTS") {
            share.step_slots =
                v.trim().parse().ok().filter(|n| *n > 0).with_context(|| {
                    format!("TENANT_STEP_SLOTS is {v:?}, not a whole number > 0")
                })?;
        }
        let secrets = HostSecrets {
            tenant_prefix: std::env::var("TENANT_SECRET_PREFIX")
                .ok()
                .filter(|p| !p.is_empty()),
            settings: optional_secret("SETTINGS_SECRET_ARN")
                .await?
                .unwrap_or_default(),
            link_key: Secret::new(
                optional_secret("LINK_KEY_SECRET_ARN")
                    .await?
                    .unwrap_or_default(),
            ),
            confirm_key: Secret::new(
                optional_secret("CONFIRM_KEY_SECRET_ARN")
                    .await?
                    .unwrap_or_default(),
            ),
            tenant_ttl,
            share,
        };
        Self::build(&sdk, names, secrets).await
    }

    /// Wires the AWS adapters to an engine.
    pub async fn build(
        sdk: &aws_config::SdkConfig,
        names: AwsNames,
        secrets: HostSecrets,
    ) -> Result<Self> {
        let settings = passage_config::resolve_settings(&secrets.settings)
            .context("the settings secret is not valid Passage configuration")?;
        let notifier = passage_notify::ChannelNotifier::new(&settings.notify)
            .context("notify settings are unusable")?;
        let tenant_secrets = secrets
            .tenant_prefix
            .as_ref()
            .map(|prefix| TenantSecrets::new(sdk, prefix.clone()));
        let tenants = tenant_secrets.as_ref().map(|s| {
            Arc::new(LazyTenants::new(
                Arc::new(s.clone()),
                secrets.tenant_ttl.unwrap_or(TENANT_CACHE_TTL),
                pacing(sdk, &names),
            ))
        });
        let queue = Arc::new(SqsQueue::new(sdk, &names));
        let evidence = Arc::new(S3Evidence::new(sdk, &names));
        let store = Arc::new(DynamoStore::new(sdk, &names));
        // Each tenant's key is looked up when it signs; nothing here calls KMS.
        let keys = KmsVault::new(sdk, &names);
        let (directory, connectors, hr): (Arc<dyn TenantDirectory>, _, _) = match &tenants {
            Some(t) => (t.clone(), t.clone() as _, t.clone() as _),
            // A function without tenants knows none, and so can act for none.
            None => {
                let none = Arc::new(passage_connectors::Registry::new(Default::default()));
                (
                    Arc::new(StaticTenants::new(vec![])),
                    none as _,
                    Arc::new(NoHrSources) as _,
                )
            }
        };
        let ports = Ports {
            store: store.clone(),
            queue: queue.clone(),
            keys: Arc::new(keys),
            timestamps: crate::timestamps_from_env()?,
            evidence: evidence.clone(),
            timer: Arc::new(SchedulerTimer::new(sdk, &names)),
            clock: Arc::new(SystemClock),
            connectors,
            tenants: directory,
            hr,
            notifier: Arc::new(notifier),
            audit: store.clone(),
        };
        Ok(Self {
            engine: Engine::new(ports, engine_settings(&secrets.confirm_key)),
            queue,
            evidence,
            store: store.clone(),
            names,
            link_key: secrets.link_key,
            confirm_key: secrets.confirm_key,
            operators: settings.operators,
            tenants,
            tenant_secrets,
            fairness: Arc::new(Fairness::new(store, secrets.share)),
        })
    }

    /// The HTTP API as the Lambda functions serve it: the shared router, with the caller's IAM
    /// principal (verified by API Gateway's IAM authorizer) handed to the operator API.
    pub fn app(&self) -> axum::Router {
        passage_http::router(self.api_state())
            .layer(axum::middleware::from_fn(crate::iam::caller_from_context))
    }

    /// The HTTP router's state: bundle files are served by redirect to a short-lived S3 URL.
    pub fn api_state(&self) -> ApiState {
        ApiState {
            engine: self.engine.clone(),
            link_key: self.link_key.clone(),
            confirm_key: self.confirm_key.clone(),
            files: FileDelivery::Redirect(Arc::new(S3Presigner(self.evidence.clone()))),
            operators: self.operators.clone(),
        }
    }
}

/// How concurrent invocations pace provider calls: budgets in the table, shared by every
/// invocation. A call waits in place for its turn only briefly, since a waiting invocation is
/// billed and the step function handles a batch of steps within one timeout; a longer wait puts
/// the step back on its queue with that delay (an SQS visibility change), where it costs
/// nothing until its turn. See docs/pacing.md.
fn pacing(sdk: &aws_config::SdkConfig, names: &AwsNames) -> Pacing {
    Pacing::new(Arc::new(DynamoPacer::new(sdk, names)), LAMBDA_PATIENCE)
}

/// The longest a call waits in place for its turn in a Lambda invocation.
const LAMBDA_PATIENCE: Duration = Duration::from_secs(3);

/// The engine as every function runs it: leases and receive limits set against the Lambda and
/// SQS settings in infra/template.yaml.
fn engine_settings(confirm_key: &Secret) -> EngineSettings {
    EngineSettings {
        worker_id: format!("lambda-{}", uuid::Uuid::new_v4().simple()),
        // Longer than the step function's timeout, so a live invocation never loses it.
        lease: Duration::from_secs(90),
        // Below the queues' redrive MaxReceiveCount (100 in infra/template.yaml), so the engine
        // records the failure and blocks the run before SQS moves the message; far above the
        // engine's own limit on interrupted attempts, which decides first. A step merely waiting
        // is sent anew and counts nothing.
        max_receives: 95,
        // PUBLIC_URL (the API's address) turns on the manager's confirmation links in
        // hand-over reminders, signed with the confirmation key.
        confirm_links: std::env::var("PUBLIC_URL")
            .ok()
            .filter(|u| !u.is_empty() && !confirm_key.expose().is_empty())
            .map(|base_url| passage_config::confirm_links(base_url, confirm_key.clone())),
        ..EngineSettings::default()
    }
}

struct S3Presigner(Arc<S3Evidence>);

#[async_trait]
impl Presigner for S3Presigner {
    async fn presign(
        &self,
        tenant: &TenantId,
        run: &RunId,
        path: &str,
    ) -> Result<String, EvidenceError> {
        // Short: the auditor's own link is the long-lived credential, checked on every click.
        self.0
            .presign_get(tenant, run, path, Duration::from_secs(60))
            .await
    }
}
