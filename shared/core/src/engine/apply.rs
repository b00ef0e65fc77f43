//! Applying machine transitions to stored records: the engine changes `state` nowhere else.

use crate::domain::{Run, Step};
use crate::machine::TransitionError;
use crate::machine::run::{self, RunCommand, RunInput};
use crate::machine::step::{self, StepCommand, StepInput};

pub(crate) fn run(r: &mut Run, input: RunInput) -> Result<Vec<RunCommand>, TransitionError> {
    let (next, cmds) = run::transition(r.state, input)?;
    r.state = next;
    Ok(cmds)
}

pub(crate) fn step(s: &mut Step, input: StepInput) -> Result<Vec<StepCommand>, TransitionError> {
    let (next, cmds) = step::transition(s.state, input)?;
    s.state = next;
    Ok(cmds)
}
