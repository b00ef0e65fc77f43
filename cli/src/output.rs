//! How the CLI shows things to people: aligned tables, times in the zone they belong to, and
//! names rather than debug output.

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

/// A table with a header row, columns aligned, no borders (it reads well in a terminal, a
/// log and a ticket alike).
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_uppercase()));
    t
}

/// A two-column table of names and values, without a header.
pub fn fields() -> Table {
    let mut t = Table::new();
    t.load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    t
}

/// `2026-12-04 17:00 EST (America/New_York; 22:00 UTC)`; just UTC when the zone is unknown.
pub fn in_zone(at: jiff::Timestamp, zone: &str) -> String {
    let utc = at.strftime("%Y-%m-%d %H:%M UTC").to_string();
    match jiff::tz::TimeZone::get(zone) {
        Ok(tz) if !zone.eq_ignore_ascii_case("utc") => {
            let local = at.to_zoned(tz);
            format!(
                "{} ({zone}; {})",
                local.strftime("%Y-%m-%d %H:%M %Z"),
                at.strftime("%H:%M UTC")
            )
        }
        _ => utc,
    }
}

/// The name a value has in the API (its serde name), e.g. `repeat` rather than `Repeat`.
pub fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_the_zone_and_utc() {
        let at: jiff::Timestamp = "2026-12-04T22:00:00Z".parse().unwrap();
        assert_eq!(
            in_zone(at, "America/New_York"),
            "2026-12-04 17:00 EST (America/New_York; 22:00 UTC)"
        );
        assert_eq!(in_zone(at, "UTC"), "2026-12-04 22:00 UTC");
        assert_eq!(in_zone(at, "Not/AZone"), "2026-12-04 22:00 UTC");
    }

    #[test]
    fn labels_are_api_names() {
        assert_eq!(label(&passage_core::RunState::Blocked), "blocked");
        assert_eq!(label(&passage_core::AttemptResult::Repeat), "repeat");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = table(&["a", "bb"]);
        t.add_row(vec!["long value", "x"]);
        t.add_row(vec!["s", "y"]);
        let text = t.to_string();
        let cols: Vec<usize> = text
            .lines()
            .map(|l| l.find(['x', 'y', 'B']).unwrap())
            .collect();
        assert!(cols.windows(2).all(|w| w[0] == w[1]), "{text}");
    }
}
