//! The leaver's last working minute, as an instant.
//!
//! HR systems speak in local dates ("last day: Friday"); access must be cut at a precise
//! instant. The conversion happens once, at intake, with a real time-zone database (jiff,
//! bundled tzdb), and the derivation is kept so the evidence can show how the instant was found.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// What the HR system asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum CutoffRequest {
    /// Cut at the tenant's end-of-day time on this local date.
    LastWorkingDay(Date),
    /// Cut at this exact instant.
    Exact(Timestamp),
    /// Involuntary termination: cut now.
    Immediate,
}

/// The resolved cutoff and how it was derived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cutoff {
    pub at: Timestamp,
    /// IANA zone of the leaver.
    pub zone: String,
    pub derivation: Derivation,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Derivation {
    LastWorkingDay {
        date: Date,
        end_of_day: Time,
        /// The local wall-clock time of the cutoff, with its UTC offset.
        local: String,
        /// Set when the end-of-day time fell in a DST gap or overlap, saying what was chosen.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dst_note: Option<String>,
    },
    Exact {
        local: String,
    },
    Immediate,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CutoffError {
    #[error("unknown time zone {0:?}: use an IANA name such as Europe/Berlin")]
    UnknownZone(String),
    #[error("the cutoff cannot be represented: {0}")]
    OutOfRange(String),
}

/// Resolves `request` in `zone` with the tenant's `end_of_day`. `now` is used for `Immediate`.
pub fn resolve(
    request: &CutoffRequest,
    zone: &str,
    end_of_day: Time,
    now: Timestamp,
) -> Result<Cutoff, CutoffError> {
    let tz = TimeZone::get(zone).map_err(|_| CutoffError::UnknownZone(zone.to_owned()))?;
    let (at, derivation) = match request {
        CutoffRequest::Immediate => (now, Derivation::Immediate),
        CutoffRequest::Exact(at) => (
            *at,
            Derivation::Exact {
                local: at.to_zoned(tz.clone()).to_string(),
            },
        ),
        CutoffRequest::LastWorkingDay(date) => {
            let wall = date.to_datetime(end_of_day);
            let (at, dst_note) = local_to_instant(&tz, wall)?;
            (
                at,
                Derivation::LastWorkingDay {
                    date: *date,
                    end_of_day,
                    local: at.to_zoned(tz.clone()).to_string(),
                    dst_note,
                },
            )
        }
    };
    Ok(Cutoff {
        at,
        zone: zone.to_owned(),
        derivation,
    })
}

/// Maps a local wall-clock time to the instant access should be cut.
///
/// In a DST gap (the wall time never happens) we cut at the transition, the first instant the
/// local clock reads at or past the requested time. In an overlap (it happens twice) we cut at
/// the first occurrence. Both choices err towards cutting earlier, never later.
fn local_to_instant(
    tz: &TimeZone,
    wall: DateTime,
) -> Result<(Timestamp, Option<String>), CutoffError> {
    let range = |e: jiff::Error| CutoffError::OutOfRange(e.to_string());
    match tz.to_ambiguous_zoned(wall).offset() {
        AmbiguousOffset::Unambiguous { offset } => {
            Ok((offset.to_timestamp(wall).map_err(range)?, None))
        }
        AmbiguousOffset::Fold { before, .. } => Ok((
            before.to_timestamp(wall).map_err(range)?,
            Some(format!(
                "{wall} occurs twice in this zone; the first occurrence (offset {before}) was used"
            )),
        )),
        AmbiguousOffset::Gap { before, .. } => {
            // With the pre-gap offset the wall time maps past the transition; the transition
            // itself is the latest transition at or before that instant.
            let late = before.to_timestamp(wall).map_err(range)?;
            let transition = tz
                .preceding(late.checked_add(1.nanosecond()).map_err(range)?)
                .next()
                .map(|t| t.timestamp())
                .unwrap_or(late);
            Ok((
                transition,
                Some(format!(
                    "{wall} does not exist in this zone (DST gap); cut at the transition instead"
                )),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn now() -> Timestamp {
        "2026-03-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn last_working_day_uses_the_leavers_zone() {
        let c = resolve(
            &CutoffRequest::LastWorkingDay(date(2026, 11, 27)),
            "America/New_York",
            Time::constant(17, 30, 0, 0),
            now(),
        )
        .unwrap();
        assert_eq!(c.at.to_string(), "2026-11-27T22:30:00Z");
    }

    #[test]
    fn summer_time_changes_the_utc_instant() {
        let eod = Time::constant(17, 0, 0, 0);
        let winter = resolve(
            &CutoffRequest::LastWorkingDay(date(2026, 1, 15)),
            "Europe/Berlin",
            eod,
            now(),
        )
        .unwrap();
        let summer = resolve(
            &CutoffRequest::LastWorkingDay(date(2026, 7, 15)),
            "Europe/Berlin",
            eod,
            now(),
        )
        .unwrap();
        assert_eq!(winter.at.to_string(), "2026-01-15T16:00:00Z");
        assert_eq!(summer.at.to_string(), "2026-07-15T15:00:00Z");
    }

    #[test]
    fn a_gap_cuts_at_the_transition() {
        // 2026-03-08 02:30 does not exist in New York; clocks jump from 02:00 EST to 03:00 EDT
        // at 07:00Z.
        let c = resolve(
            &CutoffRequest::LastWorkingDay(date(2026, 3, 8)),
            "America/New_York",
            Time::constant(2, 30, 0, 0),
            now(),
        )
        .unwrap();
        assert_eq!(c.at.to_string(), "2026-03-08T07:00:00Z");
        match c.derivation {
            Derivation::LastWorkingDay { dst_note, .. } => {
                assert!(dst_note.unwrap().contains("gap"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_overlap_cuts_at_the_first_occurrence() {
        // 2026-11-01 01:30 happens twice in New York: first at 05:30Z (EDT), again at 06:30Z.
        let c = resolve(
            &CutoffRequest::LastWorkingDay(date(2026, 11, 1)),
            "America/New_York",
            Time::constant(1, 30, 0, 0),
            now(),
        )
        .unwrap();
        assert_eq!(c.at.to_string(), "2026-11-01T05:30:00Z");
    }

    #[test]
    fn immediate_is_now_and_exact_is_kept() {
        let eod = Time::constant(17, 0, 0, 0);
        let c = resolve(&CutoffRequest::Immediate, "UTC", eod, now()).unwrap();
        assert_eq!(c.at, now());
        let at: Timestamp = "2026-05-01T12:34:56Z".parse().unwrap();
        let c = resolve(&CutoffRequest::Exact(at), "Asia/Tokyo", eod, now()).unwrap();
        assert_eq!(c.at, at);
    }

    #[test]
    fn unknown_zone_is_an_error() {
        let err = resolve(
            &CutoffRequest::Immediate,
            "Mars/Olympus",
            Time::constant(17, 0, 0, 0),
            now(),
        )
        .unwrap_err();
        assert_eq!(err, CutoffError::UnknownZone("Mars/Olympus".into()));
    }
}
