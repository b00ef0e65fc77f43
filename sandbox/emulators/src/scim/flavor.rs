//! How one SCIM service provider departs from another. RFC 7644 leaves much optional, and real
//! servers differ exactly there: which filters they run, whether they take PATCH, whether they
//! give ETags, how they spell errors and discovery. Two flavours cover the behaviours a client
//! must tolerate.

use serde_json::{Value, json};

/// A SCIM server's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// By the book: `PATCH` (with or without `path`), filters on `userName`, `emails`,
    /// `emails.value`, `emails[value eq …]`, `externalId` and `id` (case rules per RFC 7643:
    /// `userName` and e-mails compare case-insensitively), weak ETags in `meta.version` and
    /// `ETag` with `If-Match` honoured (412 when stale), RFC 7644 error bodies (`status` as a
    /// string), `/ServiceProviderConfig`.
    Strict,
    /// What many real servers do: filtering only on `userName`, compared case-sensitively
    /// (`emails` filters are refused with 400 `invalidFilter`); no `PATCH` (501, and
    /// `patch.supported: false`), so `PUT` the full resource, where `meta` is refused and an
    /// omitted attribute is cleared; pages of at most two users whatever `count` asks; no
    /// ETags; errors with an integer `status`; discovery only at the plural
    /// `/ServiceProviderConfigs`.
    Lenient,
}

impl Flavor {
    pub fn patch(self) -> bool {
        self == Flavor::Strict
    }

    pub fn etags(self) -> bool {
        self == Flavor::Strict
    }

    /// The most users one page holds, whatever the client asks for.
    pub fn page_cap(self) -> usize {
        match self {
            Flavor::Strict => 100,
            Flavor::Lenient => 2,
        }
    }

    /// The discovery path this server answers.
    pub fn config_path(self) -> &'static str {
        match self {
            Flavor::Strict => "/ServiceProviderConfig",
            Flavor::Lenient => "/ServiceProviderConfigs",
        }
    }

    /// Whether a filter on `attr` runs here, and whether it compares case-insensitively.
    pub fn filter(self, attr: &str) -> Option<bool> {
        let attr = attr.to_ascii_lowercase();
        match self {
            Flavor::Strict => match attr.as_str() {
                "username" | "emails" | "emails.value" => Some(true),
                "externalid" | "id" => Some(false),
                _ => None,
            },
            Flavor::Lenient => (attr == "username").then_some(false),
        }
    }

    /// The `ServiceProviderConfig` resource (RFC 7643 §5).
    pub fn service_provider_config(self, base: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://example.com/help/scim.html",
            "patch": {"supported": self.patch()},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": self.page_cap()},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": self.etags()},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard",
                "primary": true,
            }],
            "meta": {
                "location": format!("{base}{}", self.config_path()),
                "resourceType": "ServiceProviderConfig",
            },
        })
    }
}
