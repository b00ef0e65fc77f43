//! The run store on DynamoDB: one table, string keys `pk`/`sk`, each record a JSON document
//! (`doc`) plus the attributes keys and indexes need.
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | run | `RUN#<id>` | `META` | `doc`, `version`, `state`, `tenant`, `employee_id`, `tenant_employee`, `cutoff_ms`, `created_ms`, `idempotency_key`, `open_key` (`<state>#<tenant>`, only while scheduled, running or blocked) |
//! | step | `RUN#<id>` | `STEP#<key>` | `doc`, `version`, `ord` (position in the plan) |
//! | attempt | `RUN#<id>` | `ATT#<step>#<number:06>` | `doc` |
//! | event | `RUN#<id>` | `EVT#<at ms:013>#<uuid v7>` | `doc` |
//! | idempotency | `IDEM#<tenant>#<key>` | `IDEM` | `run_id`, `expires_at` |
//! | open-run lock | `OPEN#<tenant>#<employee>` | `LOCK` | `run_id`, `expires_at` (once its run has ended) |
//! | chain head | `CHAIN#<tenant>` | `HEAD` | `sequence`, `manifest_sha256` |
//! | learned secret | `SECRET#<tenant>` | `<vendor>` | `secret`, `at_ms` |
//! | go-live guard ledger | `GUARD#<tenant>` | `LEDGER` | `doc` (recent terminations), `version` (see `guard.rs`) |
//! | audit event | `AUDIT#<tenant>` | `<at ms:013>#<uuid v7>` | `doc` (see `audit.rs`) |
//!
//! Indexes (sparse: only run items carry their key attributes):
//! - `gsi_open`: `open_key` / `cutoff_ms`, keys only: one tenant's scheduled, running or blocked
//!   runs, a page at a time ([`DynamoStore::open_page`]). Keyed by state *and* tenant, so no
//!   key value is shared by every tenant, and a tenant's sweep reads only its own runs.
//! - `gsi_tenant`: `tenant` / `created_ms`, all attributes: `list_runs` by tenant.
//! - `gsi_employee`: `tenant_employee` (`<tenant>#<employee_id>`) / `created_ms`, all
//!   attributes: `list_runs` by tenant and employee.
//!
//! `list_runs` without a tenant, `due_runs` and `open_runs` span every tenant and so scan the
//! table: they serve tooling and the store's contract suite. The Lambda functions never call
//! them (they sweep per tenant, through `gsi_open`), and no function's role may Scan.
//! Index reads are eventually consistent on DynamoDB; reads by run are strongly consistent.
//!
//! Items that need not live forever carry `expires_at` (epoch seconds) and DynamoDB's TTL
//! deletes them: idempotency records, the open-run locks of ended runs, and the tenant slots of
//! [`crate::TenantSlots`]. Runs, steps, attempts, events and chain heads never expire.

use crate::{AwsNames, error_text};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use jiff::Timestamp;
use passage_core::ports::{ChainHead, Commit, InsertOutcome, RunFilter, RunStore, StoreError};
use passage_core::secret::Secret;
use passage_core::{AttemptRecord, Run, RunEvent, RunId, RunState, Step, TenantId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

pub const GSI_OPEN: &str = "gsi_open";
pub const GSI_TENANT: &str = "gsi_tenant";
pub const GSI_EMPLOYEE: &str = "gsi_employee";

/// DynamoDB refuses transactions of more items.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Idempotency keys longer than this are stored as their SHA-256 (keys are at most 2 KiB).
const MAX_PLAIN_KEY: usize = 512;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// How long an idempotency record outlives its delivery.
const IDEMPOTENCY_TTL_SECONDS: i64 = 30 * 86_400;

#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl DynamoStore {
    pub fn new(config: &SdkConfig, names: &AwsNames) -> Self {
        Self::with_table(config, &names.table)
    }

    pub fn with_table(config: &SdkConfig, table: &str) -> Self {
        Self::from_client(Client::new(config), table)
    }

    pub fn from_client(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

// --- keys and attributes ---------------------------------------------------------------------

pub(crate) fn run_pk(id: &RunId) -> String {
    format!("RUN#{id}")
}

fn step_sk(key: &str) -> String {
    format!("STEP#{key}")
}

fn idem_pk(tenant: &TenantId, key: &str) -> String {
    if key.len() > MAX_PLAIN_KEY {
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        format!("IDEM#{tenant}#sha256:{digest}")
    } else {
        format!("IDEM#{tenant}#{key}")
    }
}

fn chain_pk(tenant: &TenantId) -> String {
    format!("CHAIN#{tenant}")
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn to_doc<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encoding a record: {e}")))
}

fn from_doc<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let doc = string(item, "doc")?;
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("{}: {e}", describe(item))))
}

