//! JumpCloud's budgets. JumpCloud documents that it answers 429, but neither a number nor a
//! rate-limit header (<https://jumpcloud.com/support/best-practices-jumpcloud-api>): these
//! budgets are cautious guesses, and a 429 pauses every caller of the org.

use crate::pace::read_budgets;
use passage_core::pace::Rate;

const BUDGETS: &[(&str, &str)] = &[("api", "300/min"), ("insights", "60/min")];

pub(crate) fn budgets() -> Vec<(&'static str, Rate)> {
    read_budgets(BUDGETS)
}

/// The family of a call to `path`: Directory Insights, or the v1 and v2 APIs.
pub(crate) fn family(path: &str) -> &'static str {
    if path.starts_with("/insights/") {
        "insights"
    } else {
        "api"
    }
}
