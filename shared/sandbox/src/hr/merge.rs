//! merge emulator