pub(crate) fn describe(item: &Item) -> String {
    let part = |k: &str| match item.get(k) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => "?".into(),
    };
    format!("item {}/{}", part("pk"), part("sk"))
}

pub(crate) fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "{} has no string attribute {name}",
            describe(item)
        ))),
    }
}

pub(crate) fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| {
            StoreError::Corrupt(format!("{}: {name} = {v} is out of range", describe(item)))
        }),
        _ => Err(StoreError::Corrupt(format!(
            "{} has no number attribute {name}",
            describe(item)
        ))),
    }
}

pub(crate) fn run_id_of(item: &Item) -> Result<RunId, StoreError> {
    let pk = string(item, "pk")?;
    pk.strip_prefix("RUN#")
        .map(RunId::new)
        .ok_or_else(|| StoreError::Corrupt(format!("{pk} is not a run key")))
}

/// The `gsi_open` key of a tenant's runs in one open state.
pub(crate) fn open_key(state: RunState, tenant: &TenantId) -> String {
    format!("{}#{tenant}", state.as_str())
}

/// The run's item: its document plus the attributes the indexes need. `open_key` exists only
/// while the run is scheduled, running or blocked, so `gsi_open` holds only those.
fn run_item(run: &Run) -> Result<Item, StoreError> {
    let mut item = key(run_pk(&run.id), "META");
    item.insert("doc".into(), s(to_doc(run)?));
    item.insert("version".into(), n(run.version));
    item.insert("state".into(), s(run.state.as_str()));
    item.insert("tenant".into(), s(run.tenant.as_str()));
    item.insert("employee_id".into(), s(&run.subject.employee_id));
    item.insert(
        "tenant_employee".into(),
        s(format!("{}#{}", run.tenant, run.subject.employee_id)),
    );
    item.insert("cutoff_ms".into(), n(run.cutoff.at.as_millisecond()));
    item.insert("created_ms".into(), n(run.created_at.as_millisecond()));
    item.insert("idempotency_key".into(), s(&run.idempotency_key));
    if matches!(
        run.state,
        RunState::Scheduled | RunState::Running | RunState::Blocked
    ) {
        item.insert("open_key".into(), s(open_key(run.state, &run.tenant)));
    }
    Ok(item)
}

fn step_item(step: &Step, ord: usize) -> Result<Item, StoreError> {
    let mut item = key(run_pk(&step.run_id), &step_sk(step.key.as_str()));
    item.insert("doc".into(), s(to_doc(step)?));
    item.insert("version".into(), n(step.version));
    item.insert("ord".into(), n(ord));
    Ok(item)
}

fn attempt_item(a: &AttemptRecord) -> Result<Item, StoreError> {
    let sk = format!("ATT#{}#{:06}", a.step_key, a.number);
    let mut item = key(run_pk(&a.run_id), &sk);
    item.insert("doc".into(), s(to_doc(a)?));
    Ok(item)
}

/// Events sort by their time, then by write order (v7 UUIDs from one process increase).
fn event_item(e: &RunEvent) -> Result<Item, StoreError> {
    let ms = e.at.as_millisecond().max(0);
    let sk = format!("EVT#{ms:013}#{}", uuid::Uuid::now_v7().simple());
    let mut item = key(run_pk(&e.run_id), &sk);
    item.insert("doc".into(), s(to_doc(e)?));
    Ok(item)
}

