//! JumpCloud emulator (API v1 and v2, x-api-key and service-account OAuth).
