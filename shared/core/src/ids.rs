//! Identifiers. Newtypes so a tenant id can never be passed where a run id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

id_type!(
    /// A customer organisation (an MSP serves many). Everything a run touches is scoped to one.
    TenantId
);
id_type!(
    /// One leaver run. Random, so ids leak nothing about volume or order.
    RunId
);
id_type!(
    /// A step's name within its run's plan, `provider.action` (e.g. `okta.suspend`).
    StepKey
);

impl RunId {
    /// A fresh random run id.
    pub fn generate() -> Self {
        Self(format!("run_{}", uuid::Uuid::new_v4().simple()))
    }
}

/// True when `s` is a valid tenant id: 1–64 of `[a-z0-9-]`, the same rule the leaver event schema
/// applies, so a tenant id is always safe as a path segment and a storage key.
pub fn is_valid_tenant_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