// --- transactions --------------------------------------------------------------------------

/// One item of a transaction and how to name it when its condition fails.
struct TxItem {
    item: TransactWriteItem,
    label: String,
}

struct PutSpec<'a> {
    item: Item,
    condition: Option<&'a str>,
    names: &'a [(&'a str, &'a str)],
    values: Vec<(&'a str, AttributeValue)>,
    /// Have a failed condition return the item as it is (saves a read).
    return_old: bool,
}

fn put(table: &str, spec: PutSpec<'_>, label: String) -> Result<TxItem, StoreError> {
    let mut b = Put::builder().table_name(table).set_item(Some(spec.item));
    if let Some(c) = spec.condition {
        b = b.condition_expression(c);
    }
    if spec.return_old {
        b = b.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    for (k, v) in spec.names {
        b = b.expression_attribute_names(*k, *v);
    }
    for (k, v) in spec.values {
        b = b.expression_attribute_values(k, v);
    }
    let put = b
        .build()
        .map_err(|e| StoreError::Backend(format!("building a put: {e}")))?;
    Ok(TxItem {
        item: TransactWriteItem::builder().put(put).build(),
        label,
    })
}

fn new_item(table: &str, item: Item, label: String) -> Result<TxItem, StoreError> {
    put(
        table,
        PutSpec {
            item,
            condition: Some("attribute_not_exists(pk)"),
            names: &[],
            values: vec![],
            return_old: false,
        },
        label,
    )
}

fn plain_item(table: &str, item: Item, label: String) -> Result<TxItem, StoreError> {
    put(
        table,
        PutSpec {
            item,
            condition: None,
            names: &[],
            values: vec![],
            return_old: false,
        },
        label,
    )
}

/// The transaction items of a commit: each run and step written only at the version the commit
/// read, attempts and events added, and the chain head moved only from the head it expects.
fn commit_items(table: &str, commit: &Commit) -> Result<Vec<TxItem>, StoreError> {
    let mut items = Vec::new();
    for run in &commit.runs {
        items.push(run_put(table, run)?);
    }
    for st in &commit.steps {
        items.push(step_update(table, st)?);
    }
    let mut attempts = HashSet::new();
    for a in &commit.attempts {
        // One transaction may not touch an item twice; the first record of a repeat wins.
        if attempts.insert((&a.run_id, &a.step_key, a.number)) {
            items.push(plain_item(
                table,
                attempt_item(a)?,
                format!("attempt {} of {}", a.number, a.step_key),
            )?);
        }
    }
    for e in &commit.events {
        items.push(plain_item(
            table,
            event_item(e)?,
            format!("event {}", e.kind),
        )?);
    }
    if let Some((tenant, expected, next)) = &commit.chain {
        items.push(chain_put(table, tenant, expected, next)?);
    }
    Ok(items)
}

fn run_put(table: &str, run: &Run) -> Result<TxItem, StoreError> {
    let mut stored = run.clone();
    stored.version = run.version + 1;
    put(
        table,
        PutSpec {
            item: run_item(&stored)?,
            condition: Some("#v = :expected"),
            names: &[("#v", "version")],
            values: vec![(":expected", n(run.version))],
            return_old: false,
        },
        format!("run {}", run.id),
    )
}

/// An update, not a put: it keeps the step's `ord`, which the commit does not know.
fn step_update(table: &str, st: &Step) -> Result<TxItem, StoreError> {
    let mut stored = st.clone();
    stored.version = st.version + 1;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(run_pk(&st.run_id), &step_sk(st.key.as_str()))))
        .update_expression("SET #doc = :doc, #v = :next")
        .condition_expression("#v = :expected")
        .expression_attribute_names("#doc", "doc")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":doc", s(to_doc(&stored)?))
        .expression_attribute_values(":next", n(stored.version))
        .expression_attribute_values(":expected", n(st.version))
        .build()
        .map_err(|e| StoreError::Backend(format!("building an update: {e}")))?;
    Ok(TxItem {
        item: TransactWriteItem::builder().update(update).build(),
        label: format!("step {} of {}", st.key, st.run_id),
    })
}

