//! hibob
