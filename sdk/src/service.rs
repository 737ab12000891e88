//! The whole receiving side with exactly-once processing: verify → keep the request →
//! open → claim in the [`Ledger`] → the handler, under a renewed lease → record → reply.
//!
//! ```
//! use std::sync::Arc;
//! use wechatpay_notify::keys::{ApiV3Key, Keyring};
//! use wechatpay_notify::ledger::memory::MemoryLedger;
//! use wechatpay_notify::service::Service;
//! use wechatpay_notify::{Dispatcher, Receiver};
//!
//! let key = ApiV3Key::new(b"0123456789abcdef0123456789abcdef").unwrap();
//! let dispatcher = Dispatcher::new(Receiver::new(Keyring::new(), key));
//! let service = Service::new(dispatcher, Arc::new(MemoryLedger::new()));
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let outcome = service.handle(&http::HeaderMap::new(), b"{}").await;
//! assert_eq!(outcome.reply.status, 400); // no Wechatpay-* headers: rejected, counted, not stored
//! assert_eq!(service.counters().unauthenticated(), 1);
//! # });
//! ```
//!
//! # What each situation is answered
//!
//! | situation | recorded as | reply |
//! |---|---|---|
//! | not proven to come from WeChat Pay (forged, probe, out of window) | nothing (counted) | 4XX |
//! | verified, handler succeeded | done | 204, or 200 with reply data |
//! | a copy of a done notification, or its fact under a new id | done (duplicate) | the same reply, handler not run |
//! | another instance holds the lease | – | waits up to [`ServiceConfig::busy_wait`], then 503 `in_progress` |
//! | verified, but cannot be decrypted or parsed (key or schema problem) | quarantined, with the reason | 500: WeChat Pay keeps retrying while it is fixed, and `replay` runs it again |
//! | handler failed | failed, with the reason | 500: retried by WeChat Pay and by `replay` |
//! | ledger unreachable | nothing | 503 `ledger_unavailable`, nothing recorded as done |
//! | the lease was taken over before completion | refused (fencing) | 503 `lease_lost` |
//!
//! APIv2 (XML) bodies take the same path (`crate::v2`): the delivery key is
//! [`DeliveryKey::v2`] over the kind, the merchant and the kind's business key and state; the
//! body is sealed with the [`StorageKey`](crate::keys::StorageKey) given to
//! [`Service::with_storage_key`] before it is stored (without one, APIv2 requests answer
//! `key_not_configured` and nothing is stored); every reply is the XML the kind expects.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::Dispatcher;
use crate::dispatch::{Handled, Outcome};
use crate::error::Error;
use crate::ledger::{
    Claim, ClaimRequest, Completion, DeliveryKey, FactKey, Lease, Ledger, LedgerError,
    StoredRequest,
};
use crate::receive::Received;
use crate::reply::Reply;
use crate::v3::Verified;

/// How a [`Service`] holds leases and waits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// A lease's time to live; it is renewed every third of it while the handler runs.
    pub lease_ttl: Duration,
    /// How long a copy waits for another instance's lease before answering 503.
    pub busy_wait: Duration,
    /// How often a waiting copy asks again.
    pub busy_poll: Duration,
}

impl Default for ServiceConfig {
    /// 30-second leases; copies wait up to 2 s, asking every 50 ms (WeChat Pay waits about 5 s
    /// for an answer, so a copy answers in time either way).
    fn default() -> Self {
        ServiceConfig {
            lease_ttl: Duration::from_secs(30),
            busy_wait: Duration::from_secs(2),
            busy_poll: Duration::from_millis(50),
        }
    }
}

impl ServiceConfig {
    /// Sets the lease time to live.
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Sets how long a copy waits for another holder.
    #[must_use]
    pub fn with_busy_wait(mut self, wait: Duration) -> Self {
        self.busy_wait = wait;
        self
    }
}

/// Counts of what a [`Service`] did, since it started.
#[derive(Debug, Default)]
pub struct Counters {
    unauthenticated: AtomicU64,
    probes: AtomicU64,
    processed: AtomicU64,
    duplicates: AtomicU64,
    quarantined: AtomicU64,
    failed: AtomicU64,
    busy: AtomicU64,
    ledger_errors: AtomicU64,
}

