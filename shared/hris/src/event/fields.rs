//! Shape rules for individual fields.
//!
//! Each rule mirrors a `pattern` / length bound in the published JSON Schema
//! (`schema/leaver-event.v1.schema.json`); the crate's tests check that both accept and refuse
//! the same samples, so integrators validating against the schema get the same answer as Passage.
//! Lengths count Unicode scalar values, as JSON Schema's `maxLength` does.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use std::sync::LazyLock;

pub(crate) const TENANT_MAX: usize = 64;
pub(crate) const EMPLOYEE_ID_MAX: usize = 128;
pub(crate) const EMAIL_MAX: usize = 254;
pub(crate) const TIME_ZONE_MAX: usize = 64;
pub(crate) const DISPLAY_NAME_MAX: usize = 256;
pub(crate) const REASON_MAX: usize = 500;

/// The tz database compiled into the binary. The system's `/usr/share/zoneinfo` would mean file
/// I/O and a different answer on each host; the bundled copy is fixed at build time.
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// `[a-z0-9-]{1,64}`: safe as a path segment and storage key.
pub(crate) fn tenant(s: &str) -> Result<(), String> {
    let ok = (1..=TENANT_MAX).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then_some(()).ok_or_else(|| {
        format!("must be 1 to {TENANT_MAX} characters of lowercase a-z, 0-9 and `-`")
    })
}

/// An identifier or name: 1..=`max` characters, no control characters, no leading or trailing
/// space (a copy-paste artefact that would make `E123 ` and `E123` two people).
pub(crate) fn text(s: &str, max: usize) -> Result<(), String> {
    let len = s.chars().count();
    if len == 0 {
        return Err("must not be empty".to_owned());
    }
    if len > max {
        return Err(format!("must be at most {max} characters (got {len})"));
    }
    if s.chars().any(is_control) {
        return Err("must not contain control characters".to_owned());
    }
    if s.starts_with(' ') || s.ends_with(' ') {
        return Err("must not start or end with a space".to_owned());
    }
    Ok(())
}

/// Free text of at most `max` characters.
pub(crate) fn free_text(s: &str, max: usize) -> Result<(), String> {
    let len = s.chars().count();
    if len > max {
        return Err(format!("must be at most {max} characters (got {len})"));
    }
    Ok(())
}

fn is_control(c: char) -> bool {
    c <= '\u{1f}' || c == '\u{7f}'
}

/// `local@domain` with an RFC 5322 dot-atom local part and a DNS host name of at least two
/// labels. Quoted local parts, IP literals and non-ASCII addresses are refused: no HR or identity
/// system Passage drives issues them, and accepting them would only widen the ways two spellings
/// name one mailbox.
pub(crate) fn email(s: &str) -> Result<(), String> {
    let fail = || {
        Err(format!(
            "must be an email address like `name@example.com` (at most {EMAIL_MAX} characters)"
        ))
    };
    if s.len() > EMAIL_MAX {
        return fail();
    }
    let Some((local, domain)) = s.split_once('@') else {
        return fail();
    };
    let atom_ok = |atom: &str| !atom.is_empty() && atom.bytes().all(is_atext);
    if !local.split('.').all(atom_ok) {
        return fail();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| dns_label(l)) {
        return fail();
    }
    Ok(())
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b)
}

fn dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// `YYYY-MM-DD`, a real calendar date.
pub(crate) fn date(s: &str) -> Result<Date, String> {
    let fail = || format!("must be a calendar date `YYYY-MM-DD` (got `{}`)", clip(s));
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape {
        return Err(fail());
    }
    s.parse::<Date>().map_err(|_| fail())
}

/// RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction]` with `Z` or a `±HH:MM` offset: an instant, never a
/// floating local time. Upper-case `T`/`Z` only; at most nanosecond precision; no leap second.
pub(crate) fn instant(s: &str) -> Result<Timestamp, String> {
    let fail = || {
        format!(
            "must be an RFC 3339 date-time with an offset, like `2025-03-31T17:00:00+01:00` or `…Z` (got `{}`)",
            clip(s)
        )
    };
    if !rfc3339_shape(s.as_bytes()) {
        return Err(fail());
    }
    s.parse::<Timestamp>().map_err(|_| fail())
}

fn rfc3339_shape(b: &[u8]) -> bool {
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let two =
        |at: usize, max: u8| digits(at..at + 2) && (b[at] - b'0') * 10 + (b[at + 1] - b'0') <= max;
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(digits(0..4) && at(4, b'-') && two(5, 12) && at(7, b'-') && two(8, 31)) {
        return false;
    }
    if !(at(10, b'T') && two(11, 23) && at(13, b':') && two(14, 59) && at(16, b':') && two(17, 59))
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&frac) {
            return false;
        }
        i += 1 + frac;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len() && two(i + 1, 23) && at(i + 3, b':') && two(i + 4, 59)
        }
        _ => false,
    }
}

/// An IANA time zone name known to the bundled tz database (case-insensitive, like the
/// database). Returns the zone; its `iana_name()` is the canonical spelling.
pub(crate) fn time_zone(s: &str) -> Result<TimeZone, String> {
    let fail = || {
        format!(
            "must be an IANA time zone name like `Europe/Berlin` or `America/New_York` (got `{}`)",
            clip(s)
        )
    };
    let shape = (1..=TIME_ZONE_MAX).contains(&s.len())
        && s.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
        });
    if !shape {
        return Err(fail());
    }
    let tz = TZDB.get(s).map_err(|_| fail())?;
    // `Etc/Unknown` is the database's "no idea" zone, not a place.
    if tz
        .iana_name()
        .is_none_or(|name| name.eq_ignore_ascii_case("Etc/Unknown"))
    {
        return Err(fail());
    }
    Ok(tz)
}

/// At most 40 characters of untrusted input, for echoing in messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_need_an_offset_and_rfc3339_shape() {
        for ok in [
            "2025-03-31T17:00:00Z",
            "2025-03-31T17:00:00+01:00",
            "2025-03-31T17:00:00.5-05:30",
            "2025-03-31T17:00:00.123456789Z",
        ] {
            assert!(instant(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2025-03-31T17:00:00",
            "2025-03-31 17:00:00Z",
            "2025-03-31t17:00:00z",
            "2025-03-31T17:00Z",
            "2025-03-31T24:00:00Z",
            "2025-03-31T23:59:60Z",
            "2025-02-30T10:00:00Z",
            "2025-03-31T17:00:00.Z",
            "2025-03-31T17:00:00.1234567891Z",
            "2025-03-31T17:00:00+0100",
            "2025-03-31T17:00:00+24:00",
            "2025-03-31T17:00:00Z[Europe/Berlin]",
            "2025-03-31",
        ] {
            assert!(instant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_must_exist() {
        assert!(date("2024-02-29").is_ok());
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "20250101",
            "2025-01-01T00:00:00Z",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_come_from_the_bundled_database() {
        assert_eq!(
            time_zone("america/new_york").unwrap().iana_name(),
            Some("America/New_York")
        );
        assert!(time_zone("UTC").is_ok());
        for bad in [
            "Mars/Olympus_Mons",
            "Etc/Unknown",
            "../etc/passwd",
            "",
            "Europe//Berlin",
        ] {
            assert!(time_zone(bad).is_err(), "{bad:?}");
        }
    }
}
