//! [`KeyError`]: what can go wrong loading keys and filling a [`Keyring`](super::Keyring).

use std::error::Error as StdError;

/// A key could not be loaded or registered.
///
/// Messages name lengths, labels, algorithms and key ids, never key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The APIv3 key is not 32 bytes long.
    #[error("the APIv3 key must be exactly 32 bytes, found {found}")]
    ApiV3KeyLength {
        /// How many bytes were given (after trimming surrounding whitespace, for text).
        found: usize,
    },

    /// The APIv2 key is empty.
    #[error("the APIv2 key is empty")]
    EmptyApiV2Key,

    /// The storage key is not 32 bytes (64 hexadecimal digits).
    #[error("the storage key must be exactly 32 bytes (64 hex digits), found {found}")]
    StorageKey {
        /// How many bytes were given.
        found: usize,
    },

    /// The text is not a PEM block this SDK reads.
    #[error("not a PEM document: {reason}")]
    Pem {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The PEM block holds something other than a public key or a certificate.
    #[error(
        "unsupported PEM block {label:?}: expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE{hint}"
    )]
    UnsupportedPem {
        /// The label after `-----BEGIN `.
        label: String,
        /// Extra advice for common mistakes (empty when there is none).
        hint: &'static str,
    },

    /// The DER inside the PEM block does not parse.
    #[error("malformed {what}")]
    Malformed {
        /// What was being read: "certificate", "SubjectPublicKeyInfo", "RSA public key", …
        what: &'static str,
        /// The decoder's error.
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },

    /// The key is not an RSA (`rsaEncryption`) key.
    #[error("not an RSA key (algorithm {algorithm}): WeChat Pay signs with RSA-SHA256")]
    NotRsa {
        /// The algorithm's object identifier, dotted.
        algorithm: String,
    },

    /// The RSA modulus is outside the supported sizes.
    #[error("unsupported RSA key size: {bits} bits (2048 to 8192 are supported)")]
    KeySize {
        /// The modulus size in bits.
        bits: usize,
    },

    /// The RSA public key has an invalid modulus or exponent.
    #[error("invalid RSA public key: {reason}")]
    InvalidRsaKey {
        /// Which check failed.
        reason: String,
    },

    /// A crypto backend refused the key.
    #[error("the {backend} backend rejected the RSA public key: {reason}")]
    BackendRejected {
        /// The backend's name ([`Backend::name`](crate::crypto::Backend::name)).
        backend: &'static str,
        /// The backend's reason.
        reason: String,
    },

    /// The text is neither a `PUB_KEY_ID_…` id nor a hexadecimal certificate serial.
    #[error(
        "invalid key id {id:?}: expected a WeChat Pay public key id (PUB_KEY_ID_…) or a hexadecimal certificate serial"
    )]
    InvalidKeyId {
        /// The id as given.
        id: String,
    },

    /// A verification key was to be registered under the merchant's own certificate serial.
    #[error(
        "key id {serial} is the merchant's own API certificate serial, not a WeChat Pay platform certificate \
         or public key: WeChat Pay signs notifications with its own key, so register the platform \
         certificate (or the WeChat Pay public key under its PUB_KEY_ID_… id) instead"
    )]
    MerchantSerial {
        /// The serial, normalized.
        serial: String,
    },

    /// Another key is already registered under this id.
    #[error("a different key is already registered under {id}")]
    DuplicateKeyId {
        /// The id, normalized.
        id: String,
    },

    /// A certificate was registered under a serial that is not its own.
    #[error("the certificate's serial is {certificate}, not {id}")]
    SerialMismatch {
        /// The id it was to be registered under, normalized.
        id: String,
        /// The certificate's own serial, normalized.
        certificate: String,
    },
}

impl KeyError {
    pub(crate) fn malformed(
        what: &'static str,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        KeyError::Malformed {
            what,
            source: Box::new(source),
        }
    }
}
