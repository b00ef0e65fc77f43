//! Run and step lifecycles as pure transition functions: `(state, input) -> (state, commands)`.
//!
//! The engine never assigns a state directly; it asks these functions, so every legal move is
//! listed in one place and every illegal one is an error with a name. The commands a move
//! returns are what must follow it, in the order listed; the engine carries them out in one
//! place (`engine/effects.rs`) and decides nothing about them itself.

pub mod run;
pub mod step;

/// An input that the current state does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{machine}: {input} is not allowed in state {state}")]
pub struct TransitionError {
    pub machine: &'static str,
    pub state: &'static str,
    pub input: &'static str,
}
