//! APIv2 notifications made as WeChat Pay makes them: the refund's `req_info` sealed with
//! AES-256-ECB under md5(APIv2 key), the payscore-style events' `event_ciphertext` sealed with
//! AES-256-GCM under the APIv3 key, and the `sign` by the kind's algorithm.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Kind;
use crate::catalogue::{V2Encryption, V2Sign, V2SignDefault};
use crate::keys::{ApiV2Key, ApiV3Key};
use crate::v2::{FlatXml, SignType};

/// Seals and signs APIv2 bodies with keys the caller controls.
///
/// ```
/// use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, Keyring};
/// use wechatpay_notify::testkit::V2Sealer;
/// use wechatpay_notify::v2::FlatXml;
/// use wechatpay_notify::{Kind, Receiver};
///
/// let v2 = ApiV2Key::from_text("Tq7Vw2Xz9Ab4Cd6Ef8Gh1Jk3Lm5Np0Rs")?;
/// let v3 = ApiV3Key::from_text("Kx3Pq8Rt2Wv6Yz1Bc5Df9Gh4Jm7Ln0Sr")?;
/// let sealer = V2Sealer::new(v2.clone(), v3.clone());
/// let outer = FlatXml::from_entries(vec![("return_code".into(), "SUCCESS".into()), ("mch_id".into(), "1900000109".into())]);
/// let plaintext = "<root><out_trade_no>T1</out_trade_no><transaction_id>42</transaction_id>\
///     <refund_id>R9</refund_id><out_refund_no>R1</out_refund_no><total_fee>100</total_fee>\
///     <refund_fee>100</refund_fee><refund_status>SUCCESS</refund_status></root>";
/// let body = sealer.seal(Kind::V2RefundProcessed, outer, Some(plaintext.as_bytes()));
///
/// let receiver = Receiver::new(Keyring::new(), v3).with_api_v2_key(v2);
/// let received = receiver.receive_v2(body.as_bytes())?;
/// assert_eq!(received.kind(), Some(Kind::V2RefundProcessed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct V2Sealer {
    api_v2_key: ApiV2Key,
    api_v3_key: ApiV3Key,
    gcm_nonce: Option<[u8; 12]>,
}

impl V2Sealer {
    /// A sealer with the merchant's two keys.
    pub fn new(api_v2_key: ApiV2Key, api_v3_key: ApiV3Key) -> Self {
        V2Sealer {
            api_v2_key,
            api_v3_key,
            gcm_nonce: None,
        }
    }

    /// Uses this GCM nonce (12 ASCII characters) instead of a fresh one: for reproducible
    /// samples only (never reuse a nonce with real keys).
    #[must_use]
    pub fn with_gcm_nonce(mut self, nonce: [u8; 12]) -> Self {
        self.gcm_nonce = Some(nonce);
        self
    }

    /// The body of a notification of `kind`: `outer` with the encrypted element made from
    /// `plaintext` (for encrypted kinds; the GCM nonce is fresh, the associated data
    /// `payscore`) and the `sign` set by the kind's rule — the algorithm its element names,
    /// else its default (for `by-length`, HMAC-SHA256 when `outer` already holds a
    /// 64-character sign, MD5 otherwise).
    ///
    /// # Panics
    /// When `kind` is not an APIv2 kind.
    pub fn seal(&self, kind: Kind, mut outer: FlatXml, plaintext: Option<&[u8]>) -> String {
        let spec = kind.info().v2.expect("an APIv2 kind");
        match (spec.encryption, plaintext) {
            (V2Encryption::ApiV2KeyEcb { field, .. }, Some(p)) => {
                let key = crate::v2::req_info_key(&self.api_v2_key);
                outer.set(
                    field,
                    STANDARD.encode(crate::crypto::aes256ecb_encrypt(&key, p)),
                );
            }
            (
                V2Encryption::ApiV3KeyGcm {
                    field,
                    nonce,
                    associated_data,
                    ..
                },
                Some(p),
            ) => {
                let n = match self.gcm_nonce {
                    Some(fixed) => String::from_utf8_lossy(&fixed).into_owned(),
                    None => super::random_alphanumeric(12),
                };
                let nonce_bytes: [u8; 12] = n.as_bytes().try_into().expect("12 bytes");
                let aad = "payscore";
                let sealed = crate::crypto::aes256gcm_seal(
                    self.api_v3_key.expose(),
                    &nonce_bytes,
                    aad.as_bytes(),
                    p,
                );
                outer.set(nonce, n);
                outer.set(associated_data, aad);
                outer.set(field, STANDARD.encode(sealed));
            }
            _ => {}
        }
        if let V2Sign::Required {
            algorithm_field,
            default,
        } = spec.sign
        {
            let ty = match outer
                .non_empty(algorithm_field)
                .and_then(SignType::from_wire)
            {
                Some(ty) => ty,
                None => match default {
                    V2SignDefault::Md5 => SignType::Md5,
                    V2SignDefault::HmacSha256 => SignType::HmacSha256,
                    _ if outer.get("sign").is_some_and(|s| s.len() == 64) => SignType::HmacSha256,
                    _ => SignType::Md5,
                },
            };
            self.sign(&mut outer, ty);
        }
        outer.to_xml("xml")
    }

    /// Sets `sign` of `outer` by `ty` with the APIv2 key.
    pub fn sign(&self, outer: &mut FlatXml, ty: SignType) {
        let sign = crate::v2::sign(outer, &self.api_v2_key, ty);
        outer.set("sign", sign);
    }
}
