//! Each HR system's API client against its emulator.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod bamboohr;
mod common;
mod finch;
mod gusto;
mod hibob;
mod merge;
mod personio;
mod rippling;
