//! [`VerifyingKey`]: an RSA public key, parsed once for every compiled backend.

use std::fmt;
use std::time::SystemTime;

use spki::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::der::asn1::UintRef;
use x509_cert::der::{Decode, Reader, SliceReader};

#[cfg(feature = "aws-lc")]
use crate::crypto::AwsLc;
#[cfg(feature = "rustcrypto")]
use crate::crypto::RustCrypto;
use crate::crypto::{Backend, Provider, RsaComponents};

use super::KeyError;
use super::id::serial_from_bytes;
use super::pem;

/// `rsaEncryption` (RFC 8017): the algorithm of every WeChat Pay public key and platform
/// certificate key.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Smallest and largest RSA moduli accepted, in bits.
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;

/// A WeChat Pay verification key: the RSA public key of a WeChat Pay public key (微信支付公钥)
/// or of a platform certificate (平台证书).
///
/// Parsed once, when loaded, into each compiled backend's own key object, so verifying a
/// notification does no parsing. Only RSA keys of 2048 to 8192 bits are accepted. `Debug`
/// shows the size and id, nothing of the key.
///
/// Two keys are equal when their modulus and exponent are (wherever they came from).
#[derive(Clone)]
pub struct VerifyingKey {
    bits: usize,
    id: Option<String>,
    certificate: Option<CertificateInfo>,
    modulus: Box<[u8]>,
    exponent: Box<[u8]>,
    #[cfg(feature = "aws-lc")]
    aws_lc: <AwsLc as Provider>::PublicKey,
    #[cfg(feature = "rustcrypto")]
    rust_crypto: <RustCrypto as Provider>::PublicKey,
}

#[derive(Debug, Clone)]
struct CertificateInfo {
    serial: String,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl VerifyingKey {
    /// Load a key from PEM text: a public key (`-----BEGIN PUBLIC KEY-----`, the form of
    /// WeChat Pay's `pub_key.pem`), a PKCS#1 public key (`-----BEGIN RSA PUBLIC KEY-----`) or
    /// an X.509 certificate (`-----BEGIN CERTIFICATE-----`, a platform certificate; its serial
    /// becomes the key's [`id`](Self::id)).
    ///
    /// Text around the block is ignored; line wrapping and CRLF line ends do not matter.
    ///
    /// # Errors
    /// [`KeyError::Pem`] for text without exactly one well-formed PEM block,
    /// [`KeyError::UnsupportedPem`] for other blocks (a private key, say),
    /// [`KeyError::Malformed`] when the DER does not parse, [`KeyError::NotRsa`] for non-RSA
    /// keys, [`KeyError::KeySize`] for RSA keys under 2048 (or over 8192) bits, and
    /// [`KeyError::InvalidRsaKey`] or [`KeyError::BackendRejected`] for broken RSA keys.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let block = pem::parse_one(pem)?;
        match block.label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&block.der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&block.der),
            "CERTIFICATE" => Self::from_certificate_der(&block.der),
            other => {
                let hint = if other.contains("PRIVATE KEY") {
                    ": this is a private key; register WeChat Pay's public key or platform certificate"
                } else {
                    ""
                };
                Err(KeyError::UnsupportedPem {
                    label: other.to_owned(),
                    hint,
                })
            }
        }
    }

    /// Load a key from a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// As [`from_pem`](Self::from_pem), from [`KeyError::Malformed`] on.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::malformed("SubjectPublicKeyInfo", e))?;
        let pkcs1 = rsa_key_bits(spki.algorithm.oid, spki.subject_public_key.as_bytes())?;
        Self::from_pkcs1_der(pkcs1)
    }

    /// Load a key from a DER PKCS#1 `RSAPublicKey`.
    ///
    /// # Errors
    /// As [`from_pem`](Self::from_pem), from [`KeyError::Malformed`] on.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let (n, e) = decode_rsa_public_key(der)?;
        let bits = bit_length(n);
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(KeyError::KeySize { bits });
        }
        check_components(n, e)?;
        let components = RsaComponents {
            n,
            e,
            bits_range: MIN_BITS..=MAX_BITS,
        };
        Ok(VerifyingKey {
            bits,
            id: None,
            certificate: None,
            modulus: n.into(),
            exponent: e.into(),
            #[cfg(feature = "aws-lc")]
            aws_lc: parse_for::<AwsLc>(Backend::AwsLc, &components)?,
            #[cfg(feature = "rustcrypto")]
            rust_crypto: parse_for::<RustCrypto>(Backend::RustCrypto, &components)?,
        })
    }

    /// Load the key of a DER X.509 certificate. The certificate's serial becomes the key's
    /// [`id`](Self::id); its validity is kept ([`not_after`](Self::not_after)) but not
    /// enforced here.
    ///
    /// # Errors
    /// As [`from_pem`](Self::from_pem), from [`KeyError::Malformed`] on.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, KeyError> {
        let cert = Certificate::from_der(der).map_err(|e| KeyError::malformed("certificate", e))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        let pkcs1 = rsa_key_bits(spki.algorithm.oid, spki.subject_public_key.as_bytes())?;
        let serial = serial_from_bytes(tbs.serial_number().as_bytes());
        let validity = tbs.validity();
        let mut key = Self::from_pkcs1_der(pkcs1)?;
        key.id = Some(serial.clone());
        key.certificate = Some(CertificateInfo {
            serial,
            not_before: validity.not_before.to_system_time(),
            not_after: validity.not_after.to_system_time(),
        });
        Ok(key)
    }

    /// The modulus size in bits (2048 for every key WeChat Pay issues today).
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The id the key answers to: the normalized key id it is registered under in a
    /// [`Keyring`](super::Keyring), or, for a key loaded from a certificate and not registered,
    /// the certificate's serial.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The certificate's serial (upper-case hex, no leading zeros), for a key loaded from a
    /// certificate.
    pub fn certificate_serial(&self) -> Option<&str> {
        self.certificate.as_ref().map(|c| c.serial.as_str())
    }

    /// The start of the certificate's validity, for a key loaded from a certificate.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.certificate.as_ref().map(|c| c.not_before)
    }

    /// The end of the certificate's validity, for a key loaded from a certificate (WeChat Pay
    /// rotates platform certificates before they expire; keep the new one registered too).
    pub fn not_after(&self) -> Option<SystemTime> {
        self.certificate.as_ref().map(|c| c.not_after)
    }

    pub(crate) fn set_id(&mut self, id: String) {
        self.id = Some(id);
    }

    #[cfg(feature = "aws-lc")]
    pub(crate) fn aws_lc(&self) -> &<AwsLc as Provider>::PublicKey {
        &self.aws_lc
    }

    #[cfg(feature = "rustcrypto")]
    pub(crate) fn rust_crypto(&self) -> &<RustCrypto as Provider>::PublicKey {
        &self.rust_crypto
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.modulus == other.modulus && self.exponent == other.exponent
    }
}

