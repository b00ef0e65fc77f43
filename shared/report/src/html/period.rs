//! The period report as a page: summary, statistics per system, completeness against the HR
//! system, every leaver with each system's removal against the SLA, exceptions, cancelled runs
//! and the controls the period's evidence is relevant to.

use super::{badge, duration, opt_duration, opt_time, page, sla_bar, time};
use maud::{Markup, html};
use passage_core::report::{Completeness, LeaverRow, PeriodReport, SystemStats};
use std::collections::BTreeMap;

pub fn period_page(r: &PeriodReport) -> String {
    let title = format!(
        "Leaver access removal — {}, {} to {}",
        r.tenant_name, r.period.from, r.period.to
    );
    page(
        &title,
        html! {
            h1 { (title) }
            p.meta {
                "Tenant " code { (r.tenant) } " · generated " (time(r.generated_at))
                " · SLA: access removed within " (duration(r.sla.seconds as i64)) " of the "
                (r.sla.from.as_str().replace('_', " "))
                " · covers the evidence chain up to bundle " (r.chain_head.sequence)
                " (manifest " code { (r.chain_head.manifest_sha256) } ")"
            }
            (summary(r))
            h2 { "Statistics per system" }
            (stats_table(r))
            h2 { "Completeness against the HR system" }
            (completeness(&r.completeness))
            h2 { "Leavers (" (r.leavers.len()) ")" }
            (leavers(r))
            h2 { "Exceptions" }
            (exceptions(&r.leavers))
            @if !r.cancelled.is_empty() {
                h2 { "Cancelled before the cutoff (not leavers)" }
                table {
                    tr { th { "Run" } th { "Employee" } th { "Termination date" } th { "By" } th { "Reason" } }
                    @for c in &r.cancelled {
                        tr { td.mono { (c.run_id) } td { (c.employee_id) " " (c.email) } td { (c.termination_date) } td { (c.actor) } td { (c.reason) } }
                    }
                }
            }
            h2 { "Controls" }
            (controls(&r.leavers))
            h2 { "Population and verification" }
            p {
                (r.population.count) " leaver run(s); population SHA-256 " code { (r.population.sha256) }
                " (sorted run ids, one per line). Draw a sample with "
                code { "passage sample --seed SEED --size N" } " or with the stock-tools procedure in docs/auditor.md."
            }
            p.note {
                "This page is part of a signed report: verify the directory it came in with "
                code { "passage verify" } " or the openssl, sha256sum and jq steps in its VERIFY.md. "
                "Control ids name where the evidence is relevant; the auditor decides compliance."
            }
        },
    )
    .into_string()
}

fn summary(r: &PeriodReport) -> Markup {
    let s = &r.statistics;
    let missing = match &r.completeness {
        Completeness::Checked { missing, .. } => missing.len().to_string(),
        Completeness::NotChecked { .. } => "not checked".into(),
    };
    html! {
        div.summary {
            div { b { (s.leavers) } "leavers" }
            div { b { (s.overall.breaches) } "SLA breaches (" (format!("{:.1}", s.overall.breach_share * 100.0)) " %)" }
            div { b { (opt_duration(s.overall.p50_seconds)) } "median delay" }
            div { b { (opt_duration(s.overall.p95_seconds)) } "p95 delay" }
            div { b { (opt_duration(s.overall.max_seconds)) } "longest delay" }
            div { b { (s.open_runs) } "runs still open" }
            div { b { (missing) } "missing from Passage" }
        }
    }
}

fn stats_row(s: &SystemStats) -> Markup {
    html! {
        tr {
            td { (s.system) }
            td.num { (s.leavers) } td.num { (s.removed) }
            td.num { (opt_duration(s.p50_seconds)) } td.num { (opt_duration(s.p95_seconds)) }
            td.num { (opt_duration(s.max_seconds)) }
            td.num { (s.breaches) " (" (format!("{:.1}", s.breach_share * 100.0)) " %)" }
            td.num { (s.pending) }
        }
    }
}

fn stats_table(r: &PeriodReport) -> Markup {
    html! {
        table {
            tr {
                th { "System" } th.num { "Leavers" } th.num { "Removed" } th.num { "p50" }
                th.num { "p95" } th.num { "Max" } th.num { "Breaches" } th.num { "Pending" }
            }
            @for s in &r.statistics.systems { (stats_row(s)) }
            (stats_row(&r.statistics.overall))
        }
        p.muted { "Delays from the SLA clock to the last access-removal step read back; nearest-rank percentiles over whole seconds. " (r.statistics.open_runs) " run(s) still open." }
    }
}

