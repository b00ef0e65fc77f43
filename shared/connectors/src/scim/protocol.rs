//! What SCIM 2.0 (RFC 7644) says on the wire, apart from how it is sent: filters, PATCH and
//! PUT bodies, list pages, users, and error bodies in the shapes real servers use. The generic
//! SCIM connector, Slack's SCIM and GitHub's managed users all speak it.

use serde_json::{Value, json};

pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The media type SCIM requests carry (RFC 7644 §3.1).
pub const MEDIA_TYPE: &str = "application/scim+json";
/// What a SCIM client accepts: the SCIM type and, as RFC 7644 §8.1 notes servers use it,
/// plain JSON.
pub const ACCEPT: &str = "application/scim+json, application/json";

/// A filter comparing `attr` with `value` (RFC 7644 §3.4.2.2), the value quoted and escaped.
pub fn eq_filter(attr: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{attr} eq \"{escaped}\"")
}

/// The filters that look a user up by e-mail, in the order a tolerant client tries them:
/// `userName` (most apps use the address), then the e-mail value itself.
pub fn email_filters(email: &str) -> [(&'static str, String); 2] {
    [
        ("userName", eq_filter("userName", email)),
        (
            "emails.value",
            format!("emails[{}]", eq_filter("value", email)),
        ),
    ]
}

/// `PATCH` setting `active`, with `path` (RFC 7644 §3.5.2.3) or, for servers that document
/// only that shape (GitHub), as a value object without one.
pub fn patch_active(active: bool, with_path: bool) -> Value {
    let op = if with_path {
        json!({"op": "replace", "path": "active", "value": active})
    } else {
        json!({"op": "replace", "value": {"active": active}})
    };
    json!({"schemas": [PATCH_URN], "Operations": [op]})
}

/// The full resource for a `PUT` that sets `active`: everything the server returned, minus
/// what is read-only (`id`, `meta`, `groups`), so nothing writable is cleared by omission
/// (RFC 7644 §3.5.1) and nothing read-only is refused.
pub fn put_active(resource: &Value, active: bool) -> Value {
    let mut body = resource.clone();
    if let Some(map) = body.as_object_mut() {
        for read_only in ["id", "meta", "groups"] {
            map.remove(read_only);
        }
        map.insert("active".into(), Value::Bool(active));
    }
    body
}

/// A user as Passage records it: the fields that identify it and its state.
#[derive(Clone, Debug, PartialEq)]
pub struct ScimUser {
    pub id: String,
    pub user_name: String,
    pub emails: Vec<String>,
    pub active: bool,
    pub groups: Vec<String>,
    /// `meta.version`, the weak ETag, when the server keeps versions.
    pub version: Option<String>,
    /// The resource as returned, for a `PUT` that must send it back whole.
    pub raw: Value,
}

impl ScimUser {
    pub fn parse(value: &Value) -> Option<Self> {
        let strings = |v: &Value, key: &str| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e[key].as_str().map(str::to_owned))
                .collect()
        };
        Some(Self {
            id: value["id"].as_str()?.to_owned(),
            user_name: value["userName"].as_str().unwrap_or_default().to_owned(),
            emails: strings(&value["emails"], "value"),
            // A server that omits `active` has no notion of inactive users: active.
            active: value["active"].as_bool().unwrap_or(true),
            groups: strings(&value["groups"], "display"),
            version: value["meta"]["version"].as_str().map(str::to_owned),
            raw: value.clone(),
        })
    }

    /// Whether this user is the one with `email`, compared as RFC 7643 says e-mail and
    /// `userName` compare: without regard to case.
    pub fn is(&self, email: &str) -> bool {
        self.user_name.eq_ignore_ascii_case(email)
            || self.emails.iter().any(|e| e.eq_ignore_ascii_case(email))
    }

    /// The account as the evidence records it.
    pub fn view(&self) -> Value {
        json!({
            "user_id": self.id,
            "userName": self.user_name,
            "emails": self.emails,
            "active": self.active,
            "groups": self.groups,
            "version": self.version,
        })
    }
}

/// One `ListResponse` page: its users, the total, and how many it holds.
pub struct Page {
    pub users: Vec<ScimUser>,
    pub total: usize,
    pub count: usize,
}

impl Page {
    pub fn parse(body: &Value) -> Option<Self> {
        let resources = match body.get("Resources") {
            Some(r) => r.as_array()?.as_slice(),
            // RFC 7644: an empty result may leave `Resources` out.
            None => &[],
        };
        let users: Vec<ScimUser> = resources.iter().filter_map(ScimUser::parse).collect();
        let total = body["totalResults"]
            .as_u64()
            .map_or(users.len(), |t| t as usize);
        Some(Self {
            count: resources.len(),
            total,
            users,
        })
    }
}

/// What a refusal's body says, whatever shape it takes: RFC 7644 (`detail`, `scimType`,
/// `status` as a string), GitHub (`message`, `status` as an integer), Slack (`Errors:
/// {description, code}`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub scim_type: Option<String>,
    pub detail: String,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let errors = v.get("Errors").map(|e| match e {
            Value::Array(list) => list.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        });
        let detail = [
            v["detail"].as_str(),
            errors.as_ref().and_then(|e| e["description"].as_str()),
            v["message"].as_str(),
        ]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_default()
        .to_owned();
        Self {
            scim_type: v["scimType"].as_str().map(str::to_owned),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_quote_and_escape_the_value() {
        assert_eq!(
            eq_filter("userName", r#"a"b\c@example.com"#),
            r#"userName eq "a\"b\\c@example.com""#
        );
        let [(_, user), (_, email)] = email_filters("x@y.z");
        assert_eq!(user, r#"userName eq "x@y.z""#);
        assert_eq!(email, r#"emails[value eq "x@y.z"]"#);
    }

    #[test]
    fn a_put_body_keeps_what_is_writable_and_drops_what_is_not() {
        let user = json!({"schemas": ["u"], "id": "1", "userName": "a", "emails": [{"value": "a@b"}],
            "groups": [{"display": "g"}], "meta": {"version": "W/\"3\""}, "active": true});
        let body = put_active(&user, false);
        assert_eq!(
            body,
            json!({"schemas": ["u"], "userName": "a", "emails": [{"value": "a@b"}], "active": false})
        );
    }

    #[test]
    fn error_bodies_are_read_in_every_shape() {
        let rfc = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"no"}"#;
        assert_eq!(
            ErrorBody::parse(rfc),
            ErrorBody {
                scim_type: Some("invalidFilter".into()),
                detail: "no".into()
            }
        );
        let slack = br#"{"Errors":{"description":"cannot_disable_primary_owner","code":403}}"#;
        assert_eq!(
            ErrorBody::parse(slack).detail,
            "cannot_disable_primary_owner"
        );
        let github = br#"{"message":"Not Found","status":404}"#;
        assert_eq!(ErrorBody::parse(github).detail, "Not Found");
        assert_eq!(ErrorBody::parse(b"<html>").detail, "");
    }

    #[test]
    fn a_user_is_matched_without_regard_to_case() {
        let u = ScimUser::parse(&json!({"id": "1", "userName": "Jane.Doe@Example.com"})).unwrap();
        assert!(u.is("jane.doe@example.com"));
        assert!(u.active, "no `active` means active");
        let page = Page::parse(&json!({"totalResults": 0})).unwrap();
        assert_eq!((page.total, page.count), (0, 0));
    }
}
