//! [`Keyring`]: the verification keys a receiver trusts, by the ids WeChat Pay names them with.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::id::{PUBLIC_KEY_ID_PREFIX, normalize_key_id};
use super::{KeyError, KeyIdKind, VerifyingKey};

/// The WeChat Pay verification keys a receiver trusts, each under the id that
/// `Wechatpay-Serial` names it with: platform certificates under their serials and WeChat Pay
/// public keys under their `PUB_KEY_ID_…` ids, both at once (as during a migration from one to
/// the other).
///
/// Certificate serials compare as hexadecimal numbers: case and leading zeros are ignored.
/// Registering a different key under a taken id is refused; the same key again is accepted.
///
/// The merchant's *own* API certificate serial can be declared with
/// [`set_merchant_serial`](Self::set_merchant_serial): registering a key under it is then
/// refused, because that certificate is the merchant's, not WeChat Pay's — a leading cause of
/// notifications that never verify.
///
/// Cloning is cheap (the keys are shared), and a `Keyring` is `Send + Sync`.
///
/// ```
/// use wechatpay_notify::keys::{KeyError, KeyIdKind, Keyring};
///
/// let mut keyring = Keyring::new();
/// keyring.set_merchant_serial("3775B6A45ACD588826D15E583A95F5DD00000000")?;
/// assert!(keyring.is_empty());
/// assert!(!keyring.contains_kind(KeyIdKind::PublicKeyId));
/// assert!(keyring.get("PUB_KEY_ID_0114232134912410000").is_none());
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Arc<BTreeMap<String, Arc<VerifyingKey>>>,
    merchant_serial: Option<String>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declare the merchant's own API certificate serial (商户API证书序列号), so that a WeChat
    /// Pay key is never registered under it by mistake.
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`] unless `serial` is hexadecimal, and
    /// [`KeyError::MerchantSerial`] when a key is already registered under it.
    pub fn set_merchant_serial(&mut self, serial: &str) -> Result<(), KeyError> {
        let (kind, serial) = normalize_key_id(serial)?;
        if kind != KeyIdKind::CertificateSerial {
            return Err(KeyError::InvalidKeyId { id: serial });
        }
        if self.keys.contains_key(&serial) {
            return Err(KeyError::MerchantSerial { serial });
        }
        self.merchant_serial = Some(serial);
        Ok(())
    }

    /// The merchant's own certificate serial, normalized, when declared.
    pub fn merchant_serial(&self) -> Option<&str> {
        self.merchant_serial.as_deref()
    }

    /// Register the key in `pem` under `id`, the `Wechatpay-Serial` value it answers to: a
    /// WeChat Pay public key id (`PUB_KEY_ID_…`) or a platform certificate serial. `pem` is a
    /// public key or a certificate (see [`VerifyingKey::from_pem`]); a certificate registered
    /// under a serial must carry that serial.
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`] for a malformed id, [`KeyError::MerchantSerial`] for the
    /// merchant's own serial, any error of [`VerifyingKey::from_pem`],
    /// [`KeyError::SerialMismatch`] for a certificate with another serial, and
    /// [`KeyError::DuplicateKeyId`] when another key holds the id.
    pub fn add_public_key_pem(&mut self, id: &str, pem: &str) -> Result<(), KeyError> {
        let (kind, id) = self.check_id(id)?;
        let key = VerifyingKey::from_pem(pem)?;
        self.insert(kind, id, key)
    }

    /// Register a platform certificate (平台证书) under its own serial, returned normalized
    /// (upper-case hex without leading zeros).
    ///
    /// # Errors
    /// Any error of [`VerifyingKey::from_pem`]; [`KeyError::UnsupportedPem`] when `pem` is not a
    /// certificate; [`KeyError::MerchantSerial`] and [`KeyError::DuplicateKeyId`] as for
    /// [`add_public_key_pem`](Self::add_public_key_pem).
    pub fn add_platform_certificate_pem(&mut self, pem: &str) -> Result<String, KeyError> {
        let key = VerifyingKey::from_pem(pem)?;
        let Some(serial) = key.certificate_serial().map(str::to_owned) else {
            return Err(KeyError::UnsupportedPem {
                label: "PUBLIC KEY".to_owned(),
                hint: ": a platform certificate was expected; register a public key with its id instead",
            });
        };
        let (_, serial) = self.check_id(&serial)?;
        self.insert(KeyIdKind::CertificateSerial, serial.clone(), key)?;
        Ok(serial)
    }

    /// Register an already loaded key under `id` (see
    /// [`add_public_key_pem`](Self::add_public_key_pem)).
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`], [`KeyError::MerchantSerial`], [`KeyError::SerialMismatch`]
    /// and [`KeyError::DuplicateKeyId`] as for [`add_public_key_pem`](Self::add_public_key_pem).
    pub fn add_key(&mut self, id: &str, key: VerifyingKey) -> Result<(), KeyError> {
        let (kind, id) = self.check_id(id)?;
        self.insert(kind, id, key)
    }

    /// The key registered under `id` (a `Wechatpay-Serial` value; serials in any case, with or
    /// without leading zeros).
    pub fn get(&self, id: &str) -> Option<&VerifyingKey> {
        if let Some(key) = self.keys.get(id) {
            return Some(key);
        }
        let (_, id) = normalize_key_id(id).ok()?;
        self.keys.get(&id).map(|key| &**key)
    }

    /// Whether any key of this kind is registered: when a notification names an unknown
    /// platform certificate while only public keys are registered (or the reverse), the
    /// configuration, not the notification, is what needs fixing.
    pub fn contains_kind(&self, kind: KeyIdKind) -> bool {
        // Stored ids are normalized: the prefix alone tells their kind.
        let is_public_key_id = kind == KeyIdKind::PublicKeyId;
        self.keys
            .keys()
            .any(|id| id.starts_with(PUBLIC_KEY_ID_PREFIX) == is_public_key_id)
    }

    /// The registered ids, normalized, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Whether no key is registered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys are registered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    fn check_id(&self, id: &str) -> Result<(KeyIdKind, String), KeyError> {
        let (kind, id) = normalize_key_id(id)?;
        if self.merchant_serial.as_deref() == Some(id.as_str()) {
            return Err(KeyError::MerchantSerial { serial: id });
        }
        Ok((kind, id))
    }

    fn insert(
        &mut self,
        kind: KeyIdKind,
        id: String,
        mut key: VerifyingKey,
    ) -> Result<(), KeyError> {
        if let Some(certificate) = key.certificate_serial()
            && kind == KeyIdKind::CertificateSerial
            && certificate != id
        {
            return Err(KeyError::SerialMismatch {
                id,
                certificate: certificate.to_owned(),
            });
        }
        if let Some(existing) = self.keys.get(&id) {
            return if **existing == key {
                Ok(())
            } else {
                Err(KeyError::DuplicateKeyId { id })
            };
        }
        key.set_id(id.clone());
        Arc::make_mut(&mut self.keys).insert(id, Arc::new(key));
        Ok(())
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .field("merchant_serial", &self.merchant_serial)
            .finish()
    }
}
