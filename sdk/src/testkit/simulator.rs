//! The WeChat Pay simulator: notifications of any catalogue kind made as WeChat Pay makes them,
//! and delivered over HTTP as WeChat Pay delivers them — a timeout per attempt, the kind's retry
//! schedule (scaled for tests), every retry freshly timestamped and signed, copies from several
//! "servers" at once, and `WECHATPAY/SIGNTEST/` probes. TEST ONLY.
//!
//! ```
//! use wechatpay_notify::Kind;
//! use wechatpay_notify::keys::ApiV3Key;
//! use wechatpay_notify::testkit::TestSigner;
//! use wechatpay_notify::testkit::simulator::{Payload, Schedule, Simulator};
//! use wechatpay_notify::{Receiver, v3::Verifier};
//!
//! let signer = TestSigner::fixed("PUB_KEY_ID_0114232134912410000000000000");
//! let key = ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv")?;
//! let sim = Simulator::new(signer.clone(), key.clone());
//! let n = sim.notification(Kind::RefundSuccess, Payload::v3(r#"{"out_refund_no":"R1"}"#))?;
//! let (first, retry) = (n.sign()?, n.sign()?);
//! assert_ne!(first.headers["Wechatpay-Nonce"], retry.headers["Wechatpay-Nonce"]);
//! let verified = Verifier::new(signer.keyring()?).verify(&retry.headers, &retry.body)?;
//! assert_eq!(verified.envelope().id, n.id());
//! assert_eq!(Schedule::official(Kind::RefundSuccess).intervals().len(), 15);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};

use super::{SignedRequest, TestSigner, V2Sealer, V3RequestBuilder, random_alphanumeric};
use crate::Kind;
use crate::catalogue::{V2ReplyStyle, WireFormat};
use crate::keys::{ApiV2Key, ApiV3Key};
use crate::v2::FlatXml;
use crate::v3::headers;

mod http1;

pub use http1::HttpReply;

/// WeChat Pay's usual retry intervals in seconds — 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/
/// 3h/3h/6h/6h, 24h4m in all — used for every kind whose schema records no schedule of its
/// own (the reference pages that state none).
pub const DEFAULT_RETRY_SCHEDULE: [u32; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];

/// The time a delivery attempt waits for the merchant's answer unless told otherwise. WeChat
/// Pay's notification pages say only that an answer that is not a success, or that times out
/// (超时), counts as a failure: they state no figure, and none was found elsewhere. 5 s is this
/// project's choice (issue 6), short enough that a slow endpoint shows up in tests.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the simulator cannot do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// An APIv2 kind was asked for without an APIv2 key.
    #[error("{0} is an APIv2 kind: the simulator needs the APIv2 key")]
    NoApiV2Key(&'static str),
    /// The payload does not fit the kind's format.
    #[error("{kind}: {message}")]
    Payload {
        /// The kind id.
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The target URL is not `http://HOST[:PORT][/PATH]`.
    #[error("not an http:// URL: {0}")]
    Url(String),
}

/// The business data of a notification.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Payload {
    /// APIv3: the resource JSON, sealed into the envelope.
    V3 {
        /// The plaintext resource.
        plaintext: Vec<u8>,
    },
    /// APIv2: the outer XML elements, and for encrypted kinds the plaintext XML sealed into
    /// `req_info` / `event_ciphertext`.
    V2 {
        /// The outer body's elements (`sign` is set on every signing).
        outer: FlatXml,
        /// The plaintext to encrypt, for encrypted kinds.
        plaintext: Option<Vec<u8>>,
    },
}

impl Payload {
    /// An APIv3 resource.
    pub fn v3(plaintext: impl Into<Vec<u8>>) -> Self {
        Payload::V3 {
            plaintext: plaintext.into(),
        }
    }

