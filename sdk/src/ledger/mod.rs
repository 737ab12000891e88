//! The notification ledger: what makes a notification's handler run once, however many copies
//! of it arrive, at whichever instance of the merchant's service.
//!
//! Every notification is recorded under two unique keys, checked together: its
//! [`DeliveryKey`] (the notification id; derived for APIv2) and its [`FactKey`] (kind,
//! merchant, business key, state). A [`Ledger::claim`] answers:
//!
//! - [`Claim::New`]: run the handler, holding a [`Lease`] with a fencing token. Renew it while
//!   the handler runs ([`Ledger::renew`]); finish with [`Ledger::complete`]. A lease that is not
//!   renewed expires, and the next delivery takes the notification over under a higher token;
//!   a completion under the old token is then refused ([`LedgerError::Stale`]).
//! - [`Claim::Done`]: the delivery, or another delivery of the same fact, was completed:
//!   answer success without running the handler (with the reply data recorded then).
//! - [`Claim::Busy`]: another instance holds an unexpired lease on it: wait briefly, or answer
//!   a retryable 5XX.
//!
//! The verified request is kept ([`Ledger::store_request`]) before anything else happens, so a
//! crash, a parse failure or a failing handler loses nothing: [`Ledger::list`] finds
//! quarantined, failed and never-claimed notifications, and [`Ledger::request`] gives back the
//! request to run again. Forged requests are never stored.
//!
//! # Guarantees
//!
//! Every backend guarantees that a handler never runs for a notification already done, and
//! never runs twice at once for one notification (while leases are renewed in time). Effects
//! happen exactly once only where the handler's writes commit in the same transaction as the
//! ledger's "done" (the transactional inbox of the SQLite and PostgreSQL backends); elsewhere a
//! crash after the handler's effects but before "done" runs the handler again after the lease
//! expires: at least once, never concurrently.
//!
//! | backend | feature | shared by | lease clock |
//! |---|---|---|---|
//! | [`memory::MemoryLedger`] | always | one process | the process |
//! | `sqlite::SqliteLedger` | `sqlite` | processes on one machine (one file) | the machine |
//! | `postgres::PgLedger` | `postgres` | every instance | the database server |
//! | `redis::RedisLedger` | `redis` | every instance | the Redis server |

#[cfg(feature = "testkit")]
pub mod conformance;
#[cfg(feature = "testkit")]
pub mod exactly_once;
mod key;
pub mod memory;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use key::{DeliveryKey, FactKey};

/// A boxed future, as [`Ledger`]'s methods return (the trait is object safe: the CLI picks a
/// backend at run time).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A ledger backend. See the [module documentation](self) for the protocol.
///
/// Times are Unix seconds. Leases are measured on the backend's own clock where it has one
/// (the database or Redis server), so instances whose clocks drift still agree.
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Keeps a verified request. The first copy of a delivery is kept and later copies are
    /// ignored; the delivery's record is created with [`Status::Received`] if it has none.
    fn store_request<'a>(
        &'a self,
        request: &'a StoredRequest,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;

    /// Claims a notification for processing (see [`Claim`]).
    fn claim<'a>(&'a self, claim: &'a ClaimRequest) -> BoxFuture<'a, Result<Claim, LedgerError>>;

    /// Extends a lease by its time to live. [`LedgerError::Stale`] when it was taken over or
    /// completed.
    fn renew<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LedgerError>>;

    /// Records how a claimed notification ended. Refused with [`LedgerError::Stale`] unless
    /// `lease` is the current one; completing `Done` again under the same lease succeeds.
    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        completion: &'a Completion,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;

    /// The record of one delivery.
    fn record<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<Record>, LedgerError>>;

    /// Up to `limit` records with `status`, oldest update first.
    fn list(&self, status: Status, limit: usize)
    -> BoxFuture<'_, Result<Vec<Record>, LedgerError>>;

    /// The stored request of one delivery.
    fn request<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<StoredRequest>, LedgerError>>;

    /// Removes the records with one of `statuses` last updated before `before` (Unix seconds),
    /// with their stored requests and facts; returns how many records went.
    fn purge<'a>(
        &'a self,
        before: i64,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<u64, LedgerError>>;
}

/// A verified request as it arrived: enough to verify and process it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRequest {
    /// The delivery it belongs to.
    pub delivery: DeliveryKey,
    /// When it arrived, Unix seconds.
    pub received_at: i64,
    /// `v3-json` or `v2-xml`.
    pub format: String,
    /// The headers that verification reads (`Wechatpay-*`), names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body as received (APIv3: the resource is already sealed; APIv2: sealed with the
    /// storage key before it gets here).
    pub body: Vec<u8>,
}