/// The tenant's chain head, moved from `expected` (absent for a tenant's first link) to `next`.
fn chain_put(
    table: &str,
    tenant: &TenantId,
    expected: &ChainHead,
    next: &ChainHead,
) -> Result<TxItem, StoreError> {
    let mut item = key(chain_pk(tenant), "HEAD");
    item.insert("sequence".into(), n(next.sequence));
    item.insert("manifest_sha256".into(), s(&next.manifest_sha256));
    let matches_expected = "(#seq = :seq AND #sha = :sha)";
    let condition = if *expected == ChainHead::genesis() {
        format!("attribute_not_exists(pk) OR {matches_expected}")
    } else {
        matches_expected.to_owned()
    };
    put(
        table,
        PutSpec {
            item,
            condition: Some(&condition),
            names: &[("#seq", "sequence"), ("#sha", "manifest_sha256")],
            values: vec![
                (":seq", n(expected.sequence)),
                (":sha", s(&expected.manifest_sha256)),
            ],
            return_old: false,
        },
        format!("evidence chain of tenant {tenant}"),
    )
}

/// How a transaction failed.
enum TxFailure {
    /// The condition of item `index` failed (or it was in another transaction's way).
    Condition {
        index: usize,
        code: String,
        /// The item as it is, when its put asked for it.
        current: Option<Item>,
    },
    Other(String),
}

fn classify(e: SdkError<TransactWriteItemsError>) -> TxFailure {
    if let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error() {
        let reasons = c.cancellation_reasons();
        // A failed condition names the culprit; a transaction conflict (the item is being
        // written by another transaction right now) is as good as a version conflict.
        for wanted in ["ConditionalCheckFailed", "TransactionConflict"] {
            if let Some(index) = reasons.iter().position(|r| r.code() == Some(wanted)) {
                return TxFailure::Condition {
                    index,
                    code: wanted.to_owned(),
                    current: reasons[index].item().cloned(),
                };
            }
        }
    }
    TxFailure::Other(error_text(&e))
}

impl DynamoStore {
    async fn transact(&self, items: Vec<TxItem>) -> Result<(), (TxFailure, Vec<String>)> {
        let (items, labels): (Vec<_>, Vec<_>) =
            items.into_iter().map(|t| (t.item, t.label)).unzip();
        // The token makes the SDK's own retries of this call idempotent (for ten minutes).
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| (classify(e), labels))
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::Backend(error_text(&e)))?;
        Ok(out.item)
    }

    /// Every item of `pk` whose sort key starts with `prefix`, in sort-key order.
    async fn items_with_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::Backend(error_text(&e)))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Runs from one index partition, newest first, optionally of one state, stopping once
    /// `limit` were found.
    async fn query_runs(
        &self,
        index: &str,
        key_attr: &str,
        key_value: String,
        state: Option<RunState>,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", key_attr)
                .expression_attribute_values(":k", s(&key_value))
                .scan_index_forward(false)
                .set_exclusive_start_key(start);
            if let Some(st) = state {
                q = q
                    .filter_expression("#state = :state")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":state", s(st.as_str()));
            }
            let out = q
                .send()
                .await
                .map_err(|e| StoreError::Backend(error_text(&e)))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|l| items.len() >= l) {
                return Ok(items);
            }
        }
    }

    /// Every run item, optionally of one employee and state: a full table scan.
    async fn scan_runs(
        &self,
        employee: Option<&str>,
        state: Option<RunState>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut filter = vec!["sk = :meta"];
        if employee.is_some() {
            filter.push("employee_id = :employee");
        }
        if state.is_some() {
            filter.push("#state = :state");
        }
        let filter = filter.join(" AND ");
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(&filter)
                .expression_attribute_values(":meta", s("META"))
                .set_exclusive_start_key(start);
            if let Some(e) = employee {
                q = q.expression_attribute_values(":employee", s(e));
            }
            if let Some(st) = state {
                q = q
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":state", s(st.as_str()));
            }
            let out = q
                .send()
                .await
                .map_err(|e| StoreError::Backend(error_text(&e)))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Run ids of one open state across every tenant, with their creation time; due ones only
    /// when `due` is set. A scan: for tooling and the contract suite, never the functions.
    async fn by_open_state(
        &self,
        state: RunState,
        due: Option<Timestamp>,
    ) -> Result<Vec<(RunId, i64)>, StoreError> {
        let mut out_ids = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .scan()
                .table_name(&self.table)
                .expression_attribute_values(":state", s(format!("{}#", state.as_str())))
                .set_exclusive_start_key(start);
            q = match due {
                Some(now) => q
                    .filter_expression("begins_with(open_key, :state) AND cutoff_ms <= :now")
                    .expression_attribute_values(":now", n(now.as_millisecond())),
                None => q.filter_expression("begins_with(open_key, :state)"),
            };
            let out = q
                .send()
                .await
                .map_err(|e| StoreError::Backend(error_text(&e)))?;
            for item in out.items.unwrap_or_default() {
                let created = number::<i64>(&item, "created_ms").unwrap_or(0);
                let cutoff = number::<i64>(&item, "cutoff_ms").unwrap_or(0);
                out_ids.push((run_id_of(&item)?, created, cutoff));
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                // The index would give them in cutoff order; so does this.
                out_ids.sort_by_key(|(_, _, cutoff)| *cutoff);
                return Ok(out_ids.into_iter().map(|(id, c, _)| (id, c)).collect());
            }
        }
    }
}

