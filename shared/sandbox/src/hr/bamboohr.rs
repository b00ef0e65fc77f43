//! bamboohr emulator
