//! The redis ledger backend (in progress).