/// Refuses a commit that names one run or step twice: DynamoDB would reject the transaction,
/// and the second write could never pass its version check anyway.
fn check_distinct(commit: &Commit) -> Result<(), StoreError> {
    let mut runs = HashSet::new();
    for r in &commit.runs {
        if !runs.insert(&r.id) {
            return Err(StoreError::Conflict(format!(
                "run {} (twice in one commit)",
                r.id
            )));
        }
    }
    let mut steps = HashSet::new();
    for st in &commit.steps {
        if !steps.insert((&st.run_id, &st.key)) {
            return Err(StoreError::Conflict(format!(
                "step {} of {} (twice in one commit)",
                st.key, st.run_id
            )));
        }
    }
    Ok(())
}

/// Rounds of taking the open-run lock before an insert gives up with a conflict.
const OPEN_LOCK_ROUNDS: usize = 4;
const OPEN_LOCK_SK: &str = "LOCK";

/// The item that holds the employee's one open run: `OPEN#<tenant>#<employee>`.
fn open_lock_pk(run: &Run) -> String {
    format!("OPEN#{}#{}", run.tenant, run.subject.employee_id)
}

impl DynamoStore {
    /// One insert as one transaction: the idempotency record (item 0), the employee's open-run
    /// lock (item 1), then the run, its steps and events. `takeover` names the ended run whose
    /// lock this insert may take; otherwise the lock must be free.
    fn insert_items(
        &self,
        run: &Run,
        steps: &[Step],
        events: &[RunEvent],
        takeover: Option<&RunId>,
    ) -> Result<Vec<TxItem>, StoreError> {
        let table = &self.table;
        let mut items = vec![
            idempotency_put(table, run)?,
            open_lock_put(table, run, takeover)?,
            new_item(table, run_item(run)?, format!("run {}", run.id))?,
        ];
        if run.state.is_terminal() {
            // A run stored already ended (an import of history) holds no lock.
            items.remove(1);
        }
        for (ord, st) in steps.iter().enumerate() {
            items.push(new_item(
                table,
                step_item(st, ord)?,
                format!("step {} of {}", st.key, st.run_id),
            )?);
        }
        for e in events {
            items.push(plain_item(
                table,
                event_item(e)?,
                format!("event {}", e.kind),
            )?);
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Backend(format!(
                "a run with {} steps and {} events is more than one DynamoDB transaction holds ({MAX_TRANSACTION_ITEMS} items)",
                steps.len(),
                events.len()
            )));
        }
        Ok(items)
    }

    /// The run a repeated request already made, from its idempotency record.
    async fn same_request(
        &self,
        run: &Run,
        current: Option<Item>,
    ) -> Result<InsertOutcome, StoreError> {
        let item = match current {
            Some(item) => Some(item),
            None => {
                self.get(idem_pk(&run.tenant, &run.idempotency_key), "IDEM")
                    .await?
            }
        };
        let item = item.ok_or_else(|| {
            StoreError::Conflict(
                "idempotency record (held by a transaction that did not complete)".into(),
            )
        })?;
        Ok(InsertOutcome::Existing(RunId::new(string(
            &item, "run_id",
        )?)))
    }
}

