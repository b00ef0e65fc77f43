//! The browsable index a period link opens on: the report in each format, the keys, the chain
//! checkpoint, the archives and every bundle of the period with its files.

use super::{page, time};
use jiff::Timestamp;
use maud::html;

/// A linked file: what it is and where (the link's query already appended).
pub struct IndexEntry {
    pub label: String,
    pub href: String,
    pub note: String,
}

pub struct IndexInput<'a> {
    pub tenant: &'a str,
    pub period: &'a str,
    pub expires: Timestamp,
    pub report: &'a [IndexEntry],
    pub bundles: &'a [(String, Vec<IndexEntry>)],
}

pub fn period_index(i: &IndexInput<'_>) -> String {
    let title = format!("Evidence for {} — {}", i.tenant, i.period);
    page(
        &title,
        html! {
            h1 { (title) }
            p.meta { "This link expires " (time(i.expires)) ". Every fetch through it is recorded." }
            h2 { "Report, keys and archives" }
            table {
                tr { th { "File" } th { "What" } }
                @for e in i.report { tr { td { a href=(e.href) { (e.label) } } td { (e.note) } } }
            }
            h2 { "Bundles of the period (" (i.bundles.len()) ")" }
            @for (run, files) in i.bundles {
                p { b.mono { (run) } }
                table {
                    @for e in files { tr { td { a href=(e.href) { (e.label) } } td.muted { (e.note) } } }
                }
            }
        },
    )
    .into_string()
}
