//! bamboohr
