//! The Redis ledger: shared by every instance that reaches one Redis server, leases measured
//! on that server's clock.
//!
//! # What it guarantees, and while what holds
//!
//! A handler never runs twice at once for one notification, and never runs again once it is
//! done — **as long as Redis keeps its data**. Redis answers from memory and writes to disk
//! only as configured: with no persistence (as on a cache), or with the default snapshots
//! (`save`), a restart forgets the leases and done markers of everything since the last
//! snapshot; a failover to a replica forgets what had not reached it (replication is
//! asynchronous). The next copy of such a notification then runs its handler again. Where
//! that matters:
//!
//! - run Redis with `appendonly yes` and `appendfsync always` (every write on disk before the
//!   reply; `everysec` can lose the last second), and without failover to a replica, or
//! - use the PostgreSQL backend, whose transactional inbox also commits the handler's writes
//!   with "done": exactly once, not only never concurrently.
//!
//! Redis has no transactional inbox: the handler's writes live elsewhere, so a crash after
//! them but before "done" runs the handler again after the lease expires (at least once,
//! never concurrently), as the [module documentation](super) describes.
//!
//! Redis must also never evict the ledger's keys: give it `maxmemory-policy noeviction` (the
//! default), or a Redis of its own.
//!
//! # How each operation is atomic
//!
//! Every operation is one round trip: a single command (`HGETALL` for [`Ledger::record`] and
//! [`Ledger::request`]) or a Lua script run with `EVALSHA` (loaded on first use), which
//! Redis runs without interleaving anything else. The scripts read the server's clock
//! (`TIME`), so a lease expires at the same moment for every instance, however their clocks
//! drift. Keys, under the prefix (default [`DEFAULT_PREFIX`]):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `d:<delivery>` | hash | `status`, `token`, `attempts`, `kind`, `fact`, `reason`, `reply`, `updated_at` (Unix seconds), `lease_until` (Unix milliseconds) |
//! | `r:<delivery>` | hash | the stored request: `received_at`, `format`, `headers` (JSON), `body` (the bytes as received) |
//! | `f:<fact>` | string | the delivery that owns the fact (claimed it last) |
//! | `s:<status>` | sorted set | the deliveries with that status, scored by `updated_at`: [`Ledger::list`] and [`Ledger::purge`] |
//!
//! [`Ledger::purge`] removes at most 1000 records per script (so Redis is never blocked for
//! long) and repeats until none is left.
//!
//! # Redis Cluster
//!
//! The scripts touch several keys, some found only while they run (a fact's owner). In a
//! cluster every key of a script must live in one hash slot, so the prefix holds a hash tag:
//! the default `{wechatpay-notify}:` puts the whole ledger in one slot, on one primary (the
//! ledger is small: one record per notification, purged after a while). Keep a `{…}` tag in
//! a prefix of your own if the keys may ever move to a cluster. This client itself connects to
//! one server (standalone, or a cluster's proxy).
//!
//! # A Redis that is down, or slow
//!
//! Nothing waits unboundedly: connecting gives up after [`RedisConfig::connect_timeout`], and
//! every command after [`RedisConfig::response_timeout`] (a call is one command, two more the
//! first time a script is loaded); either failure is [`LedgerError::Unavailable`], which a
//! [`Service`](crate::service::Service) answers with a 503 `ledger_unavailable` (WeChat Pay
//! retries later). A lost connection is not retried within the call that finds it lost: the
//! next call reconnects.
//!
//! Creating a [`RedisLedger`] does not connect: a service starts while Redis is down and
//! answers 503 until it is back, then carries on by itself. To refuse to start instead, call
//! [`RedisLedger::ping`] at start-up.
//!
//! ```
//! use std::time::Duration;
//! use wechatpay_notify::ledger::redis::{RedisConfig, RedisLedger};
//! use wechatpay_notify::ledger::{ClaimRequest, DeliveryKey, Ledger, LedgerError};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // Nothing listens on port 1: created all the same, and every call answers "unavailable".
//! let config = RedisConfig::default().with_connect_timeout(Duration::from_millis(200));
//! let ledger = RedisLedger::with_config("redis://127.0.0.1:1/", config).unwrap();
//! assert!(matches!(ledger.ping().await, Err(LedgerError::Unavailable(_))));
//! let ask = ClaimRequest { delivery: DeliveryKey::v3("EV-1"), fact: None, kind: None, ttl: Duration::from_secs(30) };
//! assert!(matches!(ledger.claim(&ask).await, Err(LedgerError::Unavailable(_))));
//! # });
//! ```

mod decode;
mod script;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};

use super::memory::ttl_millis;
use super::{
    BoxFuture, Claim, ClaimRequest, Completion, DeliveryKey, Lease, Ledger, LedgerError, Record,
    Status, StoredRequest,
};
use script::SCRIPTS;

/// The key prefix unless another is configured: a hash tag, so a cluster keeps the ledger in
/// one slot.
pub const DEFAULT_PREFIX: &str = "{wechatpay-notify}:";

/// How many records one purge script removes at most.
const PURGE_BATCH: usize = 1000;

