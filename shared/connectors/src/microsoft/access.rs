//! The leaver's Microsoft access in the vocabulary the core grades
//! (`passage_core::access`): the snapshot lists each item, the removing steps say per item what
//! became of it. Every list here is read to its end (Graph's `@odata.nextLink` followed), so an
//! item not seen is proven absent.

use serde_json::{Value, json};

fn entry(kind: &str, id: &Value, name: &Value) -> Value {
    json!({"kind": kind, "id": id, "name": name})
}

/// Every item of access the snapshot found: groups, licences, authentication methods besides
/// the password, managed devices, and the sign-in sessions themselves.
pub(super) fn recorded(
    groups: &[Value],
    licences: &[Value],
    methods: &[Value],
    devices: &[Value],
) -> Value {
    let mut items: Vec<Value> = groups
        .iter()
        .map(|g| entry("group", &g["id"], &g["displayName"]))
        .collect();
    let mut skus: Vec<&Value> = licences.iter().map(|l| &l["skuId"]).collect();
    skus.dedup();
    items.extend(skus.into_iter().map(|sku| entry("licence", sku, sku)));
    items.extend(
        methods
            .iter()
            .filter(|m| m["type"] != "passwordAuthenticationMethod")
            .map(|m| entry("factor", &m["id"], &m["type"])),
    );
    items.extend(
        devices
            .iter()
            .map(|d| entry("device", &d["id"], &d["deviceName"])),
    );
    items.push(entry(
        "session",
        &json!("sign-in-sessions"),
        &json!("sign-in sessions and refresh tokens"),
    ));
    Value::Array(items)
}

/// One removing step's word on one item.
pub(super) fn said(kind: &str, id: &Value, state: &str, reason: Option<&str>) -> Value {
    let mut v = json!({"kind": kind, "id": id, "state": state});
    if let Some(reason) = reason {
        v["reason"] = reason.into();
    }
    if state == "absent" {
        v["complete"] = true.into();
    }
    v
}
