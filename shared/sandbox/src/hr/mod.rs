//! HR system emulators: each serves its vendor's employee API on loopback (same paths, auth,
//! bodies, errors, pagination) and sends webhooks signed the way the vendor signs them.

pub mod bamboohr;
pub mod hibob;
pub mod merge;
pub mod personio;