impl DynamoStore {
    /// Marks an ended run's open-run lock for DynamoDB's TTL. Outside the run's transaction and
    /// conditional on the lock still naming this run, so a lock another run has taken over is
    /// never touched; a failure only leaves the lock for the next insert to take over.
    async fn expire_open_lock(&self, run: &Run) {
        let expires = Timestamp::now().as_second() + ENDED_LOCK_TTL_SECONDS;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(open_lock_pk(run), OPEN_LOCK_SK)))
            .update_expression("SET expires_at = :t")
            .condition_expression("run_id = :me")
            .expression_attribute_values(":t", n(expires))
            .expression_attribute_values(":me", s(run.id.as_str()))
            .send()
            .await;
        if let Err(e) = out {
            tracing::debug!(run = %run.id, error = %error_text(&e), "open-run lock left without expiry");
        }
    }
}

/// How long the open-run lock of an ended run stays before TTL removes it. While it stays, a
/// new run of the employee takes it over; once gone, the idempotency record (30 days) still
/// answers a late duplicate of the ended run's own webhook.
const ENDED_LOCK_TTL_SECONDS: i64 = 7 * 86_400;

/// The idempotency record: refused if the same request was stored before.
fn idempotency_put(table: &str, run: &Run) -> Result<TxItem, StoreError> {
    let mut item = key(idem_pk(&run.tenant, &run.idempotency_key), "IDEM");
    item.insert("run_id".into(), s(run.id.as_str()));
    // Senders redeliver for days at most (Standard Webhooks: about three); after a month
    // DynamoDB's TTL removes the record. A late duplicate then still finds the leaver's run
    // through the one-open-run-per-employee lock.
    let expires = run.created_at.as_second() + IDEMPOTENCY_TTL_SECONDS;
    item.insert("expires_at".into(), n(expires));
    put(
        table,
        PutSpec {
            item,
            condition: Some("attribute_not_exists(pk)"),
            names: &[],
            values: vec![],
            return_old: true,
        },
        "idempotency record".into(),
    )
}

/// The employee's open-run lock, naming this run: refused while another run holds it, unless
/// this insert takes it over from `takeover` (a run found ended).
fn open_lock_put(table: &str, run: &Run, takeover: Option<&RunId>) -> Result<TxItem, StoreError> {
    let mut item = key(open_lock_pk(run), OPEN_LOCK_SK);
    item.insert("run_id".into(), s(run.id.as_str()));
    let (condition, values) = match takeover {
        None => ("attribute_not_exists(pk)", vec![]),
        Some(ended) => ("#run = :ended", vec![(":ended", s(ended.as_str()))]),
    };
    put(
        table,
        PutSpec {
            item,
            condition: Some(condition),
            names: if takeover.is_some() {
                &[("#run", "run_id")]
            } else {
                &[]
            },
            values,
            return_old: true,
        },
        format!("open run of employee {}", run.subject.employee_id),
    )
}