    /// An APIv2 body: the outer XML (root `xml`) and, for encrypted kinds, the plaintext.
    ///
    /// # Errors
    /// [`SimulatorError::Payload`] when `outer` is not a flat XML document.
    pub fn v2(
        kind: Kind,
        outer: &[u8],
        plaintext: Option<Vec<u8>>,
    ) -> Result<Self, SimulatorError> {
        let outer =
            crate::v2::parse_flat(outer, "xml", "xml").map_err(|e| SimulatorError::Payload {
                kind: kind.id(),
                message: e.to_string(),
            })?;
        Ok(Payload::V2 { outer, plaintext })
    }
}

/// WeChat Pay's side: the platform signing key, the merchant's APIv3 key and, for APIv2 kinds,
/// its APIv2 key.
#[derive(Clone, Debug)]
pub struct Simulator {
    signer: TestSigner,
    api_v3_key: ApiV3Key,
    api_v2_key: Option<ApiV2Key>,
}

impl Simulator {
    /// A simulator signing with `signer` (its key id goes in `Wechatpay-Serial`: a
    /// `PUB_KEY_ID_…` id or a certificate serial) and sealing with `api_v3_key`.
    pub fn new(signer: TestSigner, api_v3_key: ApiV3Key) -> Self {
        Simulator {
            signer,
            api_v3_key,
            api_v2_key: None,
        }
    }

    /// Also makes APIv2 notifications, signed with `key`.
    #[must_use]
    pub fn with_api_v2_key(mut self, key: ApiV2Key) -> Self {
        self.api_v2_key = Some(key);
        self
    }

    /// A notification of `kind` carrying `payload`, with a fresh notification id (kept by
    /// every retry, as WeChat Pay keeps it).
    ///
    /// # Errors
    /// [`SimulatorError`] when the payload does not fit the kind's format, or an APIv2 kind
    /// is asked for without the APIv2 key.
    pub fn notification(&self, kind: Kind, payload: Payload) -> Result<Outbound, SimulatorError> {
        let info = kind.info();
        match (&payload, info.format) {
            (Payload::V3 { .. }, WireFormat::V3Json) => {}
            (Payload::V2 { .. }, WireFormat::V2Xml) => {
                if self.api_v2_key.is_none() {
                    return Err(SimulatorError::NoApiV2Key(kind.id()));
                }
            }
            _ => {
                return Err(SimulatorError::Payload {
                    kind: kind.id(),
                    message: format!(
                        "a {} kind needs a {} payload",
                        info.format.as_str(),
                        info.format.as_str()
                    ),
                });
            }
        }
        Ok(Outbound {
            kind,
            id: super::request::random_id(),
            payload,
            sim: self.clone(),
        })
    }

    /// A `WECHATPAY/SIGNTEST/` probe: a well-formed notification whose `Wechatpay-Signature`
    /// is WeChat Pay's signature-test placeholder. A merchant must reject it (any 4XX/5XX).
    pub fn probe(&self) -> SignedRequest {
        let mut request = V3RequestBuilder::new("TRANSACTION.SUCCESS", "{}")
            .original_type("transaction")
            .sign(&self.signer, &self.api_v3_key);
        let placeholder = format!("{}{}", headers::PROBE_PREFIX, random_alphanumeric(32));
        if let Ok(v) = HeaderValue::from_str(&placeholder) {
            request
                .headers
                .insert(HeaderName::from_static("wechatpay-signature"), v);
        }
        request
    }
}

/// One notification: its kind, id and payload. Each [`sign`](Self::sign) is a new attempt:
/// fresh timestamp, nonces and signature.
#[derive(Clone, Debug)]
pub struct Outbound {
    kind: Kind,
    id: String,
    payload: Payload,
    sim: Simulator,
}