/// The longest lease the scripts measure: their arithmetic is on doubles, exact below 2⁵³.
const MAX_TTL_MS: i64 = 1 << 52;

/// How a [`RedisLedger`] names its keys and how long it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// Prepended to every key (see the [module documentation](self)).
    pub prefix: String,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// How long a command's answer may take.
    pub response_timeout: Duration,
}

impl Default for RedisConfig {
    /// [`DEFAULT_PREFIX`]; one second to connect and one second per answer (WeChat Pay waits
    /// about five seconds for the whole reply).
    fn default() -> Self {
        RedisConfig {
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
        }
    }
}

impl RedisConfig {
    /// Sets the key prefix.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets how long one connection attempt may take.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long a command's answer may take.
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    fn manager(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            // No retry within a call (its wait stays bounded): the next call reconnects.
            .set_number_of_retries(0)
    }
}

/// A [`Ledger`] in Redis. Cheap to clone (the clones share one connection); every instance of
/// a service points at the same server and prefix.
///
/// ```no_run
/// use std::sync::Arc;
/// use wechatpay_notify::ledger::redis::RedisLedger;
///
/// # async fn start() -> Result<(), wechatpay_notify::ledger::LedgerError> {
/// let ledger = RedisLedger::new("redis://127.0.0.1:6379/")?;
/// ledger.ping().await?; // optional: refuse to start while Redis is down
/// let ledger: Arc<dyn wechatpay_notify::ledger::Ledger> = Arc::new(ledger);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLedger {
    connection: ConnectionManager,
    prefix: Arc<str>,
    /// The server's address, without credentials, for `Debug`.
    address: Arc<str>,
}

impl fmt::Debug for RedisLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLedger")
            .field("address", &self.address)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLedger {
    /// A ledger on the Redis server at `url` (`redis://[:password@]host[:port][/db]`, or
    /// `redis+unix:///path`), with the default [`RedisConfig`]. Does not connect: see
    /// [`ping`](Self::ping).
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`] when `url` is not a Redis URL, or when called outside a
    /// Tokio runtime (the connection runs on it).
    pub fn new(url: &str) -> Result<Self, LedgerError> {
        Self::with_config(url, RedisConfig::default())
    }

    /// A ledger on the Redis server at `url`, with `config`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_config(url: &str, config: RedisConfig) -> Result<Self, LedgerError> {
        let client = Client::open(url).map_err(LedgerError::unavailable)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(LedgerError::unavailable(
                "a RedisLedger must be created within a Tokio runtime",
            ));
        }
        let address = client.get_connection_info().addr().to_string();
        let connection = ConnectionManager::new_lazy_with_config(client, config.manager())
            .map_err(LedgerError::unavailable)?;
        Ok(RedisLedger {
            connection,
            prefix: config.prefix.into(),
            address: address.into(),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Connects if not connected yet and checks that the server answers.
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`] when it does not, within the configured timeouts.
    pub async fn ping(&self) -> Result<(), LedgerError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut connection)
            .await
            .map_err(ledger_error)
    }

    fn record_key(&self, delivery: &DeliveryKey) -> String {
        format!("{}d:{delivery}", self.prefix)
    }

    fn request_key(&self, delivery: &DeliveryKey) -> String {
        format!("{}r:{delivery}", self.prefix)
    }

    fn status_key(&self, status: Status) -> String {
        format!("{}s:{status}", self.prefix)
    }

    /// Runs `call` on this ledger's connection.
    async fn run<T: redis::FromRedisValue>(
        &self,
        call: &redis::ScriptInvocation<'_>,
    ) -> Result<T, LedgerError> {
        let mut connection = self.connection.clone();
        call.invoke_async(&mut connection)
            .await
            .map_err(ledger_error)
    }

    async fn hash<V: redis::FromRedisValue>(
        &self,
        key: String,
    ) -> Result<Option<HashMap<String, V>>, LedgerError> {
        let mut connection = self.connection.clone();
        let fields: HashMap<String, V> = redis::cmd("HGETALL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .map_err(ledger_error)?;
        Ok((!fields.is_empty()).then_some(fields))
    }
}

/// An optional script argument: empty for none, `=` and the value for some (`opt` in
/// `lua/prelude.lua`).
fn opt(value: Option<&str>) -> String {
    value.map_or_else(String::new, |v| format!("={v}"))
}

fn lease_ttl_ms(ttl: Duration) -> i64 {
    ttl_millis(ttl).min(MAX_TTL_MS)
}

/// What a Redis error means to the ledger: data of the wrong shape (a script's `CORRUPT`, a
/// key of another type, an answer that does not convert) is [`LedgerError::Corrupt`];
/// anything else (no connection, a timeout, a server error) is [`LedgerError::Unavailable`].
fn ledger_error(e: RedisError) -> LedgerError {
    let corrupt = matches!(e.kind(), redis::ErrorKind::UnexpectedReturnType)
        || matches!(e.code(), Some("CORRUPT" | "WRONGTYPE"));
    if corrupt {
        LedgerError::Corrupt(e.to_string())
    } else {
        LedgerError::unavailable(e)
    }
}

