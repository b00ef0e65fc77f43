//! `[[operators]]` as the HTTP API checks them: each with a credential, for tenants that exist;
//! and the `[[oidc]]` providers the console signs people in with.

use crate::file::{OidcConfig, OperatorConfig, OperatorOidcConfig, TenantConfig};
use crate::secrets::resolve_secret;
use anyhow::{Context, Result, bail};
use passage_http::{OidcIdentity, OidcProvider};
use std::collections::HashSet;

/// A bearer token shorter than this is guessable; the API keeps only its hash.
const MIN_TOKEN_CHARS: usize = 24;

pub(crate) fn operators(
    list: &[OperatorConfig],
    tenants: &[TenantConfig],
    providers: &[OidcProvider],
) -> Result<Vec<passage_http::Operator>> {
    let known: HashSet<&str> = tenants.iter().map(|t| t.id.as_str()).collect();
    list.iter()
        .map(|o| operator(o, Some(&known), providers))
        .collect()
}

/// Operators whose tenants live elsewhere (one secret each on AWS): their tenant lists are
/// checked for form only, since a tenant may be added after its operator.
pub(crate) fn operators_of_elsewhere(
    list: &[OperatorConfig],
    providers: &[OidcProvider],
) -> Result<Vec<passage_http::Operator>> {
    list.iter().map(|o| operator(o, None, providers)).collect()
}

/// The `[[oidc]]` providers, each checked: a name a URL can carry, an issuer over HTTPS (plain
/// HTTP only on this machine), a readable secret, and a callback the console serves.
pub(crate) fn oidc_providers(list: &[OidcConfig]) -> Result<Vec<OidcProvider>> {
    let mut seen = HashSet::new();
    list.iter()
        .map(|c| {
            let at = format!("oidc {:?}", c.name);
            let name_ok = !c.name.is_empty()
                && c.name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
                && c.name != "callback";
            if !name_ok {
                bail!("{at}: a name is letters, digits, '-', '_' or '.' (and not \"callback\")");
            }
            if !seen.insert(c.name.as_str()) {
                bail!("{at}: named twice");
            }
            if !secure_or_local(&c.issuer) {
                bail!("{at}: the issuer must be an https:// URL (http:// only for localhost)");
            }
            if c.client_id.trim().is_empty() {
                bail!("{at}: client_id is empty");
            }
            if let Some(url) = &c.redirect_url
                && (!secure_or_local(url) || !url.ends_with(passage_http::OIDC_CALLBACK_PATH))
            {
                bail!(
                    "{at}: redirect_url must be the console's https:// URL ending in {}",
                    passage_http::OIDC_CALLBACK_PATH
                );
            }
            let secret = resolve_secret(&c.client_secret).with_context(|| at.clone())?;
            Ok(OidcProvider::new(
                c.name.clone(),
                c.issuer.clone(),
                c.client_id.clone(),
                secret,
                c.redirect_url.clone(),
            ))
        })
        .collect()
}

fn secure_or_local(url: &str) -> bool {
    let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"];
    url.starts_with("https://")
        || local.iter().any(|l| {
            url.strip_prefix(l)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        })
}

/// The operator's identity at a provider.
fn oidc_identity(
    o: &OperatorOidcConfig,
    at: &str,
    providers: &[OidcProvider],
) -> Result<OidcIdentity> {
    if !providers.iter().any(|p| p.name == o.provider) {
        bail!(
            "{at}: oidc.provider {:?} is not an [[oidc]] provider",
            o.provider
        );
    }
    match (&o.subject, &o.email) {
        (Some(sub), None) if !sub.trim().is_empty() => Ok(OidcIdentity::Subject(sub.clone())),
        (None, Some(email)) if email.contains('@') => Ok(OidcIdentity::Email(email.clone())),
        _ => bail!("{at}: oidc needs exactly one of subject or email"),
    }
}

fn operator(
    o: &OperatorConfig,
    known: Option<&HashSet<&str>>,
    providers: &[OidcProvider],
) -> Result<passage_http::Operator> {
    let at = format!("operator {}", o.name);
    if o.token.is_none()
        && o.iam_principal.is_none()
        && o.password_hash.is_none()
        && o.oidc.is_none()
    {
        bail!(
            "{at}: needs a token or an iam_principal (or, for the console, a password_hash or an oidc identity)"
        );
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
    let op = match &o.password_hash {
        Some(phc) => op.with_password_hash(phc.clone()),
        None => op,
    };
    Ok(match &o.oidc {
        Some(c) => op.with_oidc(c.provider.clone(), oidc_identity(c, &at, providers)?),
        None => op,
    })
}
