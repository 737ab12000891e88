//! Whole signed APIv3 requests, built as WeChat Pay sends them.

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use super::{SealedResource, TestSigner, random_alphanumeric, seal_resource};
use crate::keys::ApiV3Key;
use crate::v3::headers;

/// A signed notification request: headers and the exact body bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
    /// The `Wechatpay-*` headers (and `Content-Type`).
    pub headers: HeaderMap,
    /// The body, byte for byte as signed.
    pub body: Vec<u8>,
}

impl SignedRequest {
    /// The request as `inspect` reads it: `{"headers": [[name, value], …], "body": "…"}`.
    pub fn to_capture_json(&self) -> serde_json::Value {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        serde_json::json!({
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
        })
    }

    /// The request as an `http` request to `uri`.
    ///
    /// # Errors
    /// When `uri` is not a valid URI.
    pub fn to_http(&self, uri: &str) -> Result<http::Request<bytes::Bytes>, http::Error> {
        let mut req = http::Request::post(uri).body(bytes::Bytes::from(self.body.clone()))?;
        *req.headers_mut() = self.headers.clone();
        Ok(req)
    }
}

/// Builds an APIv3 notification for a resource: seals it with the APIv3 key, wraps it in an
/// envelope in WeChat Pay's key order, and signs it.
///
/// ```
/// use wechatpay_notify::keys::ApiV3Key;
/// use wechatpay_notify::testkit::{TestSigner, V3RequestBuilder};
/// use wechatpay_notify::time::FixedClock;
/// use wechatpay_notify::{Receiver, v3::Verifier};
///
/// let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
/// let key = ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv")?;
/// let request = V3RequestBuilder::new("REFUND.SUCCESS", r#"{"out_refund_no":"R1"}"#)
///     .id("EV-1")
///     .timestamp(1_700_000_000)
///     .sign(&signer, &key);
///
/// let verifier = Verifier::new(signer.keyring()?).with_clock(FixedClock(1_700_000_010));
/// let verified = verifier.verify(&request.headers, &request.body)?;
/// assert_eq!(verified.envelope().id, "EV-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct V3RequestBuilder {
    event_type: String,
    plaintext: Vec<u8>,
    id: Option<String>,
    create_time: String,
    summary: Option<String>,
    original_type: Option<String>,
    associated_data: String,
    timestamp: Option<i64>,
    nonce: Option<String>,
    resource_nonce: Option<[u8; 12]>,
    signature_type: bool,
}

#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    create_time: &'a str,
    resource_type: &'a str,
    event_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    resource: Resource<'a>,
}

#[derive(Serialize)]
struct Resource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    original_type: Option<&'a str>,
    algorithm: &'a str,
    ciphertext: &'a str,
    associated_data: &'a str,
    nonce: &'a str,
}

impl V3RequestBuilder {
    /// A notification of `event_type` carrying `plaintext` (the resource JSON).
    pub fn new(event_type: impl Into<String>, plaintext: impl Into<Vec<u8>>) -> Self {
        V3RequestBuilder {
            event_type: event_type.into(),
            plaintext: plaintext.into(),
            id: None,
            create_time: "2015-05-20T13:29:35+08:00".to_owned(),
            summary: None,
            original_type: None,
            associated_data: String::new(),
            timestamp: None,
            nonce: None,
            resource_nonce: None,
            signature_type: true,
        }
    }

    /// The notification id (default: a random UUID-like id).
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The envelope's create_time.
    #[must_use]
    pub fn create_time(mut self, t: impl Into<String>) -> Self {
        self.create_time = t.into();
        self
    }

    /// The envelope's summary.
    #[must_use]
    pub fn summary(mut self, s: impl Into<String>) -> Self {
        self.summary = Some(s.into());
        self
    }

    /// `resource.original_type` (also used as associated data unless one is set).
    #[must_use]
    pub fn original_type(mut self, t: impl Into<String>) -> Self {
        let t = t.into();
        if self.associated_data.is_empty() {
            self.associated_data.clone_from(&t);
        }
        self.original_type = Some(t);
        self
    }

    /// `resource.associated_data`.
    #[must_use]
    pub fn associated_data(mut self, aad: impl Into<String>) -> Self {
        self.associated_data = aad.into();
        self
    }

    /// `Wechatpay-Timestamp` (default: now).
    #[must_use]
    pub fn timestamp(mut self, unix: i64) -> Self {
        self.timestamp = Some(unix);
        self
    }

    /// `Wechatpay-Nonce` (default: 32 random alphanumerics).
    #[must_use]
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// `resource.nonce`, fixed for reproducible output (default: 12 random alphanumerics).
    #[must_use]
    pub fn resource_nonce(mut self, nonce: [u8; 12]) -> Self {
        self.resource_nonce = Some(nonce);
        self
    }

    /// Leaves out `Wechatpay-Signature-Type`, as older deliveries do.
    #[must_use]
    pub fn without_signature_type(mut self) -> Self {
        self.signature_type = false;
        self
    }

    /// Seals, wraps and signs: the request as WeChat Pay would send it.
    pub fn sign(&self, signer: &TestSigner, api_v3_key: &ApiV3Key) -> SignedRequest {
        let sealed: SealedResource = seal_resource(
            api_v3_key,
            &self.plaintext,
            &self.associated_data,
            self.resource_nonce,
        );
        let id = self.id.clone().unwrap_or_else(random_id);
        let envelope = Envelope {
            id: &id,
            create_time: &self.create_time,
            resource_type: "encrypt-resource",
            event_type: &self.event_type,
            summary: self.summary.as_deref(),
            resource: Resource {
                original_type: self.original_type.as_deref(),
                algorithm: SealedResource::ALGORITHM,
                ciphertext: &sealed.ciphertext_b64,
                associated_data: &sealed.associated_data,
                nonce: &sealed.nonce,
            },
        };
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        let timestamp = self
            .timestamp
            .unwrap_or_else(|| crate::time::Clock::now_unix(&crate::time::SystemClock))
            .to_string();
        let nonce = self
            .nonce
            .clone()
            .unwrap_or_else(|| random_alphanumeric(32));
        let signature = signer.sign_v3(&timestamp, &nonce, &body);
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                h.insert(n, v);
            }
        };
        put("Content-Type", "application/json");
        put(headers::TIMESTAMP, &timestamp);
        put(headers::NONCE, &nonce);
        put(headers::SIGNATURE, &signature);
        put(headers::SERIAL, signer.key_id());
        if self.signature_type {
            put(headers::SIGNATURE_TYPE, headers::RSA_SIGNATURE_TYPE);
        }
        SignedRequest { headers: h, body }
    }
}

/// A random id shaped like the UUIDs real notifications carry.
pub(crate) fn random_id() -> String {
    let hex = crate::crypto::random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
