//! Clients for HR systems' APIs (BambooHR, HiBob, Personio, Merge, Gusto, Finch, Rippling).
//! Webhooks from most HR systems are hints ("employee 123 changed"); these clients fetch what
//! is actually true, for intake and for the periodic reconcile. Each implements
//! [`passage_core::ports::HrSource`]; [`source`] builds the one a tenant's [`HrSettings`] name.

pub mod bamboohr;
pub mod finch;
pub mod gusto;
pub mod hibob;
mod http;
pub mod merge;
pub mod personio;
pub mod registry;
pub mod rippling;

use std::sync::Arc;

use passage_core::ports::HrSource;
use serde::Deserialize;

pub use bamboohr::{BambooHr, BambooHrSettings};
pub use finch::{Finch, FinchSettings};
pub use gusto::{Gusto, GustoSettings};
pub use hibob::{HiBob, HiBobSettings};
pub use merge::{Merge, MergeSettings};
pub use personio::{Personio, PersonioSettings};
pub use registry::HrRegistry;
pub use rippling::{Rippling, RipplingSettings};

/// One tenant's HR system, as configured (`vendor = "bamboohr"` plus that vendor's settings).
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "vendor", rename_all = "lowercase")]
pub enum HrSettings {
    Bamboohr(BambooHrSettings),
    Hibob(HiBobSettings),
    Personio(PersonioSettings),
    Merge(MergeSettings),
    Gusto(GustoSettings),
    Finch(FinchSettings),
    Rippling(RipplingSettings),
}

impl HrSettings {
    /// The vendor name as recorded in evidence.
    pub fn vendor(&self) -> &'static str {
        match self {
            Self::Bamboohr(_) => "bamboohr",
            Self::Hibob(_) => "hibob",
            Self::Personio(_) => "personio",
            Self::Merge(_) => "merge",
            Self::Gusto(_) => "gusto",
            Self::Finch(_) => "finch",
            Self::Rippling(_) => "rippling",
        }
    }
}

/// The client for a tenant's HR system. Building one does no I/O; bad settings (a base URL
/// that is not a URL, a company domain with a dot) surface on the first call as
/// [`passage_core::ports::HrError::Malformed`] naming the setting.
pub fn source(settings: &HrSettings) -> Arc<dyn HrSource> {
    match settings.clone() {
        HrSettings::Bamboohr(s) => Arc::new(BambooHr::new(s)),
        HrSettings::Hibob(s) => Arc::new(HiBob::new(s)),
        HrSettings::Personio(s) => Arc::new(Personio::new(s)),
        HrSettings::Merge(s) => Arc::new(Merge::new(s)),
        HrSettings::Gusto(s) => Arc::new(Gusto::new(s)),
        HrSettings::Finch(s) => Arc::new(Finch::new(s)),
        HrSettings::Rippling(s) => Arc::new(Rippling::new(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_pick_the_vendor_and_hide_secrets() {
        let settings: HrSettings = serde_json::from_str(
            r#"{"vendor":"bamboohr","company_domain":"acme","api_key":"k-123-secret"}"#,
        )
        .unwrap();
        assert_eq!(source(&settings).vendor(), "bamboohr");
        assert!(!format!("{settings:?}").contains("k-123-secret"));
        let merge: HrSettings = serde_json::from_str(
            r#"{"vendor":"merge","api_key":"a","account_token":"b","base_url":"http://127.0.0.1:1"}"#,
        )
        .unwrap();
        assert_eq!(source(&merge).vendor(), "merge");
        let err = serde_json::from_str::<HrSettings>(r#"{"vendor":"workday"}"#).unwrap_err();
        assert!(err.to_string().contains("workday"));
    }
}
