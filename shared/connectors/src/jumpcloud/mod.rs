//! jumpcloud connector (under construction).
