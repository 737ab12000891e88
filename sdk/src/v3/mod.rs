//! APIv3 (JSON) notifications: headers, signature verification, the envelope and decryption.

mod diagnose;
pub mod envelope;
pub mod headers;
mod signature_cache;
mod verify;

pub use envelope::{Envelope, Resource};
pub use verify::{DEFAULT_MAX_BODY, DEFAULT_WINDOW_SECS, Verified, Verifier};
