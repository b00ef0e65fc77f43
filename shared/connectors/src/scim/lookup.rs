//! Finding the leaver in a SCIM app by e-mail, on whatever filters the server runs.
//!
//! Servers differ: some filter on `userName` only, some compare it case-sensitively, some
//! refuse `emails` filters, some ignore filters altogether. So each answer is checked on the
//! client side (without regard to case), a refused or empty filter falls through to the next,
//! and when none finds the leaver every page of users is read. "No account" is only ever said
//! after that full listing.

use super::api::Api;
use super::protocol::{ScimUser, email_filters};
use crate::http::permanent;
use passage_core::CallRecord;
use passage_core::ports::ActionFailure;

/// Whom a lookup found, and how.
pub struct Found {
    pub user: Option<ScimUser>,
    /// `filter userName`, `filter emails.value`, `listing of N users`, or `id from the
    /// snapshot`.
    pub how: String,
}

/// The user with `email`, trying each filter then the full listing.
pub async fn by_email(
    api: &Api,
    email: &str,
    calls: &mut Vec<CallRecord>,
) -> Result<Found, ActionFailure> {
    let features = api.features(calls).await?;
    if features.filter {
        for (attr, filter) in email_filters(email) {
            let Some(users) = api.search(&filter, calls).await? else {
                continue;
            };
            if let Some(user) = one(api, users, email)? {
                return Ok(Found {
                    user: Some(user),
                    how: format!("filter {attr}"),
                });
            }
        }
    }
    let users = api.all_users(calls).await?;
    let listed = users.len();
    Ok(Found {
        user: one(api, users, email)?,
        how: format!("listing of {listed} users"),
    })
}

/// The one user among `users` with `email`; two is an error a person must resolve.
fn one(api: &Api, users: Vec<ScimUser>, email: &str) -> Result<Option<ScimUser>, ActionFailure> {
    let mut matching: Vec<ScimUser> = users.into_iter().filter(|u| u.is(email)).collect();
    match matching.len() {
        0 => Ok(None),
        1 => Ok(matching.pop()),
        n => Err(permanent(
            "user_ambiguous",
            format!(
                "{n} {} accounts have the address {email}; resolve the duplicates in {} first",
                api.app, api.app
            ),
        )),
    }
}