#[async_trait]
impl RunStore for DynamoStore {
    /// One transaction: the idempotency record (only if absent), the run, its steps and events.
    /// If the idempotency record exists, nothing is written and its run is returned.
    async fn insert_run(
        &self,
        run: &Run,
        steps: &[Step],
        events: &[RunEvent],
    ) -> Result<InsertOutcome, StoreError> {
        // The lock usually starts free; when it names a run that has since ended, the next
        // round takes it over from that run (conditional on the holder, so two takers cannot
        // both win).
        let mut holder: Option<RunId> = None;
        for _ in 0..OPEN_LOCK_ROUNDS {
            let items = self.insert_items(run, steps, events, holder.as_ref())?;
            match self.transact(items).await {
                Ok(()) => return Ok(InsertOutcome::Created),
                Err((
                    TxFailure::Condition {
                        index: 0, current, ..
                    },
                    _,
                )) => {
                    return self.same_request(run, current).await;
                }
                Err((
                    TxFailure::Condition {
                        index: 1,
                        current,
                        code,
                    },
                    _,
                )) => {
                    let held_by = match current {
                        Some(item) => Some(item),
                        None => self.get(open_lock_pk(run), OPEN_LOCK_SK).await?,
                    };
                    let Some(item) = held_by else {
                        // Released meanwhile, or held by a transaction in flight ({code}).
                        tracing::debug!(%code, "open-run lock busy; trying again");
                        holder = None;
                        continue;
                    };
                    let held = RunId::new(string(&item, "run_id")?);
                    match self.run(&held).await? {
                        Some(held_run) if !held_run.state.is_terminal() => {
                            return Ok(InsertOutcome::OpenRun(held));
                        }
                        _ => holder = Some(held),
                    }
                }
                Err((TxFailure::Condition { index, code, .. }, labels)) => {
                    return Err(StoreError::Conflict(format!("{} ({code})", labels[index])));
                }
                Err((TxFailure::Other(e), _)) => return Err(StoreError::Backend(e)),
            }
        }
        Err(StoreError::Conflict(format!(
            "the open-run lock of employee {} changed hands {OPEN_LOCK_ROUNDS} times",
            run.subject.employee_id
        )))
    }

    async fn run(&self, id: &RunId) -> Result<Option<Run>, StoreError> {
        self.get(run_pk(id), "META")
            .await?
            .map(|item| from_doc(&item))
            .transpose()
    }

    async fn steps(&self, id: &RunId) -> Result<Vec<Step>, StoreError> {
        let items = self.items_with_prefix(run_pk(id), "STEP#").await?;
        let mut steps = Vec::with_capacity(items.len());
        for item in &items {
            steps.push((number::<u64>(item, "ord")?, from_doc::<Step>(item)?));
        }
        steps.sort_by_key(|(ord, _)| *ord);
        Ok(steps.into_iter().map(|(_, st)| st).collect())
    }

    async fn attempts(&self, id: &RunId) -> Result<Vec<AttemptRecord>, StoreError> {
        let items = self.items_with_prefix(run_pk(id), "ATT#").await?;
        items.iter().map(from_doc).collect()
    }

    async fn events(&self, id: &RunId) -> Result<Vec<RunEvent>, StoreError> {
        let items = self.items_with_prefix(run_pk(id), "EVT#").await?;
        items.iter().map(from_doc).collect()
    }

