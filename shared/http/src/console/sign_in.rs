//! Signing in and out: a password checked against the operator's Argon2 hash, or a pasted
//! operator token, either way ending in a session cookie.

use super::csrf;
use super::layout::{self, Notice};
use super::session::{self, Session, SessionKey};
use crate::ApiState;
use crate::operator::Operator;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use std::sync::OnceLock;

pub(crate) async fn form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(key) = SessionKey::of(&state) {
        let now = jiff::Timestamp::now().as_second();
        if session::read(&key, &state.operators, &headers, now).is_some() {
            return Redirect::to("/console").into_response();
        }
    }
    sign_in_page(&state, StatusCode::OK, None)
}

fn sign_in_page(state: &ApiState, status: StatusCode, notice: Option<Notice>) -> Response {
    let providers = state.operators.oidc_providers();
    let content = html! {
        @if !providers.is_empty() {
            section.card aria-labelledby="with-idp" {
                h2 #with-idp { "With your organisation's account" }
                ul { @for p in providers {
                    li { a.button href={"/console/sign-in/oidc/" (p.name)} { "Sign in with " (p.name) } }
                } }
            }
        }
        div.grid {
            section.card aria-labelledby="with-password" {
                h2 #with-password { "With your password" }
                form.stack method="post" action="/console/sign-in" {
                    input type="hidden" name="method" value="password";
                    label for="name" { "Operator name"
                        input #name name="name" type="text" autocomplete="username" required; }
                    label for="password" { "Password"
                        input #password name="password" type="password" autocomplete="current-password" required; }
                    button type="submit" { "Sign in" }
                }
            }
            section.card aria-labelledby="with-token" {
                h2 #with-token { "With an operator token" }
                form.stack method="post" action="/console/sign-in" {
                    input type="hidden" name="method" value="token";
                    label for="token" { "Operator token"
                        input #token name="token" type="password" autocomplete="off" required; }
                    button type="submit" { "Sign in with token" }
                }
            }
        }
        p.muted { "A password is set with " code { "passage operator hash-password" } " and the "
            code { "password_hash" } " of the operator in passage.toml." }
    };
    layout::respond(
        status,
        layout::page("Sign in", "", None, notice.as_ref(), content),
    )
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    method: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

pub(crate) async fn submit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    if let Err(refusal) = csrf::same_origin(&headers) {
        let notice = Notice::Refused(refusal.message().into());
        return sign_in_page(&state, StatusCode::FORBIDDEN, Some(notice));
    }
    let Some(key) = SessionKey::of(&state) else {
        let notice = Notice::Refused(
            "this deployment has no link key to sign console sessions with; set one and restart"
                .into(),
        );
        return sign_in_page(&state, StatusCode::SERVICE_UNAVAILABLE, Some(notice));
    };
    let found = match f.method.as_str() {
        "token" => state.operators.by_token(f.token.trim()).cloned(),
        _ => by_password(&state, f.name.trim(), f.password).await,
    };
    let Some(op) = found else {
        let notice = Notice::Refused(match f.method.as_str() {
            "token" => "that token is not an operator token of this deployment".into(),
            _ => "the name and password do not match an operator with a password".into(),
        });
        return sign_in_page(&state, StatusCode::UNAUTHORIZED, Some(notice));
    };
    let cookie = session::issue(&key, &op, jiff::Timestamp::now().as_second(), &headers);
    tracing::info!(operator = %op.name, method = %f.method, "console sign-in");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/console".into()),
        ],
    )
        .into_response()
}

/// The operator whose password this is. An unknown name costs as much as a wrong password, so
/// timing does not tell which names exist.
async fn by_password(state: &ApiState, name: &str, password: String) -> Option<Operator> {
    let op = state.operators.by_name(name).cloned();
    let phc = op
        .as_ref()
        .and_then(|o| o.password_phc().map(str::to_owned));
    let matched = tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| decoy().to_owned());
        verify(&phc, &password) && known
    })
    .await
    .unwrap_or(false);
    op.filter(|_| matched)
}

fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of nothing anyone knows, verified against when the name is unknown.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

/// An Argon2id PHC string for `password`, with a random salt: what `password_hash` holds.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[derive(Deserialize)]
pub(crate) struct SignOut {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn sign_out(
    State(state): State<ApiState>,
    session: Session,
    headers: HeaderMap,
    Form(f): Form<SignOut>,
) -> Response {
    if let Some(key) = SessionKey::of(&state)
        && csrf::check(&headers, &key, &session, &f.csrf).is_err()
    {
        return (
            StatusCode::FORBIDDEN,
            "refused: reload the console and sign out again",
        )
            .into_response();
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, session::cleared(&headers)),
            (header::LOCATION, "/console/sign-in".into()),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(&phc, "correct horse"));
        assert!(!verify(&phc, "correct horse "));
        assert!(!verify("not a phc string", "correct horse"));
    }
}
