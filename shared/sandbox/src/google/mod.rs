//! Google Workspace emulator (Admin SDK Directory, Licensing, Data Transfer, Gmail, OAuth token endpoint).
