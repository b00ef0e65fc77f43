//! Slack incoming webhooks: a JSON POST with a plain `text` (shown in notifications and as
//! the fallback) and Block Kit `blocks` (header, body, context). Slack answers `200 ok`, or a
//! status with a short error string (`invalid_payload`, `action_prohibited`, `no_service`,
//! `channel_not_found`, `channel_is_archived`), or 429 with `Retry-After`; all of it ends up
//! in the delivery's detail.

use passage_core::ports::Notice;
use serde_json::{Value, json};
use url::Url;

use crate::error::DeliveryError;
use crate::http::{self, Reply};

/// Block Kit limits: header text 150 characters, section text 3000.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The message body for `notice`.
pub(crate) fn payload(notice: &Notice) -> Value {
    let label = notice.kind.label();
    let text = format!("{}\n{}", escape(&notice.subject), escape(&notice.text));
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&notice.subject, HEADER_MAX)},
    })];
    if !notice.text.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&escape(&notice.text), SECTION_MAX)},
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!(
                "{label} · tenant {} · run `{}`{}",
                escape(&notice.tenant),
                escape(notice.run_id.as_str()),
                notice
                    .step
                    .as_ref()
                    .map(|s| format!(" · step `{}`", escape(s.as_str())))
                    .unwrap_or_default(),
            ),
        }],
    }));
    json!({ "text": text, "blocks": blocks })
}

/// POSTs `notice` to the incoming webhook at `url`.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    url: Url,
    notice: &Notice,
) -> Result<Reply, DeliveryError> {
    let body = payload(notice);
    http::post(|| client.post(url.clone()).json(&body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_limits_text() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(truncate("abcdef", 4).chars().count(), 4);
        assert_eq!(truncate("abc", 4), "abc");
    }
}