/// What [`Ledger::claim`] is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The delivery.
    pub delivery: DeliveryKey,
    /// The business fact, when the notification was parsed far enough to know it.
    pub fact: Option<FactKey>,
    /// The kind id, when known (kept in the record for listing).
    pub kind: Option<String>,
    /// How long the lease lasts unless renewed.
    pub ttl: Duration,
}

/// A fencing token: strictly greater at every claim of a delivery, so a completion from an
/// instance whose lease was taken over is told apart and refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FencingToken(pub u64);

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The right to process one notification until `ttl` after the last claim or renewal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The delivery claimed.
    pub delivery: DeliveryKey,
    /// The fact claimed with it.
    pub fact: Option<FactKey>,
    /// This claim's token.
    pub token: FencingToken,
    /// How long the lease lasts after each renewal.
    pub ttl: Duration,
    /// How many times this delivery has been claimed, this claim included.
    pub attempt: u32,
}

/// The answer to a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Process it under this lease.
    New(Lease),
    /// Already processed: acknowledge without running the handler.
    Done {
        /// The delivery that was processed (another one when the fact was re-sent under a new
        /// notification id).
        by: DeliveryKey,
        /// The reply data recorded then (JSON text), to answer the same.
        reply: Option<String>,
    },
    /// Another holder's lease has not expired.
    Busy {
        /// The delivery holding it (another one when it holds the same fact).
        holder: DeliveryKey,
    },
}

/// How a claimed notification ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The handler succeeded; `reply` is its reply data as JSON text, if any.
    Done {
        /// Reply data.
        reply: Option<String>,
    },
    /// The handler failed: WeChat Pay retries, and so can `replay`.
    Failed {
        /// Why.
        reason: String,
    },
    /// The verified notification could not be opened or parsed (a key or schema problem): kept
    /// until fixed and replayed.
    Quarantined {
        /// Why.
        reason: String,
    },
}

impl Completion {
    /// The status this completion records.
    pub fn status(&self) -> Status {
        match self {
            Completion::Done { .. } => Status::Done,
            Completion::Failed { .. } => Status::Failed,
            Completion::Quarantined { .. } => Status::Quarantined,
        }
    }

    /// The reason, for failed and quarantined ones.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Completion::Done { .. } => None,
            Completion::Failed { reason } | Completion::Quarantined { reason } => Some(reason),
        }
    }

    /// The reply data, for done ones.
    pub fn reply(&self) -> Option<&str> {
        match self {
            Completion::Done { reply } => reply.as_deref(),
            _ => None,
        }
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Stored, never claimed (or the claim's record was lost with a crash).
    Received,
    /// Claimed; the lease may have expired.
    InProgress,
    /// Processed.
    Done,
    /// The handler failed.
    Failed,
    /// Could not be opened or parsed.
    Quarantined,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 5] = [
        Status::Received,
        Status::InProgress,
        Status::Done,
        Status::Failed,
        Status::Quarantined,
    ];

    /// The name stored and printed (`in_progress`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::InProgress => "in_progress",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Quarantined => "quarantined",
        }
    }

    /// The status named `text`, as [`as_str`](Self::as_str) writes it.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One delivery's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The delivery.
    pub delivery: DeliveryKey,
    /// Its kind id, once known.
    pub kind: Option<String>,
    /// Its fact, once known.
    pub fact: Option<FactKey>,
    /// Where it stands.
    pub status: Status,
    /// The latest claim's token (0 before any claim).
    pub token: FencingToken,
    /// How many claims it had.
    pub attempts: u32,
    /// Why it failed or was quarantined; for a done duplicate of a fact, which delivery did it.
    pub reason: Option<String>,
    /// The reply data recorded with "done".
    pub reply: Option<String>,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// What a ledger backend can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The backend cannot be reached or failed: nothing was recorded, answer a retryable 5XX.
    #[error("ledger unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The lease is not the current one: it expired and was taken over, or it was completed.
    #[error("lease on {delivery} under token {token} is no longer current")]
    Stale {
        /// The delivery.
        delivery: DeliveryKey,
        /// The refused token.
        token: FencingToken,
    },
    /// The backend holds something this version cannot read.
    #[error("ledger data not understood: {0}")]
    Corrupt(String),
}

impl LedgerError {
    /// An [`Unavailable`](Self::Unavailable) error from any backend error.
    pub fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        LedgerError::Unavailable(e.into())
    }

    /// A [`Stale`](Self::Stale) error for `lease`.
    pub fn stale(lease: &Lease) -> Self {
        LedgerError::Stale {
            delivery: lease.delivery.clone(),
            token: lease.token,
        }
    }
}

/// Now, in Unix milliseconds, on this machine's clock (the backends without a clock of their
/// own measure leases with it).
pub(crate) fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