impl Eq for VerifyingKey {}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("bits", &self.bits)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn parse_for<P: Provider>(
    backend: Backend,
    components: &RsaComponents<'_>,
) -> Result<P::PublicKey, KeyError> {
    P::parse_rsa_public_key(components).map_err(|reason| KeyError::BackendRejected {
        backend: backend.name(),
        reason,
    })
}

/// The PKCS#1 key inside a `SubjectPublicKeyInfo`, if it is an RSA key.
fn rsa_key_bits(algorithm: ObjectIdentifier, key: Option<&[u8]>) -> Result<&[u8], KeyError> {
    if algorithm != RSA_ENCRYPTION {
        return Err(KeyError::NotRsa {
            algorithm: algorithm.to_string(),
        });
    }
    key.ok_or_else(|| KeyError::InvalidRsaKey {
        reason: "the public key bit string has unused bits".to_owned(),
    })
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`, strict DER, both
/// positive. The returned bytes carry no leading zero.
fn decode_rsa_public_key(der: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let malformed = |e| KeyError::malformed("RSA public key", e);
    let mut reader = SliceReader::new(der).map_err(malformed)?;
    let (n, e) = reader
        .sequence(|r| Ok::<_, x509_cert::der::Error>((UintRef::decode(r)?, UintRef::decode(r)?)))
        .map_err(malformed)?;
    reader.finish().map_err(malformed)?;
    Ok((n.as_bytes(), e.as_bytes()))
}

fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
        None => 0,
    }
}

/// Checks both backends make, made once here so they accept and refuse the same keys: an odd
/// modulus, and an odd public exponent from 3 to 2^33 - 1.
fn check_components(n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    let invalid = |reason: &str| {
        Err(KeyError::InvalidRsaKey {
            reason: reason.to_owned(),
        })
    };
    if n.last().is_none_or(|b| b & 1 == 0) {
        return invalid("the modulus is even");
    }
    let e_bits = bit_length(e);
    if e_bits > 33 {
        return invalid("the public exponent is larger than 2^33 - 1");
    }
    if e.last().is_none_or(|b| b & 1 == 0) || e_bits < 2 {
        return invalid("the public exponent must be odd and at least 3");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[0, 0x7f, 0]), 15);
    }

    #[test]
    fn exponent_checks() {
        let n = [0xC5u8; 256];
        assert!(check_components(&n, &[1, 0, 1]).is_ok());
        assert!(check_components(&n, &[3]).is_ok());
        assert!(check_components(&n, &[1]).is_err());
        assert!(check_components(&n, &[2]).is_err());
        assert!(check_components(&n, &[1, 0, 0]).is_err());
        assert!(check_components(&n, &[3, 0, 0, 0, 1]).is_err());
        assert!(check_components(&[0xC4; 256], &[3]).is_err());
    }
}
