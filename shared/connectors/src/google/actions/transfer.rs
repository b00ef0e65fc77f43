//! Drive and Calendar to the delegate through the Data Transfer API. `transfers.insert` is not
//! idempotent, so a transfer this run already started is always reused; a new one is started
//! only when there is none (or every one failed).
//!
//! Google keeps old transfers listed. One from before this run, to another owner or even to
//! the same delegate, moved what the leaver owned then and is not this run's: this run's
//! transfer goes to the delegate and was requested after the run's snapshot, compared on
//! Google's clock (see [`crate::skew`]). Without a snapshot to date the run, a transfer to the
//! delegate is taken as this run's.

use super::{Calls, User, delegate_email, lookup_user, retryable, text};
use crate::google::TransferPolling;
use crate::google::api::{Api, As, Service};
use crate::google::scopes;
use crate::http::{Polling, permanent};
use crate::skew::Reading;
use passage_core::ports::{ActionDone, ActionFailure, ActionOutcome, ActionRequest};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// Data Transfer application ids (confirmed by `GET /admin/datatransfer/v1/applications`).
const APP_DRIVE: &str = "55656082996";
const APP_CALENDAR: &str = "435070579839";

/// How long the engine should wait before trying again after a transfer failed.
const TRANSFER_RETRY: Duration = Duration::from_secs(30);
/// A running transfer: Google documents no bound, and large Drives take hours (reports speak
/// of days).
const TRANSFER: Polling = Polling {
    first: Duration::from_secs(10),
    most: Duration::from_secs(300),
    deadline: Duration::from_secs(72 * 3600),
};

/// A data transfer this attempt started or found, as Google last reported it.
struct Transfer {
    id: String,
    body: Value,
    /// Started by this attempt.
    created: bool,
    /// Already completed when this attempt found it.
    was_complete: bool,
}

/// Moves the leaver's Drive and Calendar to the delegate, waiting briefly (within `polling`)
/// for the transfer to complete; a transfer still running is handed to the engine as pending,
/// and each later attempt reads it again (it is never started twice).
pub(super) async fn transfer_data(
    api: &Api,
    polling: TransferPolling,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    let delegate = delegate_email(req)?;
    let new_owner = new_owner(api, &delegate, calls).await?;
    let since = snapshot_at(req);
    let mut transfer = reuse_or_start(api, user, &new_owner, since, calls).await?;
    // Seen running by an earlier attempt of this step: this step saw it through.
    transfer.was_complete &= req.operation.is_none();
    wait_for(api, polling, &mut transfer, calls).await?;
    let status = status(&transfer.body);
    if status != "completed" {
        let what = format!(
            "data transfer {} of Drive and Calendar to {delegate} is {status}",
            transfer.id
        );
        let pending = TRANSFER.pending("transfer_in_progress", what, req.operation.as_ref());
        return Ok(pending.into());
    }
    Ok(done(&transfer, &delegate, &new_owner).into())
}

fn transfers_url(api: &Api, rest: &[&str]) -> url::Url {
    let mut segments = vec!["admin", "datatransfer", "v1", "transfers"];
    segments.extend_from_slice(rest);
    api.url(Service::Directory, &segments)
}

fn status(transfer: &Value) -> String {
    text(transfer, "overallTransferStatusCode")
}

/// The delegate as a Directory user: the transfer's new owner.
async fn new_owner(api: &Api, delegate: &str, calls: &mut Calls) -> Result<User, ActionFailure> {
    lookup_user(api, delegate, calls).await?.ok_or_else(|| {
        permanent(
            "delegate_not_found",
            format!("the delegate {delegate} is not a user of this Google Workspace"),
        )
    })
}

/// When the run's snapshot was taken (local clock), as it recorded.
fn snapshot_at(req: &ActionRequest) -> Option<jiff::Timestamp> {
    req.prior
        .get(&passage_core::step_key(
            passage_core::Provider::Google,
            passage_core::Action::Snapshot,
        ))
        .and_then(|s| s["snapshot_at"].as_str())
        .and_then(|t| t.parse().ok())
}

/// This run's latest transfer from the leaver that has not failed; else a new one.
async fn reuse_or_start(
    api: &Api,
    user: &User,
    new_owner: &User,
    since: Option<jiff::Timestamp>,
    calls: &mut Calls,
) -> Result<Transfer, ActionFailure> {
    let (existing, clock) = transfers_of(api, user, calls).await?;
    let this_run = |t: &&Value| {
        let requested = text(t, "requestTime").parse::<jiff::Timestamp>().ok();
        status(t) != "failed"
            && text(t, "newOwnerUserId") == new_owner.id
            && since.is_none_or(|s| requested.is_some_and(|r| clock.not_before(s, r)))
    };
    let chosen = existing.iter().rev().find(this_run).cloned();
    let created = chosen.is_none();
    let body = match chosen {
        Some(t) => t,
        None => start(api, user, new_owner, calls).await?,
    };
    let id = text(&body, "id");
    if id.is_empty() {
        return Err(retryable(
            "unexpected_body",
            None,
            "Google returned a data transfer without an id".into(),
        ));
    }
    Ok(Transfer {
        id,
        was_complete: status(&body) == "completed",
        body,
        created,
    })
}

