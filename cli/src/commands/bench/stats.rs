//! Reporting samples honestly: every row states its n, a percentile is given only when there
//! are enough samples to mean something, and otherwise the largest sample is called the max.

use std::time::Duration;

/// Samples needed before a p99 is reported (one in a hundred must be able to exist).
pub const P99_MIN_SAMPLES: usize = 100;

/// The value below which `p` of the sorted samples lie (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

/// `n=… p50=… [p90=… p99=…] max=…`: p99 only from 100 samples, p90 only from 10.
pub fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1e3);
    let mut out = format!("n={} p50={}", v.len(), ms(percentile(&v, 0.5)));
    if v.len() >= 10 {
        out.push_str(&format!(" p90={}", ms(percentile(&v, 0.9))));
    }
    if v.len() >= P99_MIN_SAMPLES {
        out.push_str(&format!(" p99={}", ms(percentile(&v, 0.99))));
    }
    out.push_str(&format!(
        " max={}",
        ms(v.last().copied().unwrap_or_default())
    ));
    out
}

/// How full the saturated windows of a rate limit were: every window but the last had more
/// work waiting than the limit allows, so their use is Passage's; the last only holds what was
/// left. `None` when all the work fit in one window (then nothing was saturated).
pub fn saturated_use(windows: &[u32], limit: u32) -> Option<f64> {
    let full = &windows[..windows.len().saturating_sub(1)];
    if full.is_empty() || limit == 0 {
        return None;
    }
    let used: f64 = full.iter().map(|&w| f64::from(w)).sum();
    Some(100.0 * used / (f64::from(limit) * full.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_needs_a_hundred_samples() {
        let few: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        let s = summary(few);
        assert!(
            s.starts_with("n=20 ") && !s.contains("p99") && s.ends_with("max=20.0ms"),
            "{s}"
        );
        let many: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        assert!(summary(many).contains("p99=198.0ms"));
    }

    #[test]
    fn one_window_is_not_full() {
        assert_eq!(saturated_use(&[500], 6000), None);
        assert_eq!(saturated_use(&[6000, 5400, 100], 6000), Some(95.0));
    }
}
