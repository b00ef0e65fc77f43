//! Drive and Calendar to the delegate through the Data Transfer API. `transfers.insert` is not
//! idempotent, so an existing transfer for the old owner is always reused; a new one is started
//! only when none exists (or every earlier one failed).

use super::{Calls, User, delegate_email, lookup_user, retryable, text};
use crate::google::TransferPolling;
use crate::google::api::{Api, As, Service};
use crate::google::scopes;
use crate::http::{Polling, permanent};
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
    let mut transfer = reuse_or_start(api, user, &new_owner, calls).await?;
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

/// The latest transfer from the leaver that has not failed, preferring one to `new_owner`;
/// else a new one.
async fn reuse_or_start(
    api: &Api,
    user: &User,
    new_owner: &User,
    calls: &mut Calls,
) -> Result<Transfer, ActionFailure> {
    let mut url = transfers_url(api, &[]);
    url.query_pairs_mut()
        .append_pair("oldOwnerUserId", &user.id)
        .append_pair("customerId", &api.settings.customer_id);
    let existing = api
        .list(url, "dataTransfers", As::Admin, scopes::DATATRANSFER, calls)
        .await?;
    let usable: Vec<&Value> = existing.iter().filter(|t| status(t) != "failed").collect();
    let chosen = usable
        .iter()
        .rev()
        .find(|t| text(t, "newOwnerUserId") == new_owner.id)
        .or_else(|| usable.last())
        .map(|t| (*t).clone());
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
    let reused_to = if owner == new_owner.id {
        String::new()
    } else {
        format!(" (an earlier transfer to user {owner} was reused; no second transfer started)")
    };
    ActionDone {
        repeat: transfer.was_complete,
        summary: if transfer.was_complete {
            format!(
                "Drive and Calendar were already transferred (transfer {id}){reused_to}; nothing changed"
            )
        } else if transfer.created {
            format!("transferred Drive and Calendar to {delegate} (transfer {id})")
        } else {
            format!("completed the existing transfer {id} of Drive and Calendar{reused_to}")
        },
        readback: transfer_view(&transfer.body),
        output: json!({"transfer_id": id, "new_owner_user_id": owner, "created": transfer.created}),
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
