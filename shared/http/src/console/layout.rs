//! The frame every console page shares: skip link, navigation, who is signed in, a notice
//! saying what the last action did, and the page itself. Text always says what colour shows.

use super::session::Session;
use crate::error::ApiError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// What the last action did, shown above the page it returned to.
pub(crate) enum Notice {
    Done(String),
    Refused(String),
}

impl Notice {
    pub(crate) fn from_result(result: Result<String, ApiError>) -> Self {
        match result {
            Ok(done) => Notice::Done(done),
            Err(e) => Notice::Refused(e.message().to_owned()),
        }
    }

    fn render(&self) -> Markup {
        match self {
            Notice::Done(text) => html! {
                div.notice.done role="status" { strong { "Done: " } (text) }
            },
            Notice::Refused(text) => html! {
                div.notice.refused role="alert" { strong { "Not done: " } (text) }
            },
        }
    }
}

const NAV: [(&str, &str); 4] = [
    ("/console", "Needs attention"),
    ("/console/runs", "Runs"),
    ("/console/tenants", "Tenants"),
    ("/console/evidence", "Evidence"),
];

/// A full page. `current` is the navigation entry to mark as the current page.
pub(crate) fn page(
    title: &str,
    current: &str,
    session: Option<(&Session, &str)>,
    notice: Option<&Notice>,
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Passage" }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Passage" }
                    @if let Some((s, csrf)) = session {
                        nav aria-label="Console" {
                            ul {
                                @for (href, label) in NAV {
                                    li {
                                        @if href == current {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(csrf);
                            span { "Signed in as " strong { (s.op.name) } }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    @if let Some(n) = notice { (n.render()) }
                    (content)
                }
            }
        }
    }
}

/// A page answered with `status` (a refusal keeps its status, so scripts and tests see it).
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// The page for a tenant or run the operator cannot see: the same words whether it does not
/// exist or is outside their scope.
pub(crate) fn not_found(session: &Session, csrf: &str) -> Response {
    let content = html! {
        p { "There is nothing here you can see. It may not exist, or it may belong to a tenant outside your scope." }
        p { a href="/console" { "Back to what needs attention" } }
    };
    respond(
        StatusCode::NOT_FOUND,
        page("Not found", "", Some((session, csrf)), None, content),
    )
}

/// A state in words, with a class for its colour.
pub(crate) fn state_badge(state: &str) -> Markup {
    let class = match state {
        "blocked" | "failed" | "past SLA" => "bad",
        "held" | "awaiting" | "scheduled" | "retry_wait" => "wait",
        "closed" | "verified" | "sealed" | "waived" | "not_applicable" => "good",
        _ => "neutral",
    };
    html! { span class={"badge " (class)} { (state) } }
}

/// A timestamp to the second, in UTC.
pub(crate) fn at(t: jiff::Timestamp) -> Markup {
    let text = t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string();
    html! { time datetime=(t.to_string()) { (text) } }
}

pub(crate) fn hidden_csrf(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

pub(crate) async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

pub(crate) async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}
