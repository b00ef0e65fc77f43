//! google connector (under construction).
