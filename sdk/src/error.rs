//! The SDK's error: one variant per stage of the pipeline, each wrapping that stage's own
//! error, and a classifier ([`Error::kind`], [`Error::is_retryable`], [`Error::http_status`])
//! so an HTTP adapter answers 4XX or 5XX without matching variants.
//!
//! ```
//! use wechatpay_notify::{Error, ErrorKind};
//! use wechatpay_notify::error::SignatureError;
//!
//! let e = Error::from(SignatureError::Probe);
//! assert_eq!(e.kind(), ErrorKind::SignatureProbe);
//! assert_eq!(e.http_status(), 401);
//! assert!(!e.is_retryable());
//! assert_eq!(e.to_string(), "signature rejected: signature test probe (WECHATPAY/SIGNTEST/)");
//! ```

use std::fmt;

use crate::validate::Violation;

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between the raw request and the merchant's handler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is not shaped like a notification: size, headers.
    #[error("bad request: {0}")]
    Request(#[from] RequestError),
    /// The signature did not verify, the time is out of the window, or it is a probe.
    #[error("signature rejected: {0}")]
    Signature(#[from] SignatureError),
    /// The (verified) body is not a notification envelope.
    #[error("malformed envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The resource could not be decrypted.
    #[error("decryption failed: {0}")]
    Decrypt(#[from] DecryptError),
    /// The decrypted resource does not fit its kind.
    #[error("resource rejected: {0}")]
    Resource(#[from] ResourceError),
    /// An APIv2 (XML) notification was refused before it could be opened: its XML, its
    /// `sign`, its kind, its keys or its encrypted field.
    #[error("APIv2: {0}")]
    V2(#[from] V2Error),
    /// Strict validation found violations.
    #[error("{} violation(s) in {kind}, first: {}", violations.len(), violations.first().map(ToString::to_string).unwrap_or_default())]
    Invalid {
        /// The kind id.
        kind: &'static str,
        /// What was found.
        violations: Vec<Violation>,
    },
    /// No handler took the notification, or the handler failed.
    #[error("handler: {0}")]
    Handler(#[from] HandlerError),
    /// The ledger could not record the notification, or it is being processed elsewhere.
    #[error("ledger: {0}")]
    Ledger(#[from] crate::ledger::LedgerError),
    /// Another delivery of the same notification (or fact) holds a live lease.
    #[error("in progress elsewhere ({holder}), retry later")]
    InProgress {
        /// The delivery holding the lease.
        holder: crate::ledger::DeliveryKey,
    },
}

/// The request stage: size and headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is larger than the configured limit.
    #[error("body of {size} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Bytes received (at least).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A required header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header that must appear once appears several times.
    #[error("header {0} appears more than once")]
    DuplicateHeader(&'static str),
    /// A header's value is not valid (not visible ASCII, too long, not a number…).
    #[error("header {name}: {reason}")]
    InvalidHeader {
        /// The header.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The signature stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// `Wechatpay-Signature-Type` names another scheme (SM2 included).
    #[error("unsupported signature type {0:?}, expected WECHATPAY2-SHA256-RSA2048")]
    UnsupportedType(String),
    /// WeChat Pay's deliberate bad-signature probe.
    #[error("signature test probe (WECHATPAY/SIGNTEST/)")]
    Probe,
    /// `Wechatpay-Timestamp` is older than the window allows.
    #[error("timestamp too old: {age} s before now, window {window} s")]
    TooOld {
        /// Seconds between the timestamp and now.
        age: i64,
        /// The allowed skew.
        window: i64,
    },
    /// `Wechatpay-Timestamp` is further in the future than the window allows.
    #[error("timestamp in the future: {ahead} s after now, window {window} s")]
    InFuture {
        /// Seconds between now and the timestamp.
        ahead: i64,
        /// The allowed skew.
        window: i64,
    },
    /// `Wechatpay-Signature` is not strict, canonical base64.
    #[error("Wechatpay-Signature is not canonical base64")]
    BadBase64,
    /// No key is registered under `Wechatpay-Serial`.
    #[error("no key for Wechatpay-Serial {serial:?}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownSerial {
        /// The serial or public key id received.
        serial: String,
        /// A diagnosis, such as "a public key id, but the keyring holds only certificates".
        hint: Option<String>,
    },
    /// The signature does not match the request.
    #[error("signature mismatch{}", fmt_hints(hints))]
    Mismatch {
        /// Cheap diagnoses of why (body re-serialized, not UTF-8…); empty when none fit.
        hints: Vec<String>,
    },
}

fn fmt_hints(hints: &[String]) -> String {
    if hints.is_empty() {
        String::new()
    } else {
        format!(" ({})", hints.join("; "))
    }
}

/// The envelope stage: the verified body as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", path.as_deref().map(|p| format!(" at {p}")).unwrap_or_default())]
pub struct EnvelopeError {
    /// JSON path of the fault (`resource.nonce`), when known.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The decryption stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// `resource.algorithm` is not AEAD_AES_256_GCM.
    #[error("unsupported algorithm {0:?} at resource.algorithm")]
    UnsupportedAlgorithm(String),
    /// `resource.ciphertext` is not canonical base64.
    #[error("resource.ciphertext is not canonical base64")]
    BadBase64,
    /// `resource.nonce` is not 12 bytes.
    #[error("resource.nonce is {0} bytes, expected 12")]
    NonceLength(usize),
    /// The ciphertext is shorter than a GCM tag.
    #[error("resource.ciphertext is too short to hold a tag")]
    TooShort,
    /// Authentication failed: wrong APIv3 key, or the resource was altered.
    #[error("AEAD tag mismatch (wrong APIv3 key, or altered resource)")]
    TagMismatch,
}

/// The resource stage: classification and typed parsing of the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", path.as_deref().filter(|p| !p.is_empty()).map(|p| format!(" at {p}")).unwrap_or_default())]
pub struct ResourceError {
    /// The kind the resource was parsed as, if one was chosen.
    pub kind: Option<&'static str>,
    /// What failed.
    pub reason: ResourceFault,
    /// JSON path of the fault (`amount.total`), when known.
    pub path: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

/// Why a resource was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceFault {
    /// Not JSON, or not UTF-8.
    MalformedJson,
    /// A required field is absent or null.
    MissingField,
    /// A value has the wrong JSON type.
    WrongType,
    /// The payload fits none of its event_type's variants.
    NoVariant,
    /// The decrypted APIv2 plaintext is not a well-formed flat XML document.
    MalformedXml,
}

/// Why an APIv2 (XML) notification was refused before it was opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum V2Error {
    /// The body is not a well-formed, flat XML document, or holds a DTD, an undefined entity,
    /// a duplicated element, or more nesting or elements than allowed.
    #[error("{0}")]
    Xml(#[from] crate::v2::XmlError),
    /// The kind must be signed and the body has no (or an empty) `sign`.
    #[error("no sign, and this kind must be signed")]
    MissingSign,
    /// The algorithm the body names (or its kind's default) is unknown or not among those the
    /// merchant accepts.
    #[error("sign type {found:?} at {field} is not accepted (accepted: {accepted})")]
    SignTypeNotAccepted {
        /// The element naming the algorithm (`sign_type`, `algorithm`).
        field: &'static str,
        /// The algorithm named, or assumed when the element is absent.
        found: String,
        /// The accepted algorithms.
        accepted: String,
    },
    /// The `sign` does not match the body (a wrong APIv2 key, or an altered body).
    #[error("sign mismatch ({sign_type})")]
    SignMismatch {
        /// The algorithm the sign was checked with.
        sign_type: &'static str,
    },
    /// `return_code` is `FAIL` and the body carries nothing to process.
    #[error("return_code FAIL with nothing to process{}", message.as_deref().map(|m| format!(" (return_msg {m:?})")).unwrap_or_default())]
    ReturnFail {
        /// The body's `return_msg`, if any.
        message: Option<String>,
    },
    /// The body fits no APIv2 kind of the catalogue.
    #[error("the body fits no APIv2 kind (no event_type, req_info or known fields)")]
    UnknownKind,
    /// The kind needs a key the receiver was not given.
    #[error("{kind} needs the {key}, which is not configured")]
    KeyNotConfigured {
        /// The kind id.
        kind: &'static str,
        /// Which key: `APIv2 key` or `APIv3 key`.
        key: &'static str,
    },
    /// The encrypted element is absent or not canonical base64.
    #[error("{field} is absent or not canonical base64")]
    BadBase64 {
        /// The element.
        field: &'static str,
    },
    /// AES-256-ECB: the length or the PKCS#7 padding is wrong (a wrong APIv2 key, or altered
    /// or forged data).
    #[error("{field}: {source} (wrong APIv2 key, or altered or forged data)")]
    BadPadding {
        /// The element.
        field: &'static str,
        /// What the decryption found.
        #[source]
        source: crate::crypto::EcbError,
    },
    /// AES-256-GCM of a signed body failed (wrong APIv3 key, nonce or algorithm).
    #[error("{field}: {source}")]
    Decrypt {
        /// The element at fault.
        field: &'static str,
        /// What failed.
        #[source]
        source: DecryptError,
    },
}

/// A handler's failure, or the absence of a handler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// No handler is registered for the kind and there is no fallback.
    #[error("no handler for {0}")]
    NoHandler(String),
    /// The handler failed; WeChat Pay will retry.
    #[error("{0}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl HandlerError {
    /// A retryable failure from any error.
    pub fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        HandlerError::Failed(e.into())
    }
}

/// The kind of an [`Error`], flat: what the CLI prints as `error.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `body_too_large`
    BodyTooLarge,
    /// `missing_header`
    MissingHeader,
    /// `duplicate_header`
    DuplicateHeader,
    /// `invalid_header`
    InvalidHeader,
    /// `unsupported_signature_type`
    UnsupportedSignatureType,
    /// `signature_probe`
    SignatureProbe,
    /// `timestamp_too_old`
    TimestampTooOld,
    /// `timestamp_in_future`
    TimestampInFuture,
    /// `bad_signature_base64`
    BadSignatureBase64,
    /// `unknown_serial`
    UnknownSerial,
    /// `signature_mismatch`
    SignatureMismatch,
    /// `malformed_envelope`
    MalformedEnvelope,
    /// `unsupported_algorithm`
    UnsupportedAlgorithm,
    /// `bad_ciphertext_base64`
    BadCiphertextBase64,
    /// `bad_nonce_length`
    BadNonceLength,
    /// `decrypt_failed`
    DecryptFailed,
    /// `malformed_resource`
    MalformedResource,
    /// `missing_field`
    MissingField,
    /// `wrong_type`
    WrongType,
    /// `no_variant`
    NoVariant,
    /// `invalid` (strict validation)
    Invalid,
    /// `malformed_xml` (APIv2: the body is not well-formed, flat XML)
    MalformedXml,
    /// `xml_entity` (APIv2: a DTD or an undefined entity reference)
    XmlEntity,
    /// `duplicate_element` (APIv2: an element appears twice)
    DuplicateElement,
    /// `xml_limit` (APIv2: nested elements or too many of them)
    XmlLimit,
    /// `unknown_v2_kind` (APIv2: the body fits no kind)
    UnknownV2Kind,
    /// `v2_return_fail` (APIv2: `return_code` FAIL, nothing to process)
    V2ReturnFail,
    /// `missing_sign` (APIv2: no `sign` where the kind requires one)
    MissingSign,
    /// `sign_type_not_accepted` (APIv2: an algorithm the merchant does not accept)
    SignTypeNotAccepted,
    /// `bad_padding` (APIv2 refund `req_info`: AES-256-ECB length or PKCS#7 padding)
    BadPadding,
    /// `key_not_configured` (a key the kind needs is not configured)
    KeyNotConfigured,
    /// `no_handler`
    NoHandler,
    /// `handler_failed`
    HandlerFailed,
    /// `in_progress` (another delivery holds the lease)
    InProgress,
    /// `lease_lost` (the lease was taken over before completion)
    LeaseLost,
    /// `ledger_unavailable`
    LedgerUnavailable,
}

impl ErrorKind {
    /// Every kind, in pipeline order.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::BodyTooLarge,
        ErrorKind::MissingHeader,
        ErrorKind::DuplicateHeader,
        ErrorKind::InvalidHeader,
        ErrorKind::UnsupportedSignatureType,
        ErrorKind::SignatureProbe,
        ErrorKind::TimestampTooOld,
        ErrorKind::TimestampInFuture,
        ErrorKind::BadSignatureBase64,
        ErrorKind::UnknownSerial,
        ErrorKind::SignatureMismatch,
        ErrorKind::MalformedEnvelope,
        ErrorKind::UnsupportedAlgorithm,
        ErrorKind::BadCiphertextBase64,
        ErrorKind::BadNonceLength,
        ErrorKind::DecryptFailed,
        ErrorKind::MalformedResource,
        ErrorKind::MissingField,
        ErrorKind::WrongType,
        ErrorKind::NoVariant,
        ErrorKind::Invalid,
        ErrorKind::MalformedXml,
        ErrorKind::XmlEntity,
        ErrorKind::DuplicateElement,
        ErrorKind::XmlLimit,
        ErrorKind::UnknownV2Kind,
        ErrorKind::V2ReturnFail,
        ErrorKind::MissingSign,
        ErrorKind::SignTypeNotAccepted,
        ErrorKind::BadPadding,
        ErrorKind::KeyNotConfigured,
        ErrorKind::NoHandler,
        ErrorKind::HandlerFailed,
        ErrorKind::InProgress,
        ErrorKind::LeaseLost,
        ErrorKind::LedgerUnavailable,
    ];

    /// The snake_case name the CLI prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::MissingHeader => "missing_header",
            ErrorKind::DuplicateHeader => "duplicate_header",
            ErrorKind::InvalidHeader => "invalid_header",
            ErrorKind::UnsupportedSignatureType => "unsupported_signature_type",
            ErrorKind::SignatureProbe => "signature_probe",
            ErrorKind::TimestampTooOld => "timestamp_too_old",
            ErrorKind::TimestampInFuture => "timestamp_in_future",
            ErrorKind::BadSignatureBase64 => "bad_signature_base64",
            ErrorKind::UnknownSerial => "unknown_serial",
            ErrorKind::SignatureMismatch => "signature_mismatch",
            ErrorKind::MalformedEnvelope => "malformed_envelope",
            ErrorKind::UnsupportedAlgorithm => "unsupported_algorithm",
            ErrorKind::BadCiphertextBase64 => "bad_ciphertext_base64",
            ErrorKind::BadNonceLength => "bad_nonce_length",
            ErrorKind::DecryptFailed => "decrypt_failed",
            ErrorKind::MalformedResource => "malformed_resource",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::NoVariant => "no_variant",
            ErrorKind::Invalid => "invalid",
            ErrorKind::MalformedXml => "malformed_xml",
            ErrorKind::XmlEntity => "xml_entity",
            ErrorKind::DuplicateElement => "duplicate_element",
            ErrorKind::XmlLimit => "xml_limit",
            ErrorKind::UnknownV2Kind => "unknown_v2_kind",
            ErrorKind::V2ReturnFail => "v2_return_fail",
            ErrorKind::MissingSign => "missing_sign",
            ErrorKind::SignTypeNotAccepted => "sign_type_not_accepted",
            ErrorKind::BadPadding => "bad_padding",
            ErrorKind::KeyNotConfigured => "key_not_configured",
            ErrorKind::NoHandler => "no_handler",
            ErrorKind::HandlerFailed => "handler_failed",
            ErrorKind::InProgress => "in_progress",
            ErrorKind::LeaseLost => "lease_lost",
            ErrorKind::LedgerUnavailable => "ledger_unavailable",
        }
    }

    /// `true` for requests that did not prove they come from WeChat Pay: forged, tampered,
    /// probes, out of the time window. These are counted, never stored.
    pub fn is_unauthenticated(self) -> bool {
        matches!(
            self,
            ErrorKind::BodyTooLarge
                | ErrorKind::MissingHeader
                | ErrorKind::DuplicateHeader
                | ErrorKind::InvalidHeader
                | ErrorKind::UnsupportedSignatureType
                | ErrorKind::SignatureProbe
                | ErrorKind::TimestampTooOld
                | ErrorKind::TimestampInFuture
                | ErrorKind::BadSignatureBase64
                | ErrorKind::UnknownSerial
                | ErrorKind::SignatureMismatch
                | ErrorKind::MalformedXml
                | ErrorKind::XmlEntity
                | ErrorKind::DuplicateElement
                | ErrorKind::XmlLimit
                | ErrorKind::UnknownV2Kind
                | ErrorKind::V2ReturnFail
                | ErrorKind::MissingSign
                | ErrorKind::SignTypeNotAccepted
                | ErrorKind::BadPadding
        )
    }

    /// The HTTP status to answer WeChat Pay with.
    ///
    /// 4XX for requests that are malformed or not proven to come from WeChat Pay; 5XX for
    /// verified notifications this side could not process yet (wrong APIv3 key, a resource the
    /// catalogue does not fit, a failed handler), so WeChat Pay keeps retrying while it is fixed.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BodyTooLarge => 413,
            ErrorKind::MissingHeader
            | ErrorKind::DuplicateHeader
            | ErrorKind::InvalidHeader
            | ErrorKind::UnsupportedSignatureType
            | ErrorKind::MalformedXml
            | ErrorKind::XmlEntity
            | ErrorKind::DuplicateElement
            | ErrorKind::XmlLimit
            | ErrorKind::UnknownV2Kind
            | ErrorKind::V2ReturnFail
            | ErrorKind::BadPadding => 400,
            ErrorKind::SignatureProbe
            | ErrorKind::TimestampTooOld
            | ErrorKind::TimestampInFuture
            | ErrorKind::BadSignatureBase64
            | ErrorKind::UnknownSerial
            | ErrorKind::SignatureMismatch
            | ErrorKind::MissingSign
            | ErrorKind::SignTypeNotAccepted => 401,
            ErrorKind::InProgress | ErrorKind::LeaseLost | ErrorKind::LedgerUnavailable => 503,
            _ => 500,
        }
    }

    /// A short reply message for WeChat Pay (at most 64 characters, nothing secret).
    pub fn reply_message(self) -> &'static str {
        match self {
            ErrorKind::BodyTooLarge => "body too large",
            ErrorKind::MissingHeader => "missing header",
            ErrorKind::DuplicateHeader => "duplicate header",
            ErrorKind::InvalidHeader => "invalid header",
            ErrorKind::UnsupportedSignatureType => "unsupported signature type",
            ErrorKind::SignatureProbe => "sign mismatched",
            ErrorKind::TimestampTooOld | ErrorKind::TimestampInFuture => "Over clock offset",
            ErrorKind::BadSignatureBase64 | ErrorKind::SignatureMismatch => "sign mismatched",
            ErrorKind::MalformedXml
            | ErrorKind::XmlEntity
            | ErrorKind::DuplicateElement
            | ErrorKind::XmlLimit => "malformed xml",
            ErrorKind::UnknownV2Kind => "unknown notification",
            ErrorKind::V2ReturnFail => "nothing to process",
            ErrorKind::MissingSign => "sign missing",
            ErrorKind::SignTypeNotAccepted => "sign type not accepted",
            ErrorKind::BadPadding => "decrypt failed",
            ErrorKind::KeyNotConfigured => "not configured, retry later",
            ErrorKind::UnknownSerial => "platform certificate not exists",
            ErrorKind::MalformedEnvelope => "malformed envelope",
            ErrorKind::UnsupportedAlgorithm
            | ErrorKind::BadCiphertextBase64
            | ErrorKind::BadNonceLength
            | ErrorKind::DecryptFailed => "decrypt failed",
            ErrorKind::MalformedResource
            | ErrorKind::MissingField
            | ErrorKind::WrongType
            | ErrorKind::NoVariant
            | ErrorKind::Invalid => "resource not accepted, retry later",
            ErrorKind::NoHandler | ErrorKind::HandlerFailed => "processing failed, retry later",
            ErrorKind::InProgress | ErrorKind::LeaseLost => "in progress, retry later",
            ErrorKind::LedgerUnavailable => "temporarily unavailable, retry later",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The flat kind of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Request(e) => match e {
                RequestError::BodyTooLarge { .. } => ErrorKind::BodyTooLarge,
                RequestError::MissingHeader(_) => ErrorKind::MissingHeader,
                RequestError::DuplicateHeader(_) => ErrorKind::DuplicateHeader,
                RequestError::InvalidHeader { .. } => ErrorKind::InvalidHeader,
            },
            Error::Signature(e) => match e {
                SignatureError::UnsupportedType(_) => ErrorKind::UnsupportedSignatureType,
                SignatureError::Probe => ErrorKind::SignatureProbe,
                SignatureError::TooOld { .. } => ErrorKind::TimestampTooOld,
                SignatureError::InFuture { .. } => ErrorKind::TimestampInFuture,
                SignatureError::BadBase64 => ErrorKind::BadSignatureBase64,
                SignatureError::UnknownSerial { .. } => ErrorKind::UnknownSerial,
                SignatureError::Mismatch { .. } => ErrorKind::SignatureMismatch,
            },
            Error::Envelope(_) => ErrorKind::MalformedEnvelope,
            Error::Decrypt(e) => match e {
                DecryptError::UnsupportedAlgorithm(_) => ErrorKind::UnsupportedAlgorithm,
                DecryptError::BadBase64 => ErrorKind::BadCiphertextBase64,
                DecryptError::NonceLength(_) => ErrorKind::BadNonceLength,
                DecryptError::TooShort | DecryptError::TagMismatch => ErrorKind::DecryptFailed,
            },
            Error::Resource(e) => match e.reason {
                ResourceFault::MalformedJson => ErrorKind::MalformedResource,
                ResourceFault::MissingField => ErrorKind::MissingField,
                ResourceFault::WrongType => ErrorKind::WrongType,
                ResourceFault::NoVariant => ErrorKind::NoVariant,
                ResourceFault::MalformedXml => ErrorKind::MalformedResource,
            },
            Error::V2(e) => match e {
                V2Error::Xml(x) => match x.fault {
                    crate::v2::XmlFault::Entity => ErrorKind::XmlEntity,
                    crate::v2::XmlFault::Duplicate => ErrorKind::DuplicateElement,
                    crate::v2::XmlFault::Limit => ErrorKind::XmlLimit,
                    _ => ErrorKind::MalformedXml,
                },
                V2Error::MissingSign => ErrorKind::MissingSign,
                V2Error::SignTypeNotAccepted { .. } => ErrorKind::SignTypeNotAccepted,
                V2Error::SignMismatch { .. } => ErrorKind::SignatureMismatch,
                V2Error::ReturnFail { .. } => ErrorKind::V2ReturnFail,
                V2Error::UnknownKind => ErrorKind::UnknownV2Kind,
                V2Error::KeyNotConfigured { .. } => ErrorKind::KeyNotConfigured,
                V2Error::BadBase64 { .. } => ErrorKind::BadCiphertextBase64,
                V2Error::BadPadding { .. } => ErrorKind::BadPadding,
                V2Error::Decrypt { source, .. } => Error::Decrypt(source.clone()).kind(),
            },
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::Handler(HandlerError::NoHandler(_)) => ErrorKind::NoHandler,
            Error::Handler(HandlerError::Failed(_)) => ErrorKind::HandlerFailed,
            Error::Ledger(crate::ledger::LedgerError::Stale { .. }) => ErrorKind::LeaseLost,
            Error::Ledger(_) => ErrorKind::LedgerUnavailable,
            Error::InProgress { .. } => ErrorKind::InProgress,
        }
    }

    /// `true` when WeChat Pay's retry may succeed once this side is fixed or recovers.
    pub fn is_retryable(&self) -> bool {
        self.http_status() >= 500
    }

    /// The HTTP status to answer with (see [`ErrorKind::http_status`]).
    pub fn http_status(&self) -> u16 {
        self.kind().http_status()
    }

    /// The header or JSON path at fault, when there is one.
    pub fn path(&self) -> Option<String> {
        match self {
            Error::Request(
                RequestError::MissingHeader(h)
                | RequestError::DuplicateHeader(h)
                | RequestError::InvalidHeader { name: h, .. },
            ) => Some((*h).to_owned()),
            Error::Signature(SignatureError::UnsupportedType(_)) => {
                Some("Wechatpay-Signature-Type".to_owned())
            }
            Error::Signature(SignatureError::TooOld { .. } | SignatureError::InFuture { .. }) => {
                Some("Wechatpay-Timestamp".to_owned())
            }
            Error::Signature(SignatureError::BadBase64 | SignatureError::Probe) => {
                Some("Wechatpay-Signature".to_owned())
            }
            Error::Signature(SignatureError::UnknownSerial { .. }) => {
                Some("Wechatpay-Serial".to_owned())
            }
            Error::Envelope(e) => e.path.clone(),
            Error::Decrypt(e) => Some(
                match e {
                    DecryptError::UnsupportedAlgorithm(_) => "resource.algorithm",
                    DecryptError::NonceLength(_) => "resource.nonce",
                    _ => "resource.ciphertext",
                }
                .to_owned(),
            ),
            Error::Resource(e) => e.path.clone(),
            Error::V2(e) => match e {
                V2Error::Xml(x) => Some(x.path.clone()),
                V2Error::MissingSign | V2Error::SignMismatch { .. } => Some("sign".to_owned()),
                V2Error::SignTypeNotAccepted { field, .. } => Some((*field).to_owned()),
                V2Error::ReturnFail { .. } => Some("return_code".to_owned()),
                V2Error::BadBase64 { field }
                | V2Error::BadPadding { field, .. }
                | V2Error::Decrypt { field, .. } => Some((*field).to_owned()),
                V2Error::UnknownKind | V2Error::KeyNotConfigured { .. } => None,
            },
            _ => None,
        }
    }
}
