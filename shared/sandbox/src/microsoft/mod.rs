//! Microsoft emulator (Graph, Intune, the Exchange Online admin endpoint, the identity platform token endpoint).
