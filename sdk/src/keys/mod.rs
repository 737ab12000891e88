//! Keys: the merchant's secrets ([`ApiV3Key`], [`ApiV2Key`]) and WeChat Pay's verification
//! keys ([`VerifyingKey`]) gathered in a [`Keyring`] by the ids notifications name them with
//! ([`KeyIdKind`]).
//!
//! Nothing here prints key material: secrets are zeroed on drop and redacted from `Debug`, and
//! [`KeyError`] messages name lengths and ids only.

mod error;
mod id;
mod keyring;
mod pem;
mod secret;
mod verifying;

pub use error::KeyError;
pub use id::{KeyIdKind, PUBLIC_KEY_ID_PREFIX};
pub use keyring::Keyring;
pub use secret::{ApiV2Key, ApiV3Key, StorageKey};
pub use verifying::VerifyingKey;
