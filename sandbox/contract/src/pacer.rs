//! The promises of a [`Pacer`]: the embedded host's in-memory budgets and the DynamoDB budgets
//! Lambda invocations share must pace alike, so both run these checks.
//!
//! Time is a [`ManualClock`] the pacer under test reads, so every wait is exact and no check
//! depends on how fast the machine or the backend is. `other` is a second pacer over the same
//! state (another process's client of the same table; for memory, the same pacer): what one
//! caller observes must govern the other's turns.

use futures::future::join_all;
use jiff::Timestamp;
use passage_core::Provider;
use passage_core::pace::{Bucket, PaceKey, PaceSignal, Rate, Turn};
use passage_core::ports::{Clock, Pacer};
use std::sync::Mutex;
use std::time::Duration;

/// A clock that moves only when told.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// Starts at the current second (a real instant, so backends that expire idle state by
    /// wall time keep it).
    pub fn new() -> Self {
        let now = Timestamp::now().as_second();
        Self(Mutex::new(
            Timestamp::from_second(now).expect("now is in range"),
        ))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const NOW: Duration = Duration::ZERO;
const PATIENT: Duration = Duration::from_secs(3600);

/// A budget no other check uses: 60 calls a minute, 3 of them at once.
fn fresh_bucket() -> Bucket {
    Bucket {
        key: PaceKey {
            provider: Provider::Okta,
            org: format!("ct-{}.okta.example", uuid::Uuid::new_v4().simple()),
            family: "users".into(),
        },
        rate: Rate::per_minute(60),
    }
}

fn interval(bucket: &Bucket) -> Duration {
    // 60 a minute with 3 at once: the other 57 a minute, one every 60/57 s rounded up.
    let per = bucket.rate.per.as_micros();
    let refill = u128::from(bucket.rate.limit - bucket.rate.burst);
    Duration::from_micros(per.div_ceil(refill) as u64)
}

async fn turn(pacer: &dyn Pacer, bucket: &Bucket, patience: Duration) -> Turn {
    pacer
        .acquire(bucket, 1, patience)
        .await
        .expect("the pacer answers")
}

async fn observe(pacer: &dyn Pacer, bucket: &Bucket, signal: PaceSignal) {
    pacer
        .observe(bucket, &signal)
        .await
        .expect("the pacer takes the signal");
}

/// Every check, one after another (they move the one clock).
pub async fn pacer_all(pacer: &dyn Pacer, other: &dyn Pacer, clock: &ManualClock) {
    pacer_serves_the_burst_then_the_rate(pacer, clock).await;
    pacer_gives_concurrent_callers_distinct_places(pacer, other).await;
    pacer_holds_to_the_providers_count(pacer, other, clock).await;
    pacer_pauses_every_caller_after_a_refusal(pacer, other, clock).await;
}

/// A fresh budget lets its burst go at once, defers (taking no budget) what would wait longer
/// than the caller will, each deferred caller told a place after the one before it, and
/// refills at its rate.
pub async fn pacer_serves_the_burst_then_the_rate(pacer: &dyn Pacer, clock: &ManualClock) {
    let bucket = fresh_bucket();
    for i in 0..3 {
        assert_eq!(
            turn(pacer, &bucket, NOW).await,
            Turn::Go(Duration::ZERO),
            "call {i} of the burst goes at once"
        );
    }
    let step = interval(&bucket);
    for k in 1..=2 {
        assert_eq!(
            turn(pacer, &bucket, NOW).await,
            Turn::Defer(step * k),
            "past the burst, a caller who will not wait is deferred to its own place"
        );
    }
    // The first deferred caller comes back at its place and goes; the second's place is
    // still its own, so the next caller deferred comes after it.
    clock.advance(step);
    assert_eq!(turn(pacer, &bucket, NOW).await, Turn::Go(Duration::ZERO));
    assert_eq!(turn(pacer, &bucket, NOW).await, Turn::Defer(step * 2));
}

/// Callers asking at once, through two clients of the same state, get successive places: the
/// burst, then one interval apart. None shares a place, so together they never exceed the
/// budget.
pub async fn pacer_gives_concurrent_callers_distinct_places(pacer: &dyn Pacer, other: &dyn Pacer) {
    let bucket = fresh_bucket();
    let asks = (0..12).map(|i| {
        let client = if i % 2 == 0 { pacer } else { other };
        turn(client, &bucket, PATIENT)
    });
    let mut waits: Vec<Duration> = join_all(asks)
        .await
        .into_iter()
        .map(|t| match t {
            Turn::Go(wait) => wait,
            Turn::Defer(wait) => panic!("a patient caller was deferred by {wait:?}"),
        })
        .collect();
    waits.sort();
    let step = interval(&bucket);
    let expected: Vec<Duration> = (0..12u32).map(|i| step * i.saturating_sub(2)).collect();
    assert_eq!(waits, expected, "places of 12 concurrent callers");
}

/// A provider's count until its reset, observed by one client, holds every client to it.
pub async fn pacer_holds_to_the_providers_count(
    pacer: &dyn Pacer,
    other: &dyn Pacer,
    clock: &ManualClock,
) {
    let bucket = fresh_bucket();
    let reset = Duration::from_secs(40);
    let signal = PaceSignal {
        remaining: Some(2),
        reset: Some(clock.now() + reset),
        ..PaceSignal::default()
    };
    observe(other, &bucket, signal).await;
    for _ in 0..2 {
        assert_eq!(turn(pacer, &bucket, NOW).await, Turn::Go(Duration::ZERO));
    }
    assert_eq!(
        turn(pacer, &bucket, NOW).await,
        Turn::Defer(reset),
        "the bucket has a third call, but the provider allows two until its reset"
    );
    clock.advance(reset);
    assert_eq!(turn(pacer, &bucket, NOW).await, Turn::Go(Duration::ZERO));
}

/// A refusal observed by one client pauses every client until the time the provider named, and
/// the budget then goes one call at a time.
pub async fn pacer_pauses_every_caller_after_a_refusal(
    pacer: &dyn Pacer,
    other: &dyn Pacer,
    clock: &ManualClock,
) {
    let bucket = fresh_bucket();
    assert_eq!(turn(other, &bucket, NOW).await, Turn::Go(Duration::ZERO));
    let pause = Duration::from_secs(30);
    let refusal = PaceSignal {
        throttled: true,
        retry_after: Some(pause),
        ..PaceSignal::default()
    };
    observe(other, &bucket, refusal).await;
    assert_eq!(turn(pacer, &bucket, NOW).await, Turn::Defer(pause));
    assert_eq!(
        turn(pacer, &bucket, pause).await,
        Turn::Go(pause),
        "a caller willing to wait gets the first place after the pause"
    );
    clock.advance(pause);
    assert_eq!(
        turn(other, &bucket, NOW).await,
        Turn::Defer(interval(&bucket)),
        "after a refusal, no burst"
    );
}