impl Ledger for RedisLedger {
    fn store_request<'a>(
        &'a self,
        request: &'a StoredRequest,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let headers = serde_json::to_string(&request.headers)
                .map_err(|e| LedgerError::Corrupt(format!("headers not encodable: {e}")))?;
            self.run::<()>(
                SCRIPTS
                    .store_request
                    .key(self.record_key(&request.delivery))
                    .key(self.request_key(&request.delivery))
                    .arg(&*self.prefix)
                    .arg(request.delivery.as_str())
                    .arg(request.received_at)
                    .arg(&request.format)
                    .arg(headers)
                    .arg(&request.body[..]),
            )
            .await
        })
    }

    fn claim<'a>(&'a self, ask: &'a ClaimRequest) -> BoxFuture<'a, Result<Claim, LedgerError>> {
        Box::pin(async move {
            let reply = self
                .run(
                    SCRIPTS
                        .claim
                        .key(self.record_key(&ask.delivery))
                        .arg(&*self.prefix)
                        .arg(ask.delivery.as_str())
                        .arg(opt(ask.fact.as_ref().map(|f| f.as_str())))
                        .arg(opt(ask.kind.as_deref()))
                        .arg(lease_ttl_ms(ask.ttl)),
                )
                .await?;
            decode::claim(ask, reply)
        })
    }

    fn renew<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let renewed: bool = self
                .run(
                    SCRIPTS
                        .renew
                        .key(self.record_key(&lease.delivery))
                        .arg(&*self.prefix)
                        .arg(lease.delivery.as_str())
                        .arg(opt(lease.fact.as_ref().map(|f| f.as_str())))
                        .arg(lease.token.0)
                        .arg(lease_ttl_ms(lease.ttl)),
                )
                .await?;
            renewed
                .then_some(())
                .ok_or_else(|| LedgerError::stale(lease))
        })
    }

    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        completion: &'a Completion,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let completed: bool = self
                .run(
                    SCRIPTS
                        .complete
                        .key(self.record_key(&lease.delivery))
                        .arg(&*self.prefix)
                        .arg(lease.delivery.as_str())
                        .arg(opt(lease.fact.as_ref().map(|f| f.as_str())))
                        .arg(lease.token.0)
                        .arg(completion.status().as_str())
                        .arg(opt(completion.reason()))
                        .arg(opt(completion.reply())),
                )
                .await?;
            completed
                .then_some(())
                .ok_or_else(|| LedgerError::stale(lease))
        })
    }

    fn record<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<Record>, LedgerError>> {
        Box::pin(async move {
            self.hash(self.record_key(delivery))
                .await?
                .map(|fields| decode::record(delivery.clone(), fields))
                .transpose()
        })
    }

    fn list(
        &self,
        status: Status,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Record>, LedgerError>> {
        Box::pin(async move {
            if limit == 0 {
                return Ok(Vec::new());
            }
            let last = i64::try_from(limit).unwrap_or(i64::MAX) - 1;
            let found: Vec<(String, HashMap<String, String>)> = self
                .run(
                    SCRIPTS
                        .list
                        .key(self.status_key(status))
                        .arg(&*self.prefix)
                        .arg(last),
                )
                .await?;
            found
                .into_iter()
                .map(|(delivery, fields)| {
                    decode::record(DeliveryKey::from_stored(delivery), fields)
                })
                .collect()
        })
    }

    fn request<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<StoredRequest>, LedgerError>> {
        Box::pin(async move {
            self.hash(self.request_key(delivery))
                .await?
                .map(|fields| decode::request(delivery.clone(), fields))
                .transpose()
        })
    }

    fn purge<'a>(
        &'a self,
        before: i64,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<u64, LedgerError>> {
        Box::pin(async move {
            if statuses.is_empty() {
                return Ok(0);
            }
            let mut call = SCRIPTS.purge.prepare_invoke();
            for &status in statuses {
                call.key(self.status_key(status));
            }
            call.arg(&*self.prefix).arg(before).arg(PURGE_BATCH);
            let mut total = 0;
            loop {
                let removed: u64 = self.run(&call).await?;
                total += removed;
                if removed < PURGE_BATCH as u64 {
                    return Ok(total);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn debug_shows_no_password() {
        let ledger = RedisLedger::new("redis://:hunter2@127.0.0.1:1/").unwrap();
        let shown = format!("{ledger:?}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(
            RedisLedger::new("redis://127.0.0.1:1/"),
            Err(LedgerError::Unavailable(_))
        ));
    }

    #[test]
    fn a_bad_url_is_an_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _inside = runtime.enter();
        for url in ["", "http://127.0.0.1/", "redis://[::1"] {
            assert!(
                matches!(RedisLedger::new(url), Err(LedgerError::Unavailable(_))),
                "{url:?}"
            );
        }
    }

    #[test]
    fn options_are_told_apart_from_empty_text() {
        assert_eq!(opt(None), "");
        assert_eq!(opt(Some("")), "=");
        assert_eq!(opt(Some("x")), "=x");
    }

    #[test]
    fn absurd_leases_stay_exact_in_lua() {
        assert_eq!(lease_ttl_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(lease_ttl_ms(Duration::MAX), MAX_TTL_MS);
    }
}
