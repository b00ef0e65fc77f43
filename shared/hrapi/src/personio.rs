//! personio
