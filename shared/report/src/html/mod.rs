//! The pages' shared parts: one stylesheet (screen and print), the page shell, and how times,
//! delays and SLA grades are shown.

mod index;
mod period;
mod run;

pub use index::{IndexEntry, IndexInput, period_index};
pub use period::period_page;
pub use run::{RunPageInput, run_page};

use jiff::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use passage_core::report::SlaOutcome;

/// Inline, so a saved page or its PDF needs nothing else. Print: A4 landscape, colours kept,
/// rows never split across pages.
const CSS: &str = r#"
:root { --ok: #1b7f3b; --bad: #b3261e; --wait: #8a6d00; --ink: #1d1d1f; --muted: #5f6368; --line: #d0d4da; }
* { box-sizing: border-box; }
body { font: 13px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 2px solid var(--ink); padding-bottom: 2px; }
p.meta, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f1f3f4; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 11px; word-break: break-all; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 11px; font-weight: 600; }
.met { background: var(--ok); } .breached { background: var(--bad); } .pending { background: var(--wait); }
.summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.summary div { border: 1px solid var(--line); border-radius: 4px; padding: 8px 12px; min-width: 130px; }
.summary b { display: block; font-size: 20px; }
.bar { position: relative; height: 10px; background: #eef0f2; min-width: 160px; }
.bar .fill { position: absolute; left: 0; top: 0; bottom: 0; }
.bar .fill.met { background: var(--ok); } .bar .fill.breached { background: var(--bad); }
.bar .fill.pending { background: var(--wait); opacity: .5; }
.bar .due { position: absolute; top: -3px; bottom: -3px; left: 50%; border-left: 2px solid var(--ink); }
.alert { border-left: 4px solid var(--bad); background: #fdecea; padding: 6px 10px; }
.note { border-left: 4px solid var(--line); background: #f8f9fa; padding: 6px 10px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; font-size: 10px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  tr, .summary div { page-break-inside: avoid; }
  h2 { page-break-after: avoid; }
}
"#;

/// A whole page: doctype, title, the stylesheet and `body`. A strict content security policy
/// states that the page loads nothing.
pub(crate) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
}

/// `2026-03-02 17:00:00 UTC`.
pub(crate) fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(crate) fn opt_time(t: Option<Timestamp>) -> String {
    t.map(time).unwrap_or_else(|| "—".into())
}

/// A delay for people: `45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`.
pub fn duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "−" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let text = match (d, h, m) {
        (0, 0, 0) => format!("{sec} s"),
        (0, 0, _) => format!("{m} min {sec} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    };
    format!("{sign}{text}")
}

pub(crate) fn opt_duration(seconds: Option<i64>) -> String {
    seconds.map(duration).unwrap_or_else(|| "—".into())
}

pub(crate) fn badge(outcome: SlaOutcome) -> Markup {
    html! { span class={ "badge " (outcome.as_str()) } { (outcome.as_str()) } }
}

/// A delay against the SLA as a bar: the SLA is the line at the middle, the fill is the delay
/// (capped at twice the SLA).
pub(crate) fn sla_bar(delay: Option<i64>, sla_seconds: u64, outcome: SlaOutcome) -> Markup {
    let width = match delay {
        Some(d) if sla_seconds > 0 => (d.max(0) as f64 / sla_seconds as f64 * 50.0).min(100.0),
        _ => 100.0,
    };
    html! {
        div class="bar" title={ "delay " (opt_duration(delay)) " against an SLA of " (duration(sla_seconds as i64)) } {
            div class={ "fill " (outcome.as_str()) } style={ "width:" (format!("{width:.1}")) "%" } {}
            div class="due" {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_as_people_say_them() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(725), "12 min 5 s");
        assert_eq!(duration(3 * 3600 + 20 * 60), "3 h 20 min");
        assert_eq!(duration(2 * 86_400 + 4 * 3600 + 59), "2 d 4 h");
        assert_eq!(duration(-30), "−30 s");
    }
}