fn completeness(c: &Completeness) -> Markup {
    match c {
        Completeness::NotChecked { reason } => html! {
            p.alert { "Not checked: " (reason) }
        },
        Completeness::Checked {
            source,
            terminated_from,
            terminated_to,
            hr_count,
            matched,
            missing,
            extra,
            hr_list_sha256,
            ..
        } => html! {
            p {
                (source) " lists " (hr_count) " termination(s) dated " (terminated_from) " to " (terminated_to)
                "; " (matched) " match a leaver run. HR list SHA-256 " code { (hr_list_sha256) } "."
            }
            @if missing.is_empty() {
                p { "Every termination HR lists has a leaver run." }
            } @else {
                p.alert { (missing.len()) " termination(s) in HR with no leaver run in the period:" }
                table {
                    tr { th { "Employee" } th { "Email" } th { "Termination date" } th { "Last day worked" } th { "Other runs" } }
                    @for m in missing {
                        tr {
                            td { (m.employee_id) } td { (m.email) }
                            td { (m.termination_date.map(|d| d.to_string()).unwrap_or_default()) }
                            td { (m.last_day_worked.map(|d| d.to_string()).unwrap_or_default()) }
                            td { @for o in &m.other_runs { code { (o.run_id) } " " (o.state) " (" (o.termination_date) ") " } }
                        }
                    }
                }
            }
            @if !extra.is_empty() {
                p.note { (extra.len()) " leaver run(s) HR does not list as terminated in the period:" }
                table {
                    tr { th { "Run" } th { "Employee" } th { "Email" } th { "Source" } }
                    @for e in extra { tr { td.mono { (e.run_id) } td { (e.employee_id) } td { (e.email) } td { (e.source) } } }
                }
            }
        },
    }
}

fn leavers(r: &PeriodReport) -> Markup {
    html! {
        table {
            tr {
                th { "Employee" } th { "Termination" } th { "HR notice" } th { "Cutoff" }
                th { "System" } th { "Access removed" } th.num { "Delay" } th { "Against the SLA" } th { "SLA" }
                th { "Exceptions" } th { "Bundle" }
            }
            @for l in &r.leavers {
                @let systems = system_rows(l);
                @let rows = systems.len();
                @for (i, s) in systems.into_iter().enumerate() {
                    tr {
                        @if i == 0 {
                            td rowspan=(rows) { b { (l.employee_id) } br; (l.email) br; span.muted { (l.state.as_str()) } }
                            td rowspan=(rows) { (l.termination_date) br; span.muted { (l.time_zone) } }
                            td rowspan=(rows) { (time(l.hr_notice_at)) }
                            td rowspan=(rows) { (time(l.cutoff_at)) }
                        }
                        @if let Some(s) = s {
                            td { (s.system) }
                            td { (opt_time(s.removed_at)) }
                            td.num { (opt_duration(s.delay_seconds)) }
                            td { (sla_bar(s.delay_seconds, r.sla.seconds, s.sla)) }
                            td { (badge(s.sla)) }
                        } @else {
                            td colspan="5" class="muted" { "no system to remove" }
                        }
                        @if i == 0 {
                            td.num rowspan=(rows) { (l.exceptions.len()) }
                            td rowspan=(rows) {
                                @if let Some(b) = &l.bundle { "#" (b.sequence) br; code { (&b.manifest_sha256[..16]) "…" } }
                                @else { span.muted { "open" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A leaver's systems as table rows: one each, or one saying there is none.
fn system_rows(l: &LeaverRow) -> Vec<Option<&passage_core::report::SystemRow>> {
    if l.systems.is_empty() {
        vec![None]
    } else {
        l.systems.iter().map(Some).collect()
    }
}

fn exceptions(leavers: &[LeaverRow]) -> Markup {
    let any = leavers.iter().any(|l| !l.exceptions.is_empty());
    html! {
        @if !any {
            p { "None in the period." }
        } @else {
            table {
                tr { th { "Employee" } th { "Kind" } th { "Step" } th { "Who" } th { "Why" } th { "When" } }
                @for l in leavers {
                    @for e in &l.exceptions {
                        tr {
                            td { (l.employee_id) } td { (e.kind) } td { (e.step.as_deref().unwrap_or("")) }
                            td { (e.actor) } td { (e.reason) } td { (time(e.at)) }
                        }
                    }
                }
            }
        }
    }
}

/// Control id → (relation → leavers whose read-back steps bear on it).
fn controls(leavers: &[LeaverRow]) -> Markup {
    let mut by_id: BTreeMap<String, BTreeMap<String, std::collections::BTreeSet<&str>>> =
        BTreeMap::new();
    for l in leavers {
        for s in &l.verified_steps {
            for c in s.controls.as_array().into_iter().flatten() {
                let (Some(id), Some(rel)) = (c["id"].as_str(), c["relation"].as_str()) else {
                    continue;
                };
                by_id
                    .entry(id.to_owned())
                    .or_default()
                    .entry(rel.to_owned())
                    .or_default()
                    .insert(&l.run_id);
            }
        }
    }
    html! {
        @if by_id.is_empty() {
            p { "No step was read back in the period." }
        } @else {
            table {
                tr { th { "Control" } th.num { "Leavers with evidence" } th.num { "Supporting" } th.num { "Verifying" } }
                @for (id, rel) in &by_id {
                    tr {
                        td.mono { (id) }
                        td.num { (rel.get("evidences").map_or(0, |s| s.len())) }
                        td.num { (rel.get("supports").map_or(0, |s| s.len())) }
                        td.num { (rel.get("verifies").map_or(0, |s| s.len())) }
                    }
                }
            }
        }
    }
}
