//! The AWS path at MSP shape, on moto: one secret per tenant read on demand, the sweep fanned
//! out per tenant a page at a time, each tenant's share of the step workers, batches whose
//! records fail alone, one finalizer per tenant, and expiring housekeeping items.

use crate::common::aws::{failures, leaver, receive, settle, tenant_text, webhook};
use passage::harness::{Cutoff, random_secret};
use passage_core::ports::{RunFilter, RunStore};
use passage_core::{RunId, RunState, StepState, TenantId};
use passage_hris::WebhookSecret;
use passage_lambda::fairness::FairShare;
use passage_lambda::jobs::{self, SWEEP_PAGE, TenantJob};
use passage_lambda::{AwsHost, HostSecrets};
use passage_moto::Moto;
use passage_sandbox::okta::{OktaConfig, OktaEmulator, SeedUser};
use std::time::Duration;

pub(crate) struct Stack {
    _moto: Moto,
    pub sdk: aws_config::SdkConfig,
    pub names: passage_aws::AwsNames,
    pub sqs: aws_sdk_sqs::Client,
    pub okta: OktaEmulator,
    pub prefix: String,
}

impl Stack {
    pub async fn new(name: &str) -> Self {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let names = passage_moto::provision(&sdk, name)
            .await
            .expect("provision");
        let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
        okta.knobs().set_latency(Duration::from_millis(2));
        let prefix = format!("{}/tenants/", names.table);
        Self {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            _moto: moto,
            sdk,
            names,
            okta,
            prefix,
        }
    }

    /// Writes (or rotates) one tenant's secret.
    pub async fn put_tenant(&self, tenant: &str, text: &str) {
        passage_moto::put_tenant_secret(&self.sdk, &self.prefix, tenant, text)
            .await
            .expect("tenant secret");
    }

    /// A tenant on this stack's Okta, with a fresh webhook secret.
    pub async fn add_tenant(&self, tenant: &str) -> WebhookSecret {
        let secret = random_secret();
        self.put_tenant(tenant, &tenant_text(tenant, &secret, &self.okta))
            .await;
        secret
    }

    /// One function instance of this deployment.
    pub async fn host(&self, ttl: Duration, share: FairShare) -> AwsHost {
        let secrets = HostSecrets {
            tenant_prefix: Some(self.prefix.clone()),
            tenant_ttl: Some(ttl),
            share,
            ..HostSecrets::default()
        };
        AwsHost::build(&self.sdk, self.names.clone(), secrets)
            .await
            .expect("host")
    }