    /// One transaction: runs and steps conditional on their read version, attempts (the same
    /// attempt twice overwrites itself), events, and the chain head conditional on its
    /// expected value.
    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        check_distinct(&commit)?;
        let items = commit_items(&self.table, &commit)?;
        if items.is_empty() {
            return Ok(());
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Backend(format!(
                "a commit of {} items is more than one DynamoDB transaction holds ({MAX_TRANSACTION_ITEMS})",
                items.len()
            )));
        }
        self.transact(items)
            .await
            .map_err(|(failure, labels)| match failure {
                TxFailure::Condition { index, .. } => StoreError::Conflict(labels[index].clone()),
                TxFailure::Other(e) => StoreError::Backend(e),
            })?;
        for run in commit.runs.iter().filter(|r| r.state.is_terminal()) {
            self.expire_open_lock(run).await;
        }
        Ok(())
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        let items = match (&filter.tenant, &filter.employee_id) {
            (Some(t), Some(e)) => {
                self.query_runs(
                    GSI_EMPLOYEE,
                    "tenant_employee",
                    format!("{t}#{e}"),
                    filter.state,
                    filter.limit,
                )
                .await?
            }
            (Some(t), None) => {
                self.query_runs(
                    GSI_TENANT,
                    "tenant",
                    t.to_string(),
                    filter.state,
                    filter.limit,
                )
                .await?
            }
            (None, e) => self.scan_runs(e.as_deref(), filter.state).await?,
        };
        let mut runs = items
            .iter()
            .map(from_doc)
            .collect::<Result<Vec<Run>, _>>()?;
        runs.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        if let Some(limit) = filter.limit {
            runs.truncate(limit);
        }
        Ok(runs)
    }

    async fn due_runs(&self, now: Timestamp) -> Result<Vec<RunId>, StoreError> {
        // Sorted by cutoff by the index itself.
        Ok(self
            .by_open_state(RunState::Scheduled, Some(now))
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    async fn open_runs(&self) -> Result<Vec<RunId>, StoreError> {
        let mut open = self.by_open_state(RunState::Running, None).await?;
        open.extend(self.by_open_state(RunState::Blocked, None).await?);
        open.sort_by_key(|(_, created)| *created);
        Ok(open.into_iter().map(|(id, _)| id).collect())
    }

    async fn chain_head(&self, tenant: &TenantId) -> Result<ChainHead, StoreError> {
        match self.get(chain_pk(tenant), "HEAD").await? {
            None => Ok(ChainHead::genesis()),
            Some(item) => Ok(ChainHead {
                sequence: number(&item, "sequence")?,
                manifest_sha256: string(&item, "manifest_sha256")?.to_owned(),
            }),
        }
    }

    async fn learned_secret(
        &self,
        tenant: &TenantId,
        vendor: &str,
    ) -> Result<Option<Secret>, StoreError> {
        match self.get(format!("SECRET#{tenant}"), vendor).await? {
            None => Ok(None),
            Some(item) => Ok(Some(Secret::new(string(&item, "secret")?))),
        }
    }

    async fn count_termination(
        &self,
        tenant: &TenantId,
        key: &str,
        at: Timestamp,
        window: std::time::Duration,
        cap: u32,
    ) -> Result<u32, StoreError> {
        self.ledger_count(tenant, key, at, window, cap).await
    }

    async fn learn_secret(
        &self,
        tenant: &TenantId,
        vendor: &str,
        secret: &Secret,
    ) -> Result<(), StoreError> {
        let mut item = key(format!("SECRET#{tenant}"), vendor);
        item.insert("secret".into(), s(secret.expose()));
        item.insert("at_ms".into(), n(Timestamp::now().as_millisecond()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::Backend(error_text(&e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_idempotency_keys_are_hashed() {
        let t = TenantId::new("acme");
        assert_eq!(idem_pk(&t, "evt_1"), "IDEM#acme#evt_1");
        let long = "x".repeat(MAX_PLAIN_KEY + 1);
        let pk = idem_pk(&t, &long);
        assert!(
            pk.starts_with("IDEM#acme#sha256:") && pk.len() < 100,
            "{pk}"
        );
    }

    #[test]
    fn event_keys_sort_by_time_then_write_order() {
        let run = RunId::new("run_x");
        let t = Timestamp::from_millisecond(1_700_000_000_000).unwrap();
        let sk = |e: &RunEvent| match &event_item(e).unwrap()["sk"] {
            AttributeValue::S(v) => v.clone(),
            _ => unreachable!(),
        };
        let a = sk(&RunEvent::new(&run, t, "a", "x", serde_json::Value::Null));
        let b = sk(&RunEvent::new(&run, t, "b", "x", serde_json::Value::Null));
        assert!(a.starts_with("EVT#1700000000000#"));
        assert!(a < b);
    }
}
