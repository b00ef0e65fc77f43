//! How the embedded host paces provider calls: one set of budgets in memory, which every worker
//! of the process draws from, so that together they keep under each provider org's limit.

use passage_config::Pacing;
use passage_core::ports::SystemClock;
use passage_embedded::InProcessPacer;
use std::sync::Arc;
use std::time::Duration;

/// The process's pacing. A call waits its turn in place for up to a quarter of the step lease
/// (15 s for the default 60 s), so an action of a few calls finishes well inside its lease;
/// a longer wait puts the step back on the queue until its turn.
pub fn pacing(lease: Duration) -> Pacing {
    let pacer = InProcessPacer::new(Arc::new(SystemClock));
    Pacing::new(Arc::new(pacer), lease / 4)
}
