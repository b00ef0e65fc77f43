//! HR system emulators (BambooHR, HiBob, Personio, Merge, Gusto, Finch, Rippling): each serves
//! its vendor's employee API on loopback (same paths, auth, bodies, errors, pagination) and
//! sends webhooks signed (or token-authenticated) the way the vendor does. One vendor-neutral
//! [`directory::Directory`] behind each drives the state API tests use.

pub mod bamboohr;
pub mod directory;
pub mod finch;
pub mod gusto;
pub mod hibob;
pub mod merge;
pub mod personio;
pub mod plumbing;
pub mod receiver;
pub mod rippling;

pub use directory::{
    DEMO_LEAVER, DEMO_MANAGER, DemoPeople, Directory, DirectoryError, Employee, IdStyle,
    NewEmployee, Termination, seed_demo,
};
pub use plumbing::{Faults, HrEmulator};
pub use receiver::{RawDelivery, RawReceiver};