macro_rules! counter_getters {
    ($($name:ident: $doc:literal),* $(,)?) => {
        impl Counters {
            $(
                #[doc = $doc]
                pub fn $name(&self) -> u64 {
                    self.$name.load(Ordering::Relaxed)
                }
            )*
        }
    };
}

counter_getters! {
    unauthenticated: "Requests not proven to come from WeChat Pay (forged, tampered, out of the window, probes): never stored.",
    probes: "`WECHATPAY/SIGNTEST/` probes among them.",
    processed: "Notifications whose handler ran and succeeded.",
    duplicates: "Copies answered from the ledger without running the handler.",
    quarantined: "Verified notifications that could not be opened or parsed.",
    failed: "Handler failures.",
    busy: "Copies answered 503 because another delivery held the lease.",
    ledger_errors: "Requests answered 503 because the ledger failed.",
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The receiving side with a ledger: see the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Service {
    dispatcher: Dispatcher,
    ledger: Arc<dyn Ledger>,
    config: ServiceConfig,
    counters: Arc<Counters>,
    storage_key: Option<Arc<crate::keys::StorageKey>>,
}

/// The `Wechatpay-*` headers a stored request keeps: what verifying it again needs.
const KEPT_HEADERS: [&str; 5] = [
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
    "wechatpay-signature-type",
];

impl Service {
    /// A service with the default [`ServiceConfig`].
    pub fn new(dispatcher: Dispatcher, ledger: Arc<dyn Ledger>) -> Self {
        Service {
            dispatcher,
            ledger,
            config: ServiceConfig::default(),
            counters: Arc::default(),
            storage_key: None,
        }
    }

    /// Sets the key APIv2 bodies are sealed with before the ledger stores them (and opened
    /// with by [`replay`](Self::replay)). Without it, APIv2 requests are answered
    /// `key_not_configured` (500) and nothing is stored: an APIv2 body carries personal data in
    /// clear.
    #[must_use]
    pub fn with_storage_key(mut self, key: crate::keys::StorageKey) -> Self {
        self.storage_key = Some(Arc::new(key));
        self
    }

    pub(crate) fn storage_key(&self) -> Option<&crate::keys::StorageKey> {
        self.storage_key.as_deref()
    }

    /// Sets the lease and waiting configuration.
    #[must_use]
    pub fn with_config(mut self, config: ServiceConfig) -> Self {
        self.config = config;
        self
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// What the service has done so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Handles one request: the headers and the raw body bytes in, the reply (with what
    /// happened) out.
    ///
    /// A body whose first non-whitespace byte is `<` is APIv2 (XML): checked, sealed with the
    /// storage key, kept, and processed the same way, answered in XML (`crate::v2`).
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Outcome {
        if crate::v2::is_xml(body) {
            return self.handle_v2(body).await;
        }
        let verified = match self.dispatcher.receiver().verifier().verify(headers, body) {
            Ok(v) => v,
            Err(e) => return self.rejected(e),
        };
        let delivery = DeliveryKey::v3(&verified.envelope().id);
        let stored = StoredRequest {
            delivery: delivery.clone(),
            received_at: now_secs(),
            format: crate::catalogue::WireFormat::V3Json.as_str().to_owned(),
            headers: KEPT_HEADERS
                .iter()
                .filter_map(|&name| {
                    let value = headers.get(name)?.to_str().ok()?;
                    Some((name.to_owned(), value.to_owned()))
                })
                .collect(),
            body: body.to_vec(),
        };
        self.process(&verified, delivery, Some(&stored)).await
    }

    /// Handles an `http` request (raw body bytes) and answers with an `http` response.
    pub async fn handle_http(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> http::Response<bytes::Bytes> {
        let (parts, body) = request.into_parts();
        self.handle(&parts.headers, &body).await.reply.into_http()
    }

    /// Runs a stored delivery again through the same exactly-once path: after a schema fix or
    /// a key change for quarantined ones, after a fix in the handler for failed ones. The
    /// signature is verified again; the timestamp window is not applied (the request is as
    /// old as it is). A delivery already done is answered from the ledger.
    ///
    /// # Errors
    /// [`LedgerError`] when the ledger fails or holds no request for `delivery`.
    pub async fn replay(&self, delivery: &DeliveryKey) -> Result<Outcome, LedgerError> {
        let stored = self
            .ledger
            .request(delivery)
            .await?
            .ok_or_else(|| LedgerError::Corrupt(format!("no stored request for {delivery}")))?;
        if stored.format == crate::catalogue::WireFormat::V2Xml.as_str() {
            return self.replay_v2(&stored).await;
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &stored.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(LedgerError::Corrupt(format!(
                    "stored header {name:?} of {delivery}"
                )));
            };
            headers.append(name, value);
        }
        let verifier = self
            .dispatcher
            .receiver()
            .verifier()
            .clone()
            .without_time_check();
        let verified = match verifier.verify(&headers, &stored.body) {
            Ok(v) => v,
            Err(e) => return Ok(Outcome::failed(e)),
        };
        Ok(self.process(&verified, delivery.clone(), None).await)
    }

    /// Opens a verified request and runs it, keeping `stored` first when it is a new arrival.
    async fn process(
        &self,
        verified: &Verified<'_>,
        delivery: DeliveryKey,
        stored: Option<&StoredRequest>,
    ) -> Outcome {
        match self.dispatcher.receiver().open(verified) {
            Ok(received) => self.run(received, delivery, stored).await,
            Err(e) => self.quarantine(delivery, e, stored).await,
        }
    }

    /// Keeps `stored` (when given) and claims, waiting for another holder up to the configured
    /// time.
    ///
    /// The request is kept in the same round as the first claim: both are sent before either
    /// is awaited, so a group-committing backend (SQLite) writes them in one transaction, and
    /// a networked one overlaps the two round trips. The order does not matter to the ledger
    /// (keeping never changes a record's status), and nothing is answered before both are
    /// recorded: a request that could not be kept gets 503 and its claim is released as
    /// failed.
    async fn claim(
        &self,
        ask: &ClaimRequest,
        stored: Option<&StoredRequest>,
    ) -> Result<Claim, Error> {
        let deadline = Instant::now() + self.config.busy_wait;
        let mut claimed = match stored {
            Some(stored) => {
                let (kept, claimed) =
                    tokio::join!(self.ledger.store_request(stored), self.ledger.claim(ask));
                match (kept, claimed) {
                    (Err(e), Ok(Claim::New(lease))) => {
                        let failed = Completion::Failed {
                            reason: format!("the request could not be kept: {e}"),
                        };
                        let _ = self.ledger.complete(&lease, &failed).await;
                        return Err(Error::Ledger(e));
                    }
                    (Err(e), _) => return Err(Error::Ledger(e)),
                    (Ok(()), claimed) => claimed?,
                }
            }
            None => self.ledger.claim(ask).await?,
        };
        loop {
            match claimed {
                Claim::Busy { holder } => {
                    if Instant::now() + self.config.busy_poll > deadline {
                        return Err(Error::InProgress { holder });
                    }
                    tokio::time::sleep(self.config.busy_poll).await;
                    claimed = self.ledger.claim(ask).await?;
                }
                claim => return Ok(claim),
            }
        }
    }

    pub(crate) async fn run(
        &self,
        received: Received,
        delivery: DeliveryKey,
        stored: Option<&StoredRequest>,
    ) -> Outcome {
        let kind = received.kind();
        let fact = kind.and_then(|k| {
            received
                .notification
                .business_fact()
                .map(|f| FactKey::new(k.id(), &f))
        });
        let ask = ClaimRequest {
            delivery,
            fact,
            kind: Some(
                kind.map_or_else(|| received.meta.event_type.clone(), |k| k.id().to_owned()),
            ),
            ttl: self.config.lease_ttl,
        };
        let lease = match self.claim(&ask, stored).await {
            Ok(Claim::New(lease)) => lease,
            Ok(Claim::Done { by, reply }) => {
                bump(&self.counters.duplicates);
                return Outcome {
                    reply: reply.map_or_else(Reply::success, |body| Reply { status: 200, body }),
                    result: Ok(Handled {
                        meta: received.meta,
                        kind: kind.map(crate::Kind::id),
                        violations: received.violations.len(),
                        duplicate_of: Some(by),
                    }),
                };
            }
            Ok(Claim::Busy { holder }) => return self.busy(holder),
            Err(e) => return self.claim_failed(e),
        };
        let outcome = self
            .with_renewal(
                &lease,
                self.dispatcher
                    .dispatch_leased(received, Some(lease.clone())),
            )
            .await;
        let completion = match &outcome.result {
            Ok(_) => Completion::Done {
                reply: (!outcome.reply.body.is_empty()).then(|| outcome.reply.body.clone()),
            },
            Err(e) => Completion::Failed {
                reason: describe(e),
            },
        };
        match self.ledger.complete(&lease, &completion).await {
            Ok(()) if outcome.result.is_ok() => {
                bump(&self.counters.processed);
                outcome
            }
            Ok(()) => {
                bump(&self.counters.failed);
                outcome
            }
            Err(e) => self.ledger_failed(e),
        }
    }

    /// Drives `work` while renewing `lease` every third of its time to live. A renewal the
    /// ledger refuses (the lease was taken over, or the handler already completed it in its own
    /// transaction) stops the renewals; a taken-over lease's completion will be refused too.
    ///
    /// The renewals run beside `work`, never instead of it: a renewal may wait for a lock that
    /// the handler's own transaction holds (a transactional inbox's "done"), and that
    /// transaction commits only if the handler is driven meanwhile.
    async fn with_renewal<F: Future<Output = Outcome>>(&self, lease: &Lease, work: F) -> Outcome {
        let every = (lease.ttl / 3).max(Duration::from_millis(10));
        let renewals = async {
            loop {
                tokio::time::sleep(every).await;
                match self.ledger.renew(lease).await {
                    Ok(()) => {}
                    Err(LedgerError::Stale { .. }) => {
                        tracing::warn!(delivery = %lease.delivery, token = %lease.token, "lease no longer current while the handler ran (taken over, or completed by the handler)");
                        return std::future::pending::<std::convert::Infallible>().await;
                    }
                    Err(e) => {
                        tracing::warn!(delivery = %lease.delivery, error = %e, "lease renewal failed; retrying")
                    }
                }
            }
        };
        tokio::select! {
            outcome = work => outcome,
            never = renewals => match never {},
        }
    }

    pub(crate) async fn quarantine(
        &self,
        delivery: DeliveryKey,
        error: Error,
        stored: Option<&StoredRequest>,
    ) -> Outcome {
        let ask = ClaimRequest {
            delivery,
            fact: None,
            kind: None,
            ttl: self.config.lease_ttl,
        };
        match self.claim(&ask, stored).await {
            Ok(Claim::New(lease)) => {
                let completion = Completion::Quarantined {
                    reason: describe(&error),
                };
                if let Err(e) = self.ledger.complete(&lease, &completion).await {
                    return self.ledger_failed(e);
                }
                bump(&self.counters.quarantined);
                Outcome::failed(error)
            }
            // Processed earlier (by a build whose schema accepted it): nothing to do again.
            Ok(Claim::Done { reply, .. }) => {
                bump(&self.counters.duplicates);
                Outcome {
                    reply: reply.map_or_else(Reply::success, |body| Reply { status: 200, body }),
                    result: Err(error),
                }
            }
            Ok(Claim::Busy { holder }) => self.busy(holder),
            Err(e) => self.claim_failed(e),
        }
    }

    pub(crate) fn rejected(&self, e: Error) -> Outcome {
        if e.kind().is_unauthenticated() {
            bump(&self.counters.unauthenticated);
            if e.kind() == crate::ErrorKind::SignatureProbe {
                bump(&self.counters.probes);
            }
        }
        Outcome::failed(e)
    }

    fn busy(&self, holder: DeliveryKey) -> Outcome {
        bump(&self.counters.busy);
        Outcome::failed(Error::InProgress { holder })
    }

    fn claim_failed(&self, e: Error) -> Outcome {
        match e {
            Error::InProgress { holder } => self.busy(holder),
            e => {
                bump(&self.counters.ledger_errors);
                Outcome::failed(e)
            }
        }
    }

    pub(crate) fn ledger_failed(&self, e: LedgerError) -> Outcome {
        bump(&self.counters.ledger_errors);
        Outcome::failed(Error::Ledger(e))
    }
}

/// The error as a record's reason: its kind, its path and its message.
fn describe(e: &Error) -> String {
    match e.path() {
        Some(path) => format!("{} at {path}: {e}", e.kind()),
        None => format!("{}: {e}", e.kind()),
    }
}

fn now_secs() -> i64 {
    crate::ledger::unix_millis() / 1000
}
