//! The sqlite ledger backend (in progress).
