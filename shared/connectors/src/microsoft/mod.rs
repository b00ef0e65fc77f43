//! microsoft connector (under construction).