impl Outbound {
    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The notification id (APIv3 `id`; APIv2 bodies carry none, the receiver derives one).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The request for one attempt, timestamped now and signed afresh.
    ///
    /// # Errors
    /// [`SimulatorError::NoApiV2Key`] cannot happen for a notification made by
    /// [`Simulator::notification`]; the `Result` keeps that promise checkable.
    pub fn sign(&self) -> Result<SignedRequest, SimulatorError> {
        let info = self.kind.info();
        match &self.payload {
            Payload::V3 { plaintext } => {
                let mut b =
                    V3RequestBuilder::new(info.event_type.unwrap_or(info.id), plaintext.clone())
                        .id(self.id.clone())
                        .create_time(now_rfc3339())
                        .summary(info.title);
                if let Some(t) = info.original_type {
                    b = b.original_type(t);
                }
                Ok(b.sign(&self.sim.signer, &self.sim.api_v3_key))
            }
            Payload::V2 { outer, plaintext } => {
                let v2 = self
                    .sim
                    .api_v2_key
                    .clone()
                    .ok_or(SimulatorError::NoApiV2Key(self.kind.id()))?;
                let sealer = V2Sealer::new(v2, self.sim.api_v3_key.clone());
                let body = sealer.seal(self.kind, outer.clone(), plaintext.as_deref());
                let mut h = http::HeaderMap::new();
                h.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/xml"),
                );
                Ok(SignedRequest {
                    headers: h,
                    body: body.into_bytes(),
                })
            }
        }
    }

    /// Whether `reply` acknowledges this notification as WeChat Pay judges it: 200 or 204 for
    /// APIv3; for APIv2, 200 with `return_code` (or `code`, by the kind's reply style)
    /// `SUCCESS`.
    pub fn acknowledged_by(&self, reply: &HttpReply) -> bool {
        let Some(v2) = self.kind.info().v2 else {
            return matches!(reply.status, 200 | 204);
        };
        if reply.status != 200 {
            return false;
        }
        let field = match v2.reply {
            V2ReplyStyle::CodeMessage => "code",
            _ => "return_code",
        };
        crate::v2::parse_flat(&reply.body, "xml", "reply")
            .ok()
            .is_some_and(|x| x.get(field) == Some("SUCCESS"))
    }
}

/// Retry intervals: the kind's, as its schema records them, optionally scaled.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    intervals: Vec<Duration>,
}

impl Schedule {
    /// The kind's schedule as its schema records it, or [`DEFAULT_RETRY_SCHEDULE`] where the
    /// reference states none.
    pub fn official(kind: Kind) -> Self {
        let s = kind.info().retry_schedule;
        let s = if s.is_empty() {
            &DEFAULT_RETRY_SCHEDULE[..]
        } else {
            s
        };
        Schedule {
            intervals: s
                .iter()
                .map(|&x| Duration::from_secs(u64::from(x)))
                .collect(),
        }
    }

    /// Explicit intervals.
    pub fn from_intervals(intervals: Vec<Duration>) -> Self {
        Schedule { intervals }
    }

    /// Every interval multiplied by `factor` (`0.001` turns 15 s into 15 ms). Negative or
    /// non-finite factors count as 0.
    #[must_use]
    pub fn scaled(self, factor: f64) -> Self {
        let f = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            0.0
        };
        Schedule {
            intervals: self.intervals.iter().map(|d| d.mul_f64(f)).collect(),
        }
    }

    /// The waits before the 2nd, 3rd, … attempt.
    pub fn intervals(&self) -> &[Duration] {
        &self.intervals
    }
}

/// How a notification is delivered.
#[derive(Clone, Debug)]
pub struct DeliveryPlan {
    /// The retry intervals.
    pub schedule: Schedule,
    /// How long each attempt waits for the answer.
    pub timeout: Duration,
    /// How many copies of the notification each server sends, concurrently.
    pub copies: usize,
    /// How many servers send at once.
    pub servers: usize,
}

impl DeliveryPlan {
    /// The kind's official schedule, [`DEFAULT_TIMEOUT`], one copy from one server.
    pub fn official(kind: Kind) -> Self {
        DeliveryPlan {
            schedule: Schedule::official(kind),
            timeout: DEFAULT_TIMEOUT,
            copies: 1,
            servers: 1,
        }
    }
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The attempt's number in its sequence, from 1.
    pub attempt: usize,
    /// The server that sent it, from 1.
    pub server: usize,
    /// The copy of that server, from 1.
    pub copy: usize,
    /// The HTTP status, or `None` when there was none (timeout, connection refused).
    pub status: Option<u16>,
    /// What went wrong when there was no status.
    pub error: Option<String>,
    /// Time from sending to the answer.
    pub elapsed: Duration,
    /// Whether this attempt acknowledged the notification.
    pub acknowledged: bool,
}

