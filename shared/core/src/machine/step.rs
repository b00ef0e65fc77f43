//! The step lifecycle: pending → ready → in_flight → verified, with retry, failure and waiver.
//! A provider's long-running operation (a Drive transfer, a device action waiting for its
//! device) sends an in-flight step to `awaiting_completion`, from which it is polled until the
//! operation completes or its deadline passes.

use super::TransitionError;
use crate::domain::StepState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepInput {
    /// Every dependency is verified or waived.
    DependenciesMet,
    /// A worker took the lease (first try, retry, or after a crashed worker's lease expired).
    Claim,
    /// Done and read back.
    Succeeded,
    /// Failed in a way worth trying again, and the step's deadline has not passed.
    RetryableError,
    /// The provider asked for a pause: wait, without counting it as a failure.
    Throttled,
    /// The provider accepted a long-running operation that is not complete yet.
    OperationPending,
    /// Failed for good.
    PermanentError,
    /// Still failing, or the operation still running, when the step's deadline passed.
    DeadlinePassed,
    /// Given up as poison: its attempts kept stopping their workers, or the queue gave up on
    /// its message.
    DeadLettered,
    /// An operator skipped a non-critical step.
    Waive { critical: bool },
    /// An operator asked for a failed step to be tried again.
    OperatorRetry,
    /// An operator closed the step after a fresh read proved the leaver has no account at
    /// the provider. Not while a worker acts on it: its outcome would contradict the proof.
    ProvenAbsent,
    /// A human step was opened: its items now wait for people to confirm them.
    AwaitPeople,
    /// The last outstanding item of a human step was confirmed.
    Confirmed,
    /// The leaver signed in after the cutoff: a verified lockout is done again.
    Relock,
}

