//! Crypto backends.
