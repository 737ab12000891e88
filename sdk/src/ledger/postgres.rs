//! The postgres ledger backend (in progress).