/// Every transfer from the leaver, and what the first answer tells about Google's clock.
async fn transfers_of(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<(Vec<Value>, Reading), ActionFailure> {
    let mut url = transfers_url(api, &[]);
    url.query_pairs_mut()
        .append_pair("oldOwnerUserId", &user.id)
        .append_pair("customerId", &api.settings.customer_id);
    let sent = jiff::Timestamp::now();
    let first = api
        .call(
            Method::GET,
            url.clone(),
            As::Admin,
            scopes::DATATRANSFER,
            None,
            &[],
            calls,
        )
        .await?;
    let clock = Reading::of(&first.headers, sent, jiff::Timestamp::now());
    let mut items: Vec<Value> = first.body["dataTransfers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(token) = first.body["nextPageToken"]
        .as_str()
        .filter(|t| !t.is_empty())
    {
        let token = Some(token.to_owned());
        let (who, scope) = (As::Admin, scopes::DATATRANSFER);
        let rest = api
            .list_from(url, token, "dataTransfers", who, scope, calls)
            .await?;
        items.extend(rest);
    }
    Ok((items, clock))
}

/// Starts the transfer of Drive (private and shared files) and Calendar (releasing resources).
async fn start(
    api: &Api,
    user: &User,
    new_owner: &User,
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    let body = json!({
        "oldOwnerUserId": user.id,
        "newOwnerUserId": new_owner.id,
        "applicationDataTransfers": [
            {"applicationId": APP_DRIVE, "applicationTransferParams": [
                {"key": "PRIVACY_LEVEL", "value": ["PRIVATE", "SHARED"]}]},
            {"applicationId": APP_CALENDAR, "applicationTransferParams": [
                {"key": "RELEASE_RESOURCES", "value": ["TRUE"]}]},
        ],
    });
    Ok(api
        .call(
            Method::POST,
            transfers_url(api, &[]),
            As::Admin,
            scopes::DATATRANSFER,
            Some(&body),
            &[],
            calls,
        )
        .await?
        .body)
}

/// Reads the transfer again until it completes or `polling` runs out; a failed transfer is
/// retryable, and the next attempt starts a new one.
async fn wait_for(
    api: &Api,
    polling: TransferPolling,
    transfer: &mut Transfer,
    calls: &mut Calls,
) -> Result<(), ActionFailure> {
    let mut polls = 0;
    while status(&transfer.body) != "completed" && polls < polling.polls {
        if status(&transfer.body) == "failed" {
            return Err(retryable(
                "transfer_failed",
                Some(TRANSFER_RETRY),
                format!(
                    "Google reports data transfer {} failed; the next attempt starts a new one",
                    transfer.id
                ),
            ));
        }
        if polls > 0 {
            tokio::time::sleep(polling.interval).await;
        }
        transfer.body = api
            .get(
                transfers_url(api, &[&transfer.id]),
                As::Admin,
                scopes::DATATRANSFER,
                calls,
            )
            .await?;
        polls += 1;
    }
    Ok(())
}

fn done(transfer: &Transfer, delegate: &str, new_owner: &User) -> ActionDone {
    let id = &transfer.id;
    let owner = text(&transfer.body, "newOwnerUserId");
    ActionDone {
        repeat: transfer.was_complete,
        summary: if transfer.was_complete {
            format!("Drive and Calendar were already transferred (transfer {id}); nothing changed")
        } else if transfer.created {
            format!("transferred Drive and Calendar to {delegate} (transfer {id})")
        } else {
            format!("completed the existing transfer {id} of Drive and Calendar to {delegate}")
        },
        readback: transfer_view(&transfer.body),
        output: json!({"transfer_id": id, "new_owner_user_id": owner, "created": transfer.created, "delegate_user_id": new_owner.id}),
    }
}

fn transfer_view(t: &Value) -> Value {
    json!({
        "id": t["id"],
        "oldOwnerUserId": t["oldOwnerUserId"],
        "newOwnerUserId": t["newOwnerUserId"],
        "overallTransferStatusCode": t["overallTransferStatusCode"],
        "applicationDataTransfers": t["applicationDataTransfers"],
        "requestTime": t["requestTime"],
    })
}
