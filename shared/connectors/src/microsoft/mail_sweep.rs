//! The mail sweep on Microsoft 365 (`SweepMailAccess`): the leaver's own inbox rules that
//! forward or redirect mail are deleted (Passage's forward-to-manager rule excepted), the
//! leaver is taken out of colleagues' rules that forward to them (a rule that did nothing
//! else is deleted), and the leaver's permissions on colleagues' calendars are deleted
//! (`/users/{id}/calendar/calendarPermissions`). People with permissions on the leaver's own
//! calendar are recorded and kept: they are the colleagues who carry on the leaver's meetings.
//!
//! # The bound of the scan
//!
//! Graph cannot ask "which rules name this address", so the sweep reads a bounded set of
//! mailboxes, each list to its last page: the leaver's, the manager's
//! (`/users/{id}/manager`), the direct reports' (`/users/{id}/directReports`) and every shared
//! mailbox (`Get-Mailbox -RecipientTypeDetails SharedMailbox`). A rule or calendar permission
//! in any other mailbox is not seen; the record names the mailboxes read, so nobody takes it
//! for more. A mailbox Graph does not serve (no licence, on-premises) is recorded as such.
//!
//! # The record a restore reads
//!
//! The snapshot's output carries `mail_access: {scanned, rules, calendar, own_calendar}`:
//! - `scanned`: `[{mailbox, mailbox_id, why, reachable}]`;
//! - `rules`: `[{mailbox, mailbox_id, rule_id, displayName, own, actions}]` — the rule as it
//!   was (a colleague's rule is theirs to point at the person again);
//! - `calendar`: `[{mailbox, mailbox_id, permission_id, role}]` — given back by the
//!   calendar's owner (Outlook → Calendar → Sharing permissions);
//! - `own_calendar`: `[{address, role}]`, kept;
//!
//! or `mail_unreadable` with why, when a list could not be read to its end (then nothing is
//! recorded, nothing is graded absent, and the step, which reads again, holds the run). Its
//! `access` lists `{"kind": "forwarding", "id": "rule:<mailbox>/<rule id>"}` and
//! `{"kind": "delegation", "id": "calendar:<mailbox>/<permission id>"}` items.

use super::actions::{FORWARD_RULE_NAME, User};
use super::api::{Api, Calls};
use crate::http::mismatch;
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The rule actions that send mail to someone.
const FORWARDS: [&str; 3] = ["forwardTo", "redirectTo", "forwardAsAttachmentTo"];

/// A mailbox the sweep reads, and why it is in the bound.
#[derive(Clone, Debug)]
struct Mailbox {
    id: String,
    address: String,
    why: &'static str,
}

/// What the leaver holds, read across the bound.
#[derive(Debug, Default)]
struct Held {
    scanned: Vec<Value>,
    rules: Vec<Value>,
    calendar: Vec<Value>,
    own_calendar: Vec<Value>,
}

