//! Self-signed stand-ins for WeChat Pay platform certificates. TEST ONLY.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use rsa::pkcs1v15::SigningKey;
use rsa::signature::Keypair;
use sha2::Sha256;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::TbsCertificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::{EncodePem, pem::LineEnding};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::keys::{KeyError, KeyIdKind};

const SUBJECT: &str =
    "CN=TEST ONLY WeChat Pay platform certificate,O=wechatpay-notify testkit,C=CN";
const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
const AN_HOUR: Duration = Duration::from_secs(60 * 60);

/// A self-signed X.509 v1 certificate for `key` with the given hex `serial`.
pub(super) fn self_signed(key: &SigningKey<Sha256>, serial: &str) -> Result<String, KeyError> {
    let invalid = || KeyError::InvalidKeyId {
        id: serial.to_owned(),
    };
    if KeyIdKind::parse(serial) != Some(KeyIdKind::CertificateSerial) {
        return Err(invalid());
    }
    let serial_number = SerialNumber::new(&hex_to_bytes(serial.trim())).map_err(|_| invalid())?;

    let now = SystemTime::now();
    let validity = Validity::new(
        Time::try_from(now - AN_HOUR).expect("the present is a valid certificate time"),
        Time::try_from(now + TEN_YEARS).expect("ten years on is a valid certificate time"),
    );
    let subject = Name::from_str(SUBJECT).expect("a valid distinguished name");
    let spki = SubjectPublicKeyInfoOwned::from_key(&key.verifying_key())
        .expect("an RSA public key encodes");
    let builder = CertificateBuilder::new(SelfSigned { subject }, serial_number, validity, spki)
        .expect("a certificate of valid parts");
    let certificate = builder
        .build::<_, rsa::pkcs1v15::Signature>(key)
        .expect("signing with an RSA test key");
    Ok(certificate
        .to_pem(LineEnding::LF)
        .expect("a certificate encodes"))
}

/// Big-endian bytes of a hex number (an odd digit count gets a leading zero).
fn hex_to_bytes(hex: &str) -> Vec<u8> {
    let padded = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex.to_owned()
    };
    padded
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).expect("ASCII hex digits");
            u8::from_str_radix(text, 16).expect("hex digits")
        })
        .collect()
}

/// Subject = issuer, no extensions.
struct SelfSigned {
    subject: Name,
}

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}