    /// An Okta user for a leaver.
    pub fn seed(&self, login: &str) {
        self.okta.seed_user(SeedUser {
            groups: vec!["Engineering".into()],
            sessions: 1,
            ..SeedUser::new(login, "Lea", "Ver")
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_tenant_is_read_from_its_own_secret_and_a_broken_one_fails_alone() {
    let s = Stack::new("tsec").await;
    let acme = s.add_tenant("acme").await;
    let globex = s.add_tenant("globex").await;
    let host = s
        .host(Duration::from_millis(500), FairShare::default())
        .await;
    // Well ahead, and inside the date window a leaver event must fall in.
    let later = Cutoff::LastDay(
        jiff::Zoned::now()
            .date()
            .saturating_add(jiff::Span::new().days(90)),
    );
    let body = |t: &str, e: &str| leaver(t, &format!("{e}@example.com"), e, later_cutoff(&later));
    let (st, v) = webhook(&host, "acme", &acme, "a1", &body("acme", "E1")).await;
    assert_eq!(st, 202, "{v}");

    // A typo in globex's secret: globex's webhooks get a 503 naming the problem and the secret;
    // acme goes on.
    s.put_tenant(
        "globex",
        "[[tenants]]\nid = \"globex\"\nwebhok_secrets = [\"x\"]\n",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (st, v) = webhook(&host, "globex", &globex, "g1", &body("globex", "E2")).await;
    assert_eq!(st, 503, "{v}");
    assert_eq!(v["error"]["code"], "tenant_config_invalid", "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("{}globex", s.prefix)), "{v}");
    let (st, v) = webhook(&host, "acme", &acme, "a2", &body("acme", "E3")).await;
    assert_eq!(st, 202, "{v}");

    // A tenant added after the function started is served without a restart, even one that
    // was asked for (and unknown) a moment before.
    let initech = random_secret();
    let (st, _) = webhook(&host, "initech", &initech, "i0", &body("initech", "E4")).await;
    assert_eq!(st, 404);
    s.put_tenant("initech", &tenant_text("initech", &initech, &s.okta))
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (st, v) = webhook(&host, "initech", &initech, "i1", &body("initech", "E4")).await;
    assert_eq!(st, 202, "{v}");

    // Rotating acme's webhook secret: once the cache turns over, only the new one is accepted.
    let rotated = random_secret();
    s.put_tenant("acme", &tenant_text("acme", &rotated, &s.okta))
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (st, _) = webhook(&host, "acme", &acme, "a3", &body("acme", "E5")).await;
    assert_eq!(st, 401);
    let (st, v) = webhook(&host, "acme", &rotated, "a4", &body("acme", "E5")).await;
    assert_eq!(st, 202, "{v}");

    // The evidence function is built without the prefix: it can read no tenant at all.
    let evidence = AwsHost::build(&s.sdk, s.names.clone(), HostSecrets::default())
        .await
        .unwrap();
    assert!(evidence.tenants.is_none() && evidence.tenant_secrets.is_none());
    let (st, _) = webhook(&evidence, "acme", &rotated, "a5", &body("acme", "E6")).await;
    assert_eq!(st, 404);
    s.okta.shutdown().await;
}

fn later_cutoff(c: &Cutoff) -> Cutoff {
    match c {
        Cutoff::Immediate => Cutoff::Immediate,
        Cutoff::At(t) => Cutoff::At(*t),
        Cutoff::LastDay(d) => Cutoff::LastDay(*d),
    }
}

/// Works every job on the tenant-jobs queue (and the jobs they queue) directly, returning each
/// sweep page's report.
async fn drain_jobs(s: &Stack, host: &AwsHost) -> Vec<(TenantId, jobs::PageReport)> {
    let mut reports = Vec::new();
    loop {
        let event = receive(&s.sqs, &s.names.tenant_jobs_queue_url).await;
        if event.records.is_empty() {
            return reports;
        }
        for r in &event.records {
            let job: TenantJob = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            if let TenantJob::Sweep {
                tenant,
                phase,
                cursor,
            } = job
            {
                let report = jobs::sweep_page(host, &tenant, phase, cursor.as_deref())
                    .await
                    .unwrap();
                reports.push((tenant, report));
            }
        }
        settle(&s.sqs, &s.names.tenant_jobs_queue_url, &event, &[]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweep_fans_out_per_tenant_and_reads_one_page_per_job() {
    let s = Stack::new("tswp").await;
    let mut secrets = Vec::new();
    for t in ["t0", "t1", "t2"] {
        secrets.push(s.add_tenant(t).await);
    }
    let host = s.host(Duration::from_secs(60), FairShare::default()).await;
    // t0: more scheduled runs than one page, all due once every one is posted (with room for a
    // loaded machine: a run whose cutoff passes while the others are posted starts at intake);
    // t1: one; t2: none.
    let due = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(40);
    let many = SWEEP_PAGE + 5;
    for i in 0..many {
        let e = format!("E{i}");
        let (st, v) = webhook(
            &host,
            "t0",
            &secrets[0],
            &e,
            &leaver("t0", &format!("{e}@x.com"), &e, Cutoff::At(due)),
        )
        .await;
        assert_eq!(st, 202, "{v}");
    }
    let (st, _) = webhook(
        &host,
        "t1",
        &secrets[1],
        "only",
        &leaver("t1", "o@x.com", "O1", Cutoff::At(due)),
    )
    .await;
    assert_eq!(st, 202);
    while jiff::Timestamp::now() <= due {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Those whose cutoff passed while the others were being posted started at intake.
    let mut scheduled = 0;
    for t in ["t0", "t1"] {
        scheduled += host
            .store
            .list_runs(&RunFilter {
                tenant: Some(TenantId::new(t)),
                state: Some(RunState::Scheduled),
                ..RunFilter::default()
            })
            .await
            .unwrap()
            .len();
    }
    assert!(
        scheduled > SWEEP_PAGE,
        "more than a page left for the sweep: {scheduled}"
    );

    let out = passage_lambda::cutoff::handle(&host, serde_json::json!({"sweep": true}))
        .await
        .unwrap();
    assert_eq!(out["sweep_jobs"], 3, "one job per tenant: {out}");
    let reports = drain_jobs(&s, &host).await;
    // No job read more than one page, however many runs its tenant has open.
    assert!(
        reports.iter().all(|(_, r)| r.index_items <= SWEEP_PAGE),
        "{reports:?}"
    );
    let started: usize = reports.iter().map(|(_, r)| r.started).sum();
    assert_eq!(started, scheduled, "{reports:?}");
    let t0_jobs = reports.iter().filter(|(t, _)| t.as_str() == "t0").count();
    assert!(
        t0_jobs >= 5,
        "two due pages, two running pages, one blocked: {t0_jobs}"
    );
    let t2_jobs = reports.iter().filter(|(t, _)| t.as_str() == "t2").count();
    assert_eq!(t2_jobs, 3, "an idle tenant costs one empty page per phase");
    let runs = host
        .store
        .list_runs(&RunFilter {
            tenant: Some(TenantId::new("t0")),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert!(
        runs.iter().all(|r| r.state == RunState::Running),
        "all started"
    );
    // A second sweep finds them running and re-queues their ready steps, a page at a time.
    passage_lambda::cutoff::handle(&host, serde_json::json!({"sweep": true}))
        .await
        .unwrap();
    let reports = drain_jobs(&s, &host).await;
    assert!(reports.iter().all(|(_, r)| r.index_items <= SWEEP_PAGE));
    assert!(reports.iter().map(|(_, r)| r.requeued).sum::<usize>() > many);
    s.okta.shutdown().await;
}

/// Steps of `tenant` waiting on the step queue, by run.
async fn leavers(
    s: &Stack,
    host: &AwsHost,
    tenant: &str,
    secret: &WebhookSecret,
    n: usize,
) -> Vec<RunId> {
    let mut runs = Vec::new();
    for i in 0..n {
        let login = format!("{tenant}-{i}@example.com");
        s.seed(&login);
        let id = format!("{tenant}-{i}");
        let (st, v) = webhook(
            host,
            tenant,
            secret,
            &id,
            &leaver(tenant, &login, &id, Cutoff::Immediate),
        )
        .await;
        assert_eq!(st, 202, "{v}");
        runs.push(RunId::new(v["run_id"].as_str().unwrap()));
    }
    runs
}

async fn attempts(host: &AwsHost, runs: &[RunId]) -> u32 {
    let mut n = 0;
    for r in runs {
        n += host
            .store
            .steps(r)
            .await
            .unwrap()
            .iter()
            .map(|s| s.attempts)
            .sum::<u32>();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_at_its_share_waits_while_other_tenants_are_worked() {
    let s = Stack::new("tfair").await;
    let busy = s.add_tenant("busy").await;
    let quiet = s.add_tenant("quiet").await;
    let share = FairShare {
        step_slots: 2,
        step_wait: Duration::from_secs(1),
        finalize_wait: Duration::from_secs(1),
    };
    let host = s.host(Duration::from_secs(60), share).await;
    let busy_runs = leavers(&s, &host, "busy", &busy, 6).await;
    let quiet_runs = leavers(&s, &host, "quiet", &quiet, 1).await;
    // Two of busy's steps are in flight elsewhere: its share is taken.
    let slots = passage_aws::TenantSlots::new((*host.store).clone());
    for _ in 0..2 {
        slots
            .acquire("step#busy", 2, "elsewhere", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("a free slot");
    }
    let mut deferred = 0;
    for _ in 0..4 {
        let event = receive(&s.sqs, &s.names.step_queue_url).await;
        if event.records.is_empty() {
            break;
        }
        let response =
            passage_lambda::batch::handle(&host, event.clone(), &s.names.step_queue_url).await;
        let failed = failures(&response);
        assert!(
            failed.is_empty(),
            "turned-away records are not failures: {failed:?}"
        );
        settle(&s.sqs, &s.names.step_queue_url, &event, &failed).await;
        deferred += event.records.len();
    }
    assert_eq!(
        attempts(&host, &busy_runs).await,
        0,
        "busy is at its share: nothing attempted"
    );
    assert!(
        attempts(&host, &quiet_runs).await >= 1,
        "quiet's step was worked"
    );
    // busy's steps come back as fresh messages, each received once so far.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let again = receive(&s.sqs, &s.names.step_queue_url).await;
    assert!(!again.records.is_empty() && deferred > again.records.len() / 2);
    for r in &again.records {
        assert_eq!(
            r.attributes
                .get("ApproximateReceiveCount")
                .map(String::as_str),
            Some("1")
        );
    }
    s.okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_out_of_time_goes_back_alone() {
    let s = Stack::new("tslow").await;
    let fast = s.add_tenant("fast").await;
    // "slow" points at an Okta of its own that answers after three seconds.
    let slow_okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    slow_okta.knobs().set_latency(Duration::from_secs(3));
    let slow = random_secret();
    s.put_tenant("slow", &tenant_text("slow", &slow, &slow_okta))
        .await;
    let host = s.host(Duration::from_secs(60), FairShare::default()).await;
    slow_okta.seed_user(SeedUser::new("s@example.com", "S", "Low"));
    let slow_runs = leavers(&s, &host, "fast", &fast, 1).await;
    let (st, v) = webhook(
        &host,
        "slow",
        &slow,
        "s1",
        &leaver("slow", "s@example.com", "S1", Cutoff::Immediate),
    )
    .await;
    assert_eq!(st, 202, "{v}");
    let slow_run = RunId::new(v["run_id"].as_str().unwrap());
    let mut event = receive(&s.sqs, &s.names.step_queue_url).await;
    let more = receive(&s.sqs, &s.names.step_queue_url).await;
    event.records.extend(more.records);
    assert_eq!(event.records.len(), 2);
    let started = std::time::Instant::now();
    let response = passage_lambda::batch::handle_within(
        &host,
        event.clone(),
        &s.names.step_queue_url,
        Duration::from_millis(1500),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the batch kept its budget"
    );
    let failed = failures(&response);
    let slow_id = event
        .records
        .iter()
        .find(|r| r.body.as_deref().unwrap().contains(slow_run.as_str()))
        .and_then(|r| r.message_id.clone())
        .unwrap();
    assert_eq!(failed, vec![slow_id], "only the slow record goes back");
    let fast_steps = host.store.steps(&slow_runs[0]).await.unwrap();
    assert!(
        fast_steps.iter().any(|s| s.state == StepState::Verified),
        "its batch mate's result stands: {:?}",
        fast_steps.iter().map(|s| s.state).collect::<Vec<_>>()
    );
    slow_okta.shutdown().await;
    s.okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_finalizer_per_tenant_and_housekeeping_items_expire() {
    let s = Stack::new("tfin").await;
    let acme = s.add_tenant("acme").await;
    let host = s.host(Duration::from_secs(60), FairShare::default()).await;
    let runs = leavers(&s, &host, "acme", &acme, 2).await;
    // Work the steps until no step of either run is in progress (a step that must wait comes
    // back later as a fresh, delayed message, so an empty receive is not the end).
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while std::time::Instant::now() < deadline {
        let mut busy = false;
        for run in &runs {
            let steps = host.store.steps(run).await.unwrap();
            busy |= steps.iter().any(|st| st.state.is_in_progress());
        }
        if !busy {
            break;
        }
        let event = receive(&s.sqs, &s.names.step_queue_url).await;
        if event.records.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let r = passage_lambda::batch::handle(&host, event.clone(), &s.names.step_queue_url).await;
        settle(&s.sqs, &s.names.step_queue_url, &event, &failures(&r)).await;
    }
    // Another instance is closing one of acme's runs right now: the finalizer waits its turn
    // and signs nothing.
    let slots = passage_aws::TenantSlots::new((*host.store).clone());
    let held = slots
        .acquire(
            "finalize#acme",
            1,
            "other-finalizer",
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    let mut event = receive(&s.sqs, &s.names.finalize_queue_url).await;
    for _ in 0..40 {
        if !event.records.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        event = receive(&s.sqs, &s.names.finalize_queue_url).await;
    }
    assert!(!event.records.is_empty(), "no finalization queued");
    let r = passage_lambda::batch::handle(&host, event.clone(), &s.names.finalize_queue_url).await;
    assert!(failures(&r).is_empty());
    settle(&s.sqs, &s.names.finalize_queue_url, &event, &[]).await;
    for run in &runs {
        assert!(
            host.store.run(run).await.unwrap().unwrap().bundle.is_none(),
            "no signature made"
        );
    }
    // Its turn: both close, one after the other, on one unbroken chain.
    slots.release(&held).await;
    for _ in 0..40 {
        let event = receive(&s.sqs, &s.names.finalize_queue_url).await;
        let r =
            passage_lambda::batch::handle(&host, event.clone(), &s.names.finalize_queue_url).await;
        settle(&s.sqs, &s.names.finalize_queue_url, &event, &failures(&r)).await;
        let closed = futures::future::join_all(runs.iter().map(|r| host.store.run(r))).await;
        if closed
            .iter()
            .all(|r| r.as_ref().unwrap().as_ref().unwrap().state == RunState::Closed)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut sequences = Vec::new();
    for run in &runs {
        let run = host.store.run(run).await.unwrap().unwrap();
        assert_eq!(run.state, RunState::Closed);
        sequences.push(run.bundle.unwrap().sequence);
    }
    sequences.sort();
    assert_eq!(sequences, vec![1, 2]);

    // Housekeeping items carry expires_at; runs and chain heads never do.
    let ddb = aws_sdk_dynamodb::Client::new(&s.sdk);
    let item = |pk: String, sk: &str| {
        let ddb = ddb.clone();
        let table = s.names.table.clone();
        let sk = sk.to_owned();
        async move {
            ddb.get_item()
                .table_name(table)
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
                .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk))
                .send()
                .await
                .unwrap()
                .item
                .unwrap_or_default()
        }
    };
    let lock = item("OPEN#acme#acme-0".into(), "LOCK").await;
    assert!(
        lock.contains_key("expires_at"),
        "an ended run's lock expires: {lock:?}"
    );
    let slot = item("SLOT#finalize#acme".into(), "0").await;
    let run = item(format!("RUN#{}", runs[0]), "META").await;
    let head = item("CHAIN#acme".into(), "HEAD").await;
    assert!(!run.contains_key("expires_at") && !head.contains_key("expires_at"));
    assert!(
        slot.is_empty() || slot.contains_key("expires_at"),
        "{slot:?}"
    );
    s.okta.shutdown().await;
}