fn targets(actions: &Value) -> Vec<String> {
    FORWARDS
        .iter()
        .filter_map(|k| actions[*k].as_array())
        .flatten()
        .filter_map(|r| r.pointer("/emailAddress/address").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn names_leaver(address: &str, user: &User) -> bool {
    user.addresses()
        .iter()
        .any(|a| a.eq_ignore_ascii_case(address))
}

/// Passage's own forward-to-manager rule: by its name, enabled, redirecting to the delegate
/// alone. A rule of that name sending mail anywhere else is the leaver's, and goes.
fn is_ours(rule: &Value, delegate: Option<&str>) -> bool {
    let Some(delegate) = delegate else {
        return false;
    };
    let to = targets(&rule["actions"]);
    rule["displayName"] == FORWARD_RULE_NAME
        && rule["isEnabled"] == json!(true)
        && to.len() == 1
        && to[0].eq_ignore_ascii_case(delegate)
}

fn mailbox_of(user: &Value, why: &'static str) -> Option<Mailbox> {
    let id = user["id"].as_str()?;
    let address = user["mail"]
        .as_str()
        .or_else(|| user["userPrincipalName"].as_str())
        .unwrap_or(id);
    Some(Mailbox {
        id: id.to_owned(),
        address: address.to_owned(),
        why,
    })
}

/// The mailboxes of the bound (see the module's doc), each once, the leaver's first.
async fn bound(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Mailbox>, ActionFailure> {
    let mut out = vec![Mailbox {
        id: user.id.clone(),
        address: user.upn.clone(),
        why: "leaver",
    }];
    let url = api.graph_url(&["users", &user.id, "manager"], &[]);
    let manager = api
        .graph(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    if manager.status != StatusCode::NOT_FOUND {
        out.extend(mailbox_of(&manager.body, "manager"));
    }
    let url = api.graph_url(&["users", &user.id, "directReports"], &[("$top", "100")]);
    for report in api.list(url, calls).await? {
        out.extend(mailbox_of(&report, "direct report"));
    }
    let params = json!({"RecipientTypeDetails": "SharedMailbox", "ResultSize": "Unlimited"});
    for row in api.cmdlet_rows("Get-Mailbox", params, calls).await? {
        let id = row["ExternalDirectoryObjectId"]
            .as_str()
            .unwrap_or_default();
        let address = row["PrimarySmtpAddress"].as_str().unwrap_or(id);
        if !id.is_empty() {
            out.push(Mailbox {
                id: id.to_owned(),
                address: address.to_owned(),
                why: "shared mailbox",
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|m| seen.insert(m.id.to_ascii_lowercase()));
    Ok(out)
}

/// Every item of a mailbox list, every page read; `None` when Graph does not serve the
/// mailbox (`MailboxNotEnabledForRESTAPI`, `ErrorInvalidUser`): there is nothing to read.
async fn mailbox_list(
    api: &Api,
    url: url::Url,
    calls: &mut Calls,
) -> Result<Option<Vec<Value>>, ActionFailure> {
    let first = api
        .graph(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    if first.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let mut items: Vec<Value> = first.body["value"].as_array().cloned().unwrap_or_default();
    if let Some(next) = first.body["@odata.nextLink"].as_str() {
        let next = url::Url::parse(next)
            .map_err(|_| super::api::unexpected("an unreadable @odata.nextLink"))?;
        items.extend(api.list(next, calls).await?);
    }
    Ok(Some(items))
}

fn rules_url(api: &Api, mailbox: &str, rest: &[&str]) -> url::Url {
    let mut path = vec!["users", mailbox, "mailFolders", "inbox", "messageRules"];
    path.extend_from_slice(rest);
    api.graph_url(&path, &[])
}

fn calendar_url(api: &Api, mailbox: &str, rest: &[&str]) -> url::Url {
    let mut path = vec!["users", mailbox, "calendar", "calendarPermissions"];
    path.extend_from_slice(rest);
    api.graph_url(&path, &[])
}

/// What the leaver holds across the bound, every list read to its end.
async fn read(
    api: &Api,
    user: &User,
    delegate: Option<&str>,
    calls: &mut Calls,
) -> Result<Held, ActionFailure> {
    let mut held = Held::default();
    for m in bound(api, user, calls).await? {
        let own = m.why == "leaver";
        let rules = mailbox_list(api, rules_url(api, &m.id, &[]), calls).await?;
        held.scanned.push(json!({"mailbox": m.address, "mailbox_id": m.id, "why": m.why, "reachable": rules.is_some()}));
        let Some(rules) = rules else { continue };
        for r in rules {
            let to = targets(&r["actions"]);
            let keep = if own {
                to.is_empty() || is_ours(&r, delegate)
            } else {
                !to.iter().any(|t| names_leaver(t, user))
            };
            if !keep {
                held.rules.push(json!({"mailbox": m.address, "mailbox_id": m.id, "rule_id": r["id"], "displayName": r["displayName"], "own": own, "actions": r["actions"]}));
            }
        }
        let perms = mailbox_list(api, calendar_url(api, &m.id, &[]), calls).await?;
        for p in perms.unwrap_or_default() {
            let Some(address) = p.pointer("/emailAddress/address").and_then(Value::as_str) else {
                continue;
            };
            if own {
                held.own_calendar
                    .push(json!({"address": address, "role": p["role"]}));
            } else if names_leaver(address, user) && p["isRemovable"] != json!(false) {
                held.calendar.push(json!({"mailbox": m.address, "mailbox_id": m.id, "permission_id": p["id"], "role": p["role"]}));
            }
        }
    }
    Ok(held)
}

fn rule_id(r: &Value) -> String {
    format!(
        "rule:{}/{}",
        r["mailbox"].as_str().unwrap_or_default(),
        r["rule_id"].as_str().unwrap_or_default()
    )
}

fn calendar_id(p: &Value) -> String {
    format!(
        "calendar:{}/{}",
        p["mailbox"].as_str().unwrap_or_default(),
        p["permission_id"].as_str().unwrap_or_default()
    )
}

fn rule_name(r: &Value) -> String {
    let name = r["displayName"].as_str().unwrap_or_default();
    let mailbox = r["mailbox"].as_str().unwrap_or_default();
    if r["own"] == json!(true) {
        format!(
            "inbox rule \"{name}\" forwarding to {}",
            targets(&r["actions"]).join(", ")
        )
    } else {
        format!("{mailbox}'s inbox rule \"{name}\" forwarding to the leaver")
    }
}

/// Adds the mail sweep's record to the snapshot's output (see the module's doc). A list that
/// fails is recorded as unreadable rather than failing the snapshot: the lockout must not
/// wait on a colleague's mailbox, and the sweep step re-reads and holds the run instead.
pub(super) async fn record(
    api: &Api,
    user: &User,
    delegate: Option<&str>,
    output: &mut Value,
    calls: &mut Calls,
) {
    let held = match read(api, user, delegate, calls).await {
        Ok(held) => held,
        Err(e) => {
            output["mail_unreadable"] = json!(format!("{}: {}", e.code, e.message));
            return;
        }
    };
    let rules = held
        .rules
        .iter()
        .map(|r| json!({"kind": "forwarding", "id": rule_id(r), "name": rule_name(r)}));
    let calendar = held.calendar.iter().map(|p| {
        json!({"kind": "delegation", "id": calendar_id(p), "name": format!("{} on {}'s calendar", p["role"].as_str().unwrap_or_default(), p["mailbox"].as_str().unwrap_or_default())})
    });
    let items: Vec<Value> = rules.chain(calendar).collect();
    if let Some(list) = output["access"].as_array_mut() {
        list.extend(items);
    }
    output["mail_access"] = json!({
        "scanned": held.scanned,
        "rules": held.rules,
        "calendar": held.calendar,
        "own_calendar": held.own_calendar,
    });
}

/// The rule's actions with every recipient naming the leaver taken out, or `None` when the
/// rule did nothing but forward to the leaver (then it is deleted whole).
fn without_leaver(actions: &Value, user: &User) -> Option<Value> {
    let mut next = actions.clone();
    let map = next.as_object_mut()?;
    for key in FORWARDS {
        let Some(list) = map.get(key).and_then(Value::as_array) else {
            continue;
        };
        let kept: Vec<Value> = list
            .iter()
            .filter(|r| {
                !r.pointer("/emailAddress/address")
                    .and_then(Value::as_str)
                    .is_some_and(|a| names_leaver(a, user))
            })
            .cloned()
            .collect();
        if kept.is_empty() {
            map.remove(key);
        } else {
            map.insert(key.to_owned(), Value::Array(kept));
        }
    }
    // Graph lists unset actions as null, false or an empty list: only the others act.
    let acts = map.iter().any(|(k, v)| {
        k != "stopProcessingRules"
            && !v.is_null()
            && v != &json!(false)
            && v.as_array().is_none_or(|a| !a.is_empty())
    });
    acts.then_some(next)
}

/// Deletes the leaver's rule, or takes the leaver out of a colleague's; says which.
async fn clear_rule(
    api: &Api,
    rule: &Value,
    user: &User,
    calls: &mut Calls,
) -> Result<&'static str, ActionFailure> {
    let mailbox = rule["mailbox_id"].as_str().unwrap_or_default();
    let id = rule["rule_id"].as_str().unwrap_or_default();
    let url = rules_url(api, mailbox, &[id]);
    let trimmed = if rule["own"] == json!(true) {
        None
    } else {
        without_leaver(&rule["actions"], user)
    };
    // 404: gone already (or the mailbox with it).
    let accept = [StatusCode::NOT_FOUND];
    match trimmed {
        None => {
            api.graph(Method::DELETE, url, None, &accept, calls).await?;
            Ok("deleted")
        }
        Some(actions) => {
            let body = json!({"actions": actions});
            api.graph(Method::PATCH, url, Some(&body), &accept, calls)
                .await?;
            Ok("leaver taken out")
        }
    }
}

/// `SweepMailAccess`: every rule and calendar permission found is removed, and the whole
/// bound is read again to its end: only then is anything called removed.
pub(super) async fn sweep(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let delegate = req.delegate.as_deref();
    let before = read(api, user, delegate, calls).await?;
    let mut cleared = Vec::new();
    for rule in &before.rules {
        let how = clear_rule(api, rule, user, calls).await?;
        cleared.push(json!({"id": rule_id(rule), "how": how}));
    }
    for p in &before.calendar {
        let mailbox = p["mailbox_id"].as_str().unwrap_or_default();
        let id = p["permission_id"].as_str().unwrap_or_default();
        let url = calendar_url(api, mailbox, &[id]);
        api.graph(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
    }
    let after = read(api, user, delegate, calls).await?;
    let left = after.rules.len() + after.calendar.len();
    if left > 0 {
        return Err(mismatch(format!(
            "{left} forwarding rules or calendar permissions still name the leaver after removal"
        )));
    }
    Ok(ActionDone {
        repeat: cleared.is_empty() && before.calendar.is_empty(),
        summary: format!(
            "cleared {} forwarding rules and {} calendar permissions across {} mailboxes read to the end; {} people keep their permissions on the leaver's calendar",
            cleared.len(),
            before.calendar.len(),
            after.scanned.len(),
            after.own_calendar.len()
        ),
        readback: json!({"user_id": user.id, "scanned": after.scanned, "rules": after.rules, "calendar": after.calendar}),
        output: json!({
            "cleared_rules": cleared,
            "removed_calendar": before.calendar,
            "own_calendar_kept": after.own_calendar,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_mailbox_and_the_rule_or_permission() {
        let r = json!({"mailbox": "sam@example.com", "rule_id": "AQAAAA=="});
        assert_eq!(rule_id(&r), "rule:sam@example.com/AQAAAA==");
        let p = json!({"mailbox": "sam@example.com", "permission_id": "p1"});
        assert_eq!(calendar_id(&p), "calendar:sam@example.com/p1");
    }

    #[test]
    fn a_rule_that_only_forwarded_to_the_leaver_is_deleted_and_others_keep_the_rest() {
        let user = User::for_tests("u1", "jane@example.com");
        let to = |a: &str| json!([{"emailAddress": {"address": a}}]);
        let only = json!({"redirectTo": to("Jane@example.com"), "stopProcessingRules": true, "assignCategories": []});
        assert_eq!(without_leaver(&only, &user), None);
        let shared = json!({"forwardTo": [{"emailAddress": {"address": "jane@example.com"}}, {"emailAddress": {"address": "sam@example.com"}}]});
        assert_eq!(
            without_leaver(&shared, &user),
            Some(json!({"forwardTo": to("sam@example.com")}))
        );
        let moves = json!({"forwardTo": to("jane@example.com"), "moveToFolder": "Archive"});
        assert_eq!(
            without_leaver(&moves, &user),
            Some(json!({"moveToFolder": "Archive"}))
        );
    }

    #[test]
    fn only_passages_enabled_forward_to_the_delegate_is_ours() {
        let rule = |name: &str, to: &str, on: bool| json!({"displayName": name, "isEnabled": on, "actions": {"redirectTo": [{"emailAddress": {"address": to}}]}});
        let sam = Some("sam@example.com");
        assert!(is_ours(
            &rule(FORWARD_RULE_NAME, "sam@example.com", true),
            sam
        ));
        assert!(!is_ours(
            &rule(FORWARD_RULE_NAME, "me@home.example", true),
            sam
        ));
        assert!(!is_ours(
            &rule(FORWARD_RULE_NAME, "sam@example.com", false),
            sam
        ));
        assert!(!is_ours(&rule("Copy", "sam@example.com", true), sam));
        assert!(!is_ours(
            &rule(FORWARD_RULE_NAME, "sam@example.com", true),
            None
        ));
    }

    #[test]
    fn targets_read_every_forwarding_action() {
        let a = json!({
            "forwardTo": [{"emailAddress": {"address": "a@x.net"}}],
            "redirectTo": [{"emailAddress": {"address": "b@x.net"}}],
            "forwardAsAttachmentTo": [{"emailAddress": {"address": "c@x.net"}}],
            "moveToFolder": "x",
        });
        assert_eq!(targets(&a), ["a@x.net", "b@x.net", "c@x.net"]);
    }
}
