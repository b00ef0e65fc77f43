//! personio emulator