/// What a delivery came to.
#[derive(Clone, Debug)]
pub struct Report {
    /// Every attempt, in the order they finished.
    pub attempts: Vec<Attempt>,
    /// Copies (of every server) acknowledged.
    pub acknowledged: usize,
    /// Copies sent in all (`servers × copies`).
    pub sequences: usize,
}

impl Report {
    /// `true` when every copy was acknowledged before its schedule ran out.
    pub fn all_acknowledged(&self) -> bool {
        self.acknowledged == self.sequences
    }
}

/// Sends `request` once to `url` and reads the answer within `timeout`.
///
/// # Errors
/// The transport error, or "timed out".
pub async fn send_once(
    url: &str,
    request: &SignedRequest,
    timeout: Duration,
) -> Result<HttpReply, String> {
    match tokio::time::timeout(timeout, http1::post(url, request)).await {
        Ok(r) => r,
        Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
    }
}

/// Delivers `notification` to `url`: `servers × copies` concurrent sequences, each retrying on
/// the schedule until acknowledged, every attempt freshly signed. `on_attempt` sees each
/// attempt as it finishes.
///
/// # Errors
/// [`SimulatorError`] when `url` is not an `http://` URL or a request cannot be signed.
pub async fn deliver(
    url: &str,
    notification: &Outbound,
    delivery: &DeliveryPlan,
    on_attempt: impl Fn(&Attempt) + Send + Sync + 'static,
) -> Result<Report, SimulatorError> {
    http1::Target::parse(url)?;
    notification.sign()?;
    let on_attempt = Arc::new(on_attempt);
    let mut tasks = tokio::task::JoinSet::new();
    let sequences = delivery.servers.max(1) * delivery.copies.max(1);
    for server in 1..=delivery.servers.max(1) {
        for copy in 1..=delivery.copies.max(1) {
            let (url, n, d, cb) = (
                url.to_owned(),
                notification.clone(),
                delivery.clone(),
                on_attempt.clone(),
            );
            tasks.spawn(async move {
                let mut attempts = Vec::new();
                for number in 1..=d.schedule.intervals().len() + 1 {
                    if number > 1 {
                        tokio::time::sleep(d.schedule.intervals()[number - 2]).await;
                    }
                    let request = n.sign().expect("signed once already");
                    let started = Instant::now();
                    let result = send_once(&url, &request, d.timeout).await;
                    let elapsed = started.elapsed();
                    let attempt = match result {
                        Ok(reply) => Attempt {
                            attempt: number,
                            server,
                            copy,
                            status: Some(reply.status),
                            error: None,
                            elapsed,
                            acknowledged: n.acknowledged_by(&reply),
                        },
                        Err(e) => Attempt {
                            attempt: number,
                            server,
                            copy,
                            status: None,
                            error: Some(e),
                            elapsed,
                            acknowledged: false,
                        },
                    };
                    cb(&attempt);
                    let done = attempt.acknowledged;
                    attempts.push(attempt);
                    if done {
                        break;
                    }
                }
                attempts
            });
        }
    }
    let mut report = Report {
        attempts: Vec::new(),
        acknowledged: 0,
        sequences,
    };
    while let Some(joined) = tasks.join_next().await {
        let attempts = joined.unwrap_or_default();
        if attempts.last().is_some_and(|a| a.acknowledged) {
            report.acknowledged += 1;
        }
        report.attempts.extend(attempts);
    }
    Ok(report)
}

/// Now as WeChat Pay writes `create_time` (China Standard Time, RFC 3339).
fn now_rfc3339() -> String {
    let unix = crate::time::Clock::now_unix(&crate::time::SystemClock) + 8 * 3600;
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+08:00",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests;
