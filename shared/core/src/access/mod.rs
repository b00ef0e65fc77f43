//! Every access item a run found, graded by what happened to it.
//!
//! A step's state says whether the step finished; it does not say whether the leaver's access
//! is gone. A run that removes nine groups and cannot touch a tenth (synced from on-premises
//! AD, or a dynamic rule that re-adds the user) has a verified step and a remaining membership.
//! The snapshot names each item; the steps' outputs say what became of it; [`grade`] turns the
//! two into one verdict per item, and the closure gate holds the run while a critical item
//! remains or is pending and no operator has accepted it as an exception.

mod exception;
mod grade;
mod item;

pub use exception::{AccessException, held};
pub use grade::grade;
pub use item::{AccessItem, Grade, ItemKind, ReadKind, Source};

#[cfg(test)]
mod tests;
