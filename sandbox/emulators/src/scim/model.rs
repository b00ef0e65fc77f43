//! A SCIM User (RFC 7643 §4.1) as the emulator keeps it, its JSON form, and what a `PUT`
//! body replaces.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::common::clock::format_millis;
use crate::scim::errors::ScimError;
use crate::scim::flavor::Flavor;

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One e-mail address of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub value: String,
    pub kind: String,
    pub primary: bool,
}

/// One user of the service provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimUser {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub display_name: Option<String>,
    pub emails: Vec<Email>,
    pub active: bool,
    /// Display names of the groups the user is in (read-only in SCIM: set through Groups).
    pub groups: Vec<String>,
    /// Bumped on every change; the weak ETag is `W/"<version>"`.
    pub version: u64,
    pub created: Timestamp,
    pub last_modified: Timestamp,
}

impl ScimUser {
    /// The weak ETag of the current version.
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    /// The resource as the server returns it; `base` is the server's SCIM base URL.
    pub fn render(&self, base: &str, flavor: Flavor) -> Value {
        let mut meta = json!({
            "resourceType": "User",
            "created": format_millis(self.created),
            "lastModified": format_millis(self.last_modified),
            "location": format!("{base}/Users/{}", self.id),
        });
        if flavor.etags() {
            meta["version"] = self.etag().into();
        }
        let mut user = json!({
            "schemas": [USER_URN],
            "id": self.id,
            "userName": self.user_name,
            "name": {
                "givenName": self.given_name,
                "familyName": self.family_name,
                "formatted": format!("{} {}", self.given_name, self.family_name),
            },
            "emails": self.emails.iter().map(|e| json!({
                "value": e.value, "type": e.kind, "primary": e.primary,
            })).collect::<Vec<_>>(),
            "active": self.active,
            "groups": self.groups.iter().map(|g| json!({"display": g})).collect::<Vec<_>>(),
            "meta": meta,
        });
        if let Some(x) = &self.external_id {
            user["externalId"] = x.clone().into();
        }
        if let Some(d) = &self.display_name {
            user["displayName"] = d.clone().into();
        }
        user
    }

    /// Replaces every writable attribute with what a `PUT` body says (RFC 7644 §3.5.1):
    /// attributes the body leaves out are cleared, read-only ones (`id`, `meta`, `groups`)
    /// kept. The lenient flavour refuses a body that carries `meta` at all.
    pub fn replace_from(&mut self, body: &Value, flavor: Flavor) -> Result<(), ScimError> {
        let schemas_ok = body["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == USER_URN));
        if !schemas_ok {
            return Err(ScimError::bad(
                flavor,
                "invalidSyntax",
                "the body must name the User schema",
            ));
        }
        if flavor == Flavor::Lenient && body.get("meta").is_some() {
            return Err(ScimError::bad(
                flavor,
                "mutability",
                "Attribute 'meta' is readOnly and cannot be sent",
            ));
        }
        let Some(user_name) = body["userName"].as_str().filter(|u| !u.is_empty()) else {
            return Err(ScimError::bad(
                flavor,
                "invalidValue",
                "userName is required",
            ));
        };
        let active = match body.get("active") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ScimError::bad(
                    flavor,
                    "invalidValue",
                    "active must be a boolean",
                ));
            }
        };
        self.user_name = user_name.to_owned();
        self.active = active;
        self.external_id = body["externalId"].as_str().map(str::to_owned);
        self.display_name = body["displayName"].as_str().map(str::to_owned);
        self.given_name = body["name"]["givenName"].as_str().unwrap_or("").to_owned();
        self.family_name = body["name"]["familyName"].as_str().unwrap_or("").to_owned();
        self.emails = emails_of(&body["emails"]);
        Ok(())
    }
}

fn emails_of(value: &Value) -> Vec<Email> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some(Email {
                value: e["value"].as_str()?.to_owned(),
                kind: e["type"].as_str().unwrap_or("work").to_owned(),
                primary: e["primary"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// A `ListResponse` page (RFC 7644 §3.4.2).
pub fn list_response(total: usize, start: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start,
        "Resources": resources,
    })
}
