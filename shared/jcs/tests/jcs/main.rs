//! RFC 8785 canonicalization against the reference vectors.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod canonical;
mod rfc8785_vectors;
