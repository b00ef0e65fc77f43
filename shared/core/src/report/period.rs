//! A reporting period: two local dates, both included.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("the period ends ({to}) before it starts ({from})")]
    Reversed { from: Date, to: Date },
    #[error("a period may span at most {MAX_DAYS} days")]
    TooLong,
}

/// About ten years: longer than any audit period, short enough to refuse a typo'd year.
const MAX_DAYS: i32 = 3660;

impl Period {
    pub fn new(from: Date, to: Date) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed { from, to });
        }
        if (to - from).get_days() > MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }

    /// `2026-01-01..2026-03-31`: the period's name in statements, links and file names.
    pub fn id(&self) -> String {
        format!("{}..{}", self.from, self.to)
    }

    /// Parses [`Period::id`].
    pub fn parse(id: &str) -> Option<Self> {
        let (from, to) = id.split_once("..")?;
        Self::new(from.parse().ok()?, to.parse().ok()?).ok()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn both_ends_are_included_and_the_id_round_trips() {
        let p = Period::new(date(2026, 1, 1), date(2026, 3, 31)).unwrap();
        assert!(p.contains(date(2026, 1, 1)) && p.contains(date(2026, 3, 31)));
        assert!(!p.contains(date(2025, 12, 31)) && !p.contains(date(2026, 4, 1)));
        assert_eq!(p.id(), "2026-01-01..2026-03-31");
        assert_eq!(Period::parse(&p.id()), Some(p));
        assert_eq!(Period::parse("2026-03-31..2026-01-01"), None);
        assert_eq!(Period::parse("nonsense"), None);
        assert!(matches!(
            Period::new(date(2026, 2, 1), date(2026, 1, 1)),
            Err(PeriodError::Reversed { .. })
        ));
        assert_eq!(
            Period::new(date(2000, 1, 1), date(2026, 1, 1)),
            Err(PeriodError::TooLong)
        );
    }
}
