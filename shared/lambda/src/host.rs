use anyhow::{Context, Result};
use async_trait::async_trait;
use passage_aws::{
    AwsNames, DynamoPacer, DynamoStore, KmsVault, S3Evidence, SchedulerTimer, SqsQueue,
    secret_string,
};
use passage_config::{Pacing, Wiring};
use passage_core::engine::{Engine, EngineSettings, Ports};
use passage_core::ports::{EvidenceError, SystemClock};
use passage_core::secret::Secret;
use passage_core::{RunId, TenantId};
use passage_http::{ApiState, FileDelivery, Presigner};
use std::sync::Arc;
use std::time::Duration;

/// Everything a function needs, built once per cold start.
#[derive(Clone)]
pub struct AwsHost {
    pub engine: Engine,
    pub queue: Arc<SqsQueue>,
    pub evidence: Arc<S3Evidence>,
    pub names: AwsNames,
    pub link_key: Secret,
    /// Signs and checks the managers' confirmation links (its own secret, so the auditor link
    /// key stays with the evidence function).
    pub confirm_key: Secret,
    pub operators: passage_http::Operators,
    /// Tenants with an HR system API, compared with Passage by the hourly reconcile.
    pub reconcile_tenants: Vec<TenantId>,
}

impl AwsHost {
    /// Reads names from the environment and the tenants' configuration and link key from
    /// Secrets Manager (`TENANTS_SECRET_ARN`, `LINK_KEY_SECRET_ARN`).
    pub async fn from_env() -> Result<Self> {
        let sdk = passage_aws::sdk_config().await;
        let names = AwsNames::from_env()?;
        let tenants_arn = std::env::var("TENANTS_SECRET_ARN")
            .context("environment variable TENANTS_SECRET_ARN is not set")?;
        let tenants = secret_string(&sdk, &tenants_arn).await?;
        let optional_secret = |var: &'static str| {
            let sdk = sdk.clone();
            async move {
                match std::env::var(var) {
                    Ok(arn) => {
                        Ok::<_, anyhow::Error>(Secret::new(secret_string(&sdk, &arn).await?))
                    }
                    // Functions that issue or check no such links run without one.
                    Err(_) => Ok(Secret::new(String::new())),
                }
            }
        };
        let link_key = optional_secret("LINK_KEY_SECRET_ARN").await?;
        let confirm_key = optional_secret("CONFIRM_KEY_SECRET_ARN").await?;
        Self::build_with(&sdk, names, &tenants, link_key, confirm_key).await
    }

    /// Wires the AWS adapters to an engine, without confirmation links.
    pub async fn build(
        sdk: &aws_config::SdkConfig,
        names: AwsNames,
        tenants_toml: &str,
        link_key: Secret,
    ) -> Result<Self> {
        Self::build_with(
            sdk,
            names,
            tenants_toml,
            link_key,
            Secret::new(String::new()),
        )
        .await
    }

    /// Wires the AWS adapters to an engine.
    pub async fn build_with(
        sdk: &aws_config::SdkConfig,
        names: AwsNames,
        tenants_toml: &str,
        link_key: Secret,
        confirm_key: Secret,
    ) -> Result<Self> {
        let Wiring {
            integrations,
            operators,
            reconcile,
        } = passage_config::Config::parse(tenants_toml)
            .context("the tenants secret is not valid Passage configuration")?
            .wiring(pacing(sdk, &names))?;
        let queue = Arc::new(SqsQueue::new(sdk, &names));
        let evidence = Arc::new(S3Evidence::new(sdk, &names));
        let store = Arc::new(DynamoStore::new(sdk, &names));
        // Each tenant's key is looked up when it signs; nothing here calls KMS.
        let keys = KmsVault::new(sdk, &names);
        let ports = Ports {
            store: store.clone(),
            queue: queue.clone(),
            keys: Arc::new(keys),
            timestamps: crate::timestamps_from_env()?,
            evidence: evidence.clone(),
            timer: Arc::new(SchedulerTimer::new(sdk, &names)),
            clock: Arc::new(SystemClock),
            connectors: integrations.connectors,
            tenants: integrations.tenants,
            hr: integrations.hr,
            notifier: integrations.notifier,
            audit: store,
        };
        Ok(Self {
            engine: Engine::new(ports, engine_settings(&confirm_key)),
            queue,
            evidence,
            names,
            link_key,
            confirm_key,
            operators,
            reconcile_tenants: reconcile,
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
        // Below the queues' redrive MaxReceiveCount (100 in infra/template.yaml), so the
        // engine records the failure and blocks the run before SQS moves the message; far
        // above the engine's own limit on interrupted attempts, which decides first.
        max_receives: 99,
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
