//! hibob emulator
