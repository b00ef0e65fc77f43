//! `[[operators]]` as the HTTP API checks them: each with a credential, for tenants that exist.

use crate::file::{OperatorConfig, TenantConfig};
use crate::secrets::resolve_secret;
use anyhow::{Context, Result, bail};
use std::collections::HashSet;

/// A bearer token shorter than this is guessable; the API keeps only its hash.
const MIN_TOKEN_CHARS: usize = 24;

pub(crate) fn operators(
    list: &[OperatorConfig],
    tenants: &[TenantConfig],
) -> Result<Vec<passage_http::Operator>> {
    let known: HashSet<&str> = tenants.iter().map(|t| t.id.as_str()).collect();
    list.iter().map(|o| operator(o, Some(&known))).collect()
}

/// Operators whose tenants live elsewhere (one secret each on AWS): their tenant lists are
/// checked for form only, since a tenant may be added after its operator.
pub(crate) fn operators_of_elsewhere(
    list: &[OperatorConfig],
) -> Result<Vec<passage_http::Operator>> {
    list.iter().map(|o| operator(o, None)).collect()
}

fn operator(o: &OperatorConfig, known: Option<&HashSet<&str>>) -> Result<passage_http::Operator> {
    let at = format!("operator {}", o.name);
    if o.token.is_none() && o.iam_principal.is_none() && o.password_hash.is_none() {
        bail!("{at}: needs a token or an iam_principal (or a password_hash for the console)");
    }
    if let Some(phc) = &o.password_hash
        && !phc.starts_with("$argon2")
    {
        bail!("{at}: password_hash must be an Argon2 hash from `passage operator hash-password`");
    }
    if o.tenants.is_empty() {
        bail!("{at}: lists no tenants (use \"*\" for all)");
    }
    for t in &o.tenants {
        let configured = match known {
            Some(known) => known.contains(t.as_str()),
            None => passage_core::ids::is_valid_tenant_id(t),
        };
        if t != "*" && !configured {
            bail!("{at}: tenant {t:?} is not configured");
        }
    }
    let token = o
        .token
        .as_deref()
        .map(resolve_secret)
        .transpose()
        .with_context(|| at.clone())?;
    if let Some(t) = &token
        && t.expose().len() < MIN_TOKEN_CHARS
    {
        bail!("{at}: the token is too short ({MIN_TOKEN_CHARS} characters at least)");
    }
    let op = passage_http::Operator::new(
        o.name.clone(),
        token.as_ref(),
        o.iam_principal.clone(),
        o.tenants.clone(),
    );
    Ok(match &o.password_hash {
        Some(phc) => op.with_password_hash(phc.clone()),
        None => op,
    })
}