impl StepInput {
    fn name(self) -> &'static str {
        match self {
            StepInput::DependenciesMet => "dependencies_met",
            StepInput::Claim => "claim",
            StepInput::Succeeded => "succeeded",
            StepInput::RetryableError => "retryable_error",
            StepInput::Throttled => "throttled",
            StepInput::OperationPending => "operation_pending",
            StepInput::PermanentError => "permanent_error",
            StepInput::DeadlinePassed => "deadline_passed",
            StepInput::DeadLettered => "dead_lettered",
            StepInput::Waive { critical: true } => "waive_critical",
            StepInput::Waive { critical: false } => "waive",
            StepInput::OperatorRetry => "operator_retry",
            StepInput::ProvenAbsent => "proven_absent",
            StepInput::AwaitPeople => "await_people",
            StepInput::Confirmed => "confirmed",
            StepInput::Relock => "relock",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepCommand {
    /// Put the step on the queue (now or after its backoff).
    Enqueue,
    /// Call the provider.
    Execute,
    /// Dependents may now be ready; the gate may now be open.
    ReleaseDependents,
    /// Hold the run's gate.
    BlockRun,
    /// Re-check whether the run can leave the blocked state.
    ReconsiderBlock,
}

/// The single source of truth for which step moves are legal.
pub fn transition(
    state: StepState,
    input: StepInput,
) -> Result<(StepState, Vec<StepCommand>), TransitionError> {
    use StepCommand::*;
    use StepInput::*;
    use StepState::*;
    let next = match (state, input) {
        (Pending, DependenciesMet) => (Ready, vec![Enqueue]),
        // A crashed worker's expired lease is taken over by claiming an in-flight step again;
        // polling an operation is a claim like any other.
        (Ready | RetryWait | AwaitingCompletion | InFlight, Claim) => (InFlight, vec![Execute]),
        (InFlight, Succeeded) => (Verified, vec![ReleaseDependents]),
        (InFlight, RetryableError | Throttled) => (RetryWait, vec![Enqueue]),
        (InFlight, OperationPending) => (AwaitingCompletion, vec![Enqueue]),
        (InFlight, PermanentError | DeadlinePassed) => (Failed, vec![BlockRun]),
        (Ready | RetryWait | AwaitingCompletion | InFlight, DeadLettered) => {
            (Failed, vec![BlockRun])
        }
        (Ready | RetryWait | InFlight, AwaitPeople) => (Awaiting, vec![]),
        (Awaiting, Confirmed) => (Verified, vec![ReleaseDependents]),
        (
            Pending | Ready | RetryWait | AwaitingCompletion | InFlight | Failed | Awaiting,
            Waive { critical: false },
        ) => (Waived, vec![ReconsiderBlock, ReleaseDependents]),
        (Failed, OperatorRetry) => (Ready, vec![ReconsiderBlock, Enqueue]),
        (Verified, Relock) => (Ready, vec![Enqueue]),
        (Pending | Ready | RetryWait | AwaitingCompletion | Failed, ProvenAbsent) => {
            (NotApplicable, vec![ReconsiderBlock, ReleaseDependents])
        }
        _ => {
            return Err(TransitionError {
                machine: "step",
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
    use StepInput::*;
    use StepState::*;

    const STATES: [StepState; 10] = [
        Pending,
        Ready,
        InFlight,
        RetryWait,
        AwaitingCompletion,
        Verified,
        Failed,
        Waived,
        Awaiting,
        NotApplicable,
    ];
    const INPUTS: [StepInput; 16] = [
        Relock,
        AwaitPeople,
        Confirmed,
        DependenciesMet,
        Claim,
        Succeeded,
        RetryableError,
        Throttled,
        OperationPending,
        PermanentError,
        DeadlinePassed,
        DeadLettered,
        Waive { critical: true },
        Waive { critical: false },
        OperatorRetry,
        ProvenAbsent,
    ];

    fn expected(state: StepState, input: StepInput) -> Option<StepState> {
        match (state, input) {
            (Pending, DependenciesMet) => Some(Ready),
            (Ready | RetryWait | AwaitingCompletion | InFlight, Claim) => Some(InFlight),
            (InFlight, Succeeded) => Some(Verified),
            (InFlight, RetryableError | Throttled) => Some(RetryWait),
            (InFlight, OperationPending) => Some(AwaitingCompletion),
            (InFlight, PermanentError | DeadlinePassed) => Some(Failed),
            (Ready | RetryWait | AwaitingCompletion | InFlight, DeadLettered) => Some(Failed),
            (Ready | RetryWait | InFlight, AwaitPeople) => Some(Awaiting),
            (Awaiting, Confirmed) => Some(Verified),
            (
                Pending | Ready | RetryWait | AwaitingCompletion | InFlight | Failed | Awaiting,
                Waive { critical: false },
            ) => Some(Waived),
            (Failed, OperatorRetry) => Some(Ready),
            (Verified, Relock) => Some(Ready),
            (Pending | Ready | RetryWait | AwaitingCompletion | Failed, ProvenAbsent) => {
                Some(NotApplicable)
            }
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
    fn a_critical_step_can_never_be_waived() {
        for s in STATES {
            assert!(transition(s, Waive { critical: true }).is_err(), "{s:?}");
        }
    }

    #[test]
    fn verified_waived_and_not_applicable_are_final_but_for_a_relock_after_a_late_sign_in() {
        for s in [Verified, Waived, NotApplicable] {
            for i in INPUTS {
                if (s, i) == (Verified, Relock) {
                    continue;
                }
                assert!(transition(s, i).is_err(), "{s:?} accepted {i:?}");
            }
        }
        assert_eq!(
            transition(Verified, Relock).unwrap(),
            (Ready, vec![StepCommand::Enqueue])
        );
    }

    #[test]
    fn an_operator_decision_reconsiders_the_block_first() {
        use StepCommand::*;
        assert_eq!(
            transition(Failed, Waive { critical: false }).unwrap().1,
            vec![ReconsiderBlock, ReleaseDependents]
        );
        assert_eq!(
            transition(Failed, OperatorRetry).unwrap().1,
            vec![ReconsiderBlock, Enqueue]
        );
    }

    #[test]
    fn proven_absence_never_races_a_worker_and_releases_dependents() {
        assert!(transition(InFlight, ProvenAbsent).is_err());
        assert_eq!(
            transition(Failed, ProvenAbsent).unwrap(),
            (
                NotApplicable,
                vec![StepCommand::ReconsiderBlock, StepCommand::ReleaseDependents]
            )
        );
    }

    #[test]
    fn waiting_queues_the_step_again_and_never_blocks() {
        for input in [RetryableError, Throttled, OperationPending] {
            assert_eq!(
                transition(InFlight, input).unwrap().1,
                vec![StepCommand::Enqueue],
                "{input:?}"
            );
        }
        assert_eq!(
            transition(AwaitingCompletion, Claim).unwrap(),
            (InFlight, vec![StepCommand::Execute]),
            "a poll is a claim"
        );
    }

    #[test]
    fn failures_block_the_run() {
        assert_eq!(
            transition(InFlight, PermanentError).unwrap().1,
            vec![StepCommand::BlockRun]
        );
        assert_eq!(
            transition(InFlight, DeadlinePassed).unwrap().1,
            vec![StepCommand::BlockRun]
        );
        assert_eq!(
            transition(Ready, DeadLettered).unwrap().1,
            vec![StepCommand::BlockRun]
        );
    }
}
