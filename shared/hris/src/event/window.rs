//! How far from today a leaver event's date may lie.
//!
//! A well-formed date can still be absurd: `"0000-01-01"` parses, lies in the past, and would
//! cut access the moment it arrives; `"2206-01-01"` would leave access in place for the rest of
//! everyone's career. Both are far likelier to be a broken HR field or template than a decision,
//! so an event whose date lies outside the window is refused and says so, and the sender who
//! does mean "now" says `"immediate": true`. The window needs the current time, which the parser
//! does not have, so it is a separate check the intake makes after parsing.

use jiff::{SignedDuration, Timestamp};

use super::leaver::LeaverEvent;
use super::{EventError, Problem, ProblemKind};

/// The accepted distance of an event's date from now, in days either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateWindow {
    /// An event whose cutoff passed more than this many days ago is refused. Late events within
    /// it are cut on receipt (HR often records a leaver a few days after the fact).
    pub max_days_past: u32,
    /// An event whose cutoff is more than this many days ahead is refused.
    pub max_days_ahead: u32,
}

impl Default for DateWindow {
    /// 30 days back (what the HR reconcile looks back over) and two years ahead (longer than
    /// any notice period or fixed-term end HR is likely to announce).
    fn default() -> Self {
        Self {
            max_days_past: 30,
            max_days_ahead: 730,
        }
    }
}

impl DateWindow {
    /// Refuses `event` if its cutoff lies outside the window around `now`. An immediate event
    /// passes whatever dates it carries: immediate wins over them.
    pub fn check(&self, event: &LeaverEvent, now: Timestamp) -> Result<(), EventError> {
        if event.immediate() {
            return Ok(());
        }
        let at = event.cutoff(now);
        let days = |n: u32| SignedDuration::from_hours(i64::from(n) * 24);
        let earliest = now.checked_sub(days(self.max_days_past)).ok();
        let latest = now.checked_add(days(self.max_days_ahead)).ok();
        let message = if earliest.is_some_and(|e| at < e) {
            format!(
                "{} is {} days in the past; the limit is {} days. Send `\"immediate\": true` to \
                 cut access now",
                date_of(event),
                whole_days(now.duration_since(at)),
                self.max_days_past
            )
        } else if latest.is_some_and(|l| at > l) {
            format!(
                "{} is {} days ahead; the limit is {} days",
                date_of(event),
                whole_days(at.duration_since(now)),
                self.max_days_ahead
            )
        } else {
            return Ok(());
        };
        let field = if event.cutoff_at().is_some() {
            "/cutoff_at"
        } else {
            "/last_working_day"
        };
        Err(EventError::OutOfWindow {
            problem: Problem {
                path: field.to_owned(),
                kind: ProblemKind::Invalid,
                message,
            },
        })
    }
}

/// The date as the sender wrote it.
fn date_of(event: &LeaverEvent) -> String {
    match (event.cutoff_at(), event.last_working_day()) {
        (Some(at), _) => at.to_string(),
        (None, Some(day)) => day.to_string(),
        (None, None) => "the cutoff".to_owned(),
    }
}

fn whole_days(d: SignedDuration) -> i64 {
    d.as_secs() / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Classified;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-12-07T10:00:00Z".parse().unwrap()
    }

    fn event(dates: serde_json::Value) -> LeaverEvent {
        let mut v = json!({
            "type": "passage.leaver.v1", "tenant": "acme", "employee_id": "E1",
            "email": "jane@acme.example", "time_zone": "Europe/Berlin",
        });
        for (k, value) in dates.as_object().unwrap() {
            v[k] = value.clone();
        }
        LeaverEvent::from_value(&v).unwrap()
    }

    fn refusal(dates: serde_json::Value) -> EventError {
        DateWindow::default()
            .check(&event(dates), now())
            .unwrap_err()
    }

    #[test]
    fn dates_inside_the_window_pass() {
        let window = DateWindow::default();
        for dates in [
            json!({"last_working_day": "2026-12-07"}),
            json!({"last_working_day": "2026-11-08"}),
            json!({"last_working_day": "2028-12-05"}),
            json!({"cutoff_at": "2026-11-08T10:00:01Z"}),
            json!({"cutoff_at": "2028-12-06T10:00:00Z"}),
        ] {
            assert_eq!(
                window.check(&event(dates.clone()), now()),
                Ok(()),
                "{dates}"
            );
        }
    }

    #[test]
    fn year_zero_is_refused_as_unprocessable_naming_the_field() {
        let err = refusal(json!({"last_working_day": "0000-01-01"}));
        assert_eq!(err.kind(), crate::ErrorKind::Unprocessable);
        assert_eq!(err.code(), "invalid_date");
        let problems = err.details().unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "/last_working_day");
        assert_eq!(problems[0].kind, ProblemKind::Invalid);
        assert!(
            problems[0].message.starts_with("0000-01-01 is ")
                && problems[0]
                    .message
                    .contains("days in the past; the limit is 30 days")
                && problems[0].message.contains("\"immediate\": true"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn the_far_future_and_an_old_instant_are_refused() {
        let err = refusal(json!({"last_working_day": "2206-01-01"}));
        assert_eq!(err.problems()[0].path, "/last_working_day");
        assert!(
            err.problems()[0].message.contains("the limit is 730 days"),
            "{err}"
        );
        let err = refusal(json!({"cutoff_at": "2026-11-01T00:00:00Z"}));
        assert_eq!(err.problems()[0].path, "/cutoff_at");
        assert!(err.to_string().contains("36 days in the past"), "{err}");
    }

    #[test]
    fn immediate_wins_over_any_date() {
        let e = event(json!({"immediate": true, "last_working_day": "0000-01-01"}));
        assert_eq!(DateWindow::default().check(&e, now()), Ok(()));
    }

    #[test]
    fn the_window_is_configurable() {
        let narrow = DateWindow {
            max_days_past: 0,
            max_days_ahead: 1,
        };
        let e = event(json!({"cutoff_at": "2026-12-08T10:00:01Z"}));
        assert!(narrow.check(&e, now()).is_err());
        let wide = DateWindow {
            max_days_past: 100_000_000,
            max_days_ahead: 100_000_000,
        };
        let e = event(json!({"last_working_day": "0000-01-01"}));
        assert_eq!(wide.check(&e, now()), Ok(()));
    }
}
