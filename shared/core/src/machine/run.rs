//! The run lifecycle: scheduled → running ⇄ blocked → closed, or scheduled → cancelled.

use super::TransitionError;
use crate::domain::RunState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunInput {
    /// The leaver's last working minute arrived (or the run is immediate).
    CutoffReached,
    /// A new cutoff was set before the old one arrived.
    Reschedule,
    /// Called off before the cutoff.
    Cancel,
    /// A step failed for good or needs a waiver.
    StepFailed,
    /// No failed step is left (retried or waived).
    Unblocked,
    /// The closure gate opened and the evidence is signed and stored.
    Close,
    /// The sign-in watch found the leaver signed in after the cutoff: access was not cut.
    Reopen,
}

impl RunInput {
    fn name(self) -> &'static str {
        match self {
            RunInput::CutoffReached => "cutoff_reached",
            RunInput::Reschedule => "reschedule",
            RunInput::Cancel => "cancel",
            RunInput::StepFailed => "step_failed",
            RunInput::Unblocked => "unblocked",
            RunInput::Close => "close",
            RunInput::Reopen => "reopen",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunCommand {
    /// Queue every step whose dependencies are met.
    ReleaseReadySteps,
    /// Set (or move) the cutoff timer.
    ScheduleTimer,
    /// Remove the cutoff timer.
    CancelTimer,
    /// Sign the run's record into the tenant's evidence chain. A closed run is finalized when
    /// its gate opens; a cancelled one at once, since why no access was cut is evidence too.
    Finalize,
}

/// The single source of truth for which run moves are legal.
pub fn transition(
    state: RunState,
    input: RunInput,
) -> Result<(RunState, Vec<RunCommand>), TransitionError> {
    use RunCommand::*;
    use RunInput::*;
    use RunState::*;
    let next = match (state, input) {
        (Scheduled, CutoffReached) => (Running, vec![CancelTimer, ReleaseReadySteps]),
        // Timers fire at least once; a second fire changes nothing.
        (Running | Blocked | Closed | Cancelled, CutoffReached) => (state, vec![]),
        (Scheduled, Reschedule) => (Scheduled, vec![ScheduleTimer]),
        (Scheduled, Cancel) => (Cancelled, vec![CancelTimer, Finalize]),
        (Running, StepFailed) => (Blocked, vec![]),
        (Blocked, StepFailed) => (Blocked, vec![]),
        (Blocked, Unblocked) => (Running, vec![ReleaseReadySteps]),
        (Running, Unblocked) => (Running, vec![]),
        (Running, Close) => (Closed, vec![]),
        // Only a closed run reopens; it closes again only through the gate (`Close`).
        (Closed, Reopen) => (Running, vec![ReleaseReadySteps]),
        _ => {
            return Err(TransitionError {
                machine: "run",
                state: state.as_str(),
                input: input.name(),
            });
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RunInput::*;
    use RunState::*;

    const STATES: [RunState; 5] = [Scheduled, Running, Blocked, Closed, Cancelled];
    const INPUTS: [RunInput; 6] = [
        CutoffReached,
        Reschedule,
        Cancel,
        StepFailed,
        Unblocked,
        Close,
    ];

    /// Every (state, input) pair, with the expected next state or `None` for "rejected".
    fn expected(state: RunState, input: RunInput) -> Option<RunState> {
        match (state, input) {
            (Scheduled, CutoffReached) => Some(Running),
            (s, CutoffReached) => Some(s),
            (Scheduled, Reschedule) => Some(Scheduled),
            (Scheduled, Cancel) => Some(Cancelled),
            (Running | Blocked, StepFailed) => Some(Blocked),
            (Running | Blocked, Unblocked) => Some(Running),
            (Running, Close) => Some(Closed),
            _ => None,
        }
    }

    #[test]
    fn every_pair_is_as_specified() {
        for s in STATES {
            for i in INPUTS {
                let got = transition(s, i).ok().map(|(n, _)| n);
                assert_eq!(got, expected(s, i), "{s:?} + {i:?}");
            }
        }
    }

    #[test]
    fn terminal_states_accept_nothing_but_a_late_timer() {
        for s in [Closed, Cancelled] {
            for i in INPUTS {
                let r = transition(s, i);
                if i == CutoffReached {
                    assert_eq!(r.unwrap(), (s, vec![]));
                } else {
                    assert!(r.is_err(), "{s:?} accepted {i:?}");
                }
            }
        }
    }

    #[test]
    fn cutoff_releases_steps_once() {
        let (_, cmds) = transition(Scheduled, CutoffReached).unwrap();
        assert!(cmds.contains(&RunCommand::ReleaseReadySteps));
        let (_, cmds) = transition(Running, CutoffReached).unwrap();
        assert!(cmds.is_empty());
    }

    #[test]
    fn a_cancellation_is_signed_and_its_timer_removed() {
        let (_, cmds) = transition(Scheduled, Cancel).unwrap();
        assert_eq!(cmds, vec![RunCommand::CancelTimer, RunCommand::Finalize]);
    }

    #[test]
    fn only_a_closed_run_reopens_and_it_works_its_steps_again() {
        for s in STATES {
            let r = transition(s, Reopen);
            if s == Closed {
                assert_eq!(r.unwrap(), (Running, vec![RunCommand::ReleaseReadySteps]));
            } else {
                assert!(r.is_err(), "{s:?} accepted a reopening");
            }
        }
        // Reopened, the run closes again only through the gate's `Close`.
        assert_eq!(transition(Running, Close).unwrap().0, Closed);
    }

    #[test]
    fn a_blocked_run_cannot_close_or_be_cancelled() {
        assert!(transition(Blocked, Close).is_err());
        assert!(transition(Blocked, Cancel).is_err());
        assert!(transition(Running, Cancel).is_err());
    }
}
