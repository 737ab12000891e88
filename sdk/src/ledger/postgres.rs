//! The PostgreSQL ledger (feature `postgres`): one schema in the merchant's database, shared by
//! every instance of the service, with leases measured on the database server's clock.
//!
//! Each operation is one statement, most of them one call of a server-side function created
//! with the tables (see `schema.rs`): a claim locks the delivery's row, then its fact's row,
//! and decides under both locks, so concurrent claims from any number of instances queue and
//! exactly one wins. Statements are prepared once per pooled connection.
//!
//! Commits are as durable as the server's `synchronous_commit` makes them (on by default): a
//! "done" that was acknowledged survives a crash of the database server.
//!
//! Nothing waits without bound: connecting ([`PgOptions::connect_timeout`], the start-up
//! exchange included), waiting for a pooled connection ([`PgOptions::wait_timeout`]), and each
//! operation's statements ([`PgLedger::with_operation_timeout`]) each give up in time, with
//! [`LedgerError::Unavailable`], which a [`Service`](crate::service::Service) answers with a 503.
//!
//! The transactional inbox: [`PgLedger::complete_in`] records "done" inside the merchant's own
//! transaction, so the handler's writes and "done" commit together, or not at all.

mod rows;
mod schema;

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::OnceCell;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Row};

use super::memory::ttl_millis;
use super::{
    BoxFuture, Claim, ClaimRequest, Completion, DeliveryKey, FactKey, Lease, Ledger, LedgerError,
    Record, Status, StoredRequest,
};
use schema::Statements;

/// The PostgreSQL client this backend is built on, re-exported so a handler's transaction for
/// [`PgLedger::complete_in`] comes from the same version.
pub use tokio_postgres;

/// The connection pool this backend uses ([`PgLedger::pool`], [`PgLedger::from_pool`]).
pub use deadpool_postgres;

/// A [`Ledger`] in a PostgreSQL schema, with a connection pool.
///
/// Nothing connects until the first operation, which creates the schema and its tables if they
/// are not there yet ([`migrate`](Self::migrate) does it on demand): under an advisory lock, so
/// instances starting together take turns, with a version marker for later migrations.
///
/// ```no_run
/// use std::sync::Arc;
/// use wechatpay_notify::ledger::postgres::PgLedger;
///
/// # async fn run() -> Result<(), wechatpay_notify::ledger::LedgerError> {
/// let ledger = Arc::new(PgLedger::new("postgres://shop@db.internal/shop", PgLedger::DEFAULT_SCHEMA)?);
/// ledger.migrate().await?; // optional: fail at start-up rather than at the first notification
/// # Ok(()) }
/// ```
pub struct PgLedger {
    pool: Pool,
    schema: String,
    sql: Statements,
    ready: OnceCell<()>,
    operation_timeout: Duration,
}

/// How a [`PgLedger`] built from a URL connects.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgOptions {
    /// The most connections the pool opens.
    pub pool_size: usize,
    /// How long opening one connection may take (TCP, TLS and start-up together), unless the
    /// URL sets `connect_timeout`.
    pub connect_timeout: Duration,
    /// How long an operation waits for a free connection when all are in use.
    pub wait_timeout: Duration,
}

impl Default for PgOptions {
    /// 16 connections; 5 seconds to connect or to wait for a connection (WeChat Pay waits about
    /// 5 seconds for an answer: an operation that cannot start by then is answered 503).
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(5),
        }
    }
}

impl PgOptions {
    /// Sets the pool size.
    #[must_use]
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// Sets the connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long to wait for a free connection.
    #[must_use]
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }
}

/// The longest lease kept: ten years (a longer time to live is cut to it).
const MAX_TTL_MS: i64 = 10 * 365 * 86_400_000;

fn ttl_ms(ttl: Duration) -> i64 {
    ttl_millis(ttl).min(MAX_TTL_MS)
}

/// The lease's token as stored; a token the column cannot hold was never handed out.
fn stored_token(lease: &Lease) -> Result<i64, LedgerError> {
    i64::try_from(lease.token.0).map_err(|_| LedgerError::stale(lease))
}

impl PgLedger {
    /// The schema used unless another is named.
    pub const DEFAULT_SCHEMA: &'static str = "wechatpay_notify";

    /// How long an operation's statement may run unless
    /// [`with_operation_timeout`](Self::with_operation_timeout) says otherwise.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

    /// A ledger in schema `schema` of the database `url` names (`postgres://user@host/db`, or
    /// key-value form), with the default [`PgOptions`]. Connections are plain TCP (no TLS):
    /// for TLS, build the pool yourself and use [`from_pool`](Self::from_pool).
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`] when `url` cannot be parsed or `schema` is not a lowercase
    /// identifier (`a-z`, `0-9`, `_`, at most 63 bytes, not starting with a digit).
    pub fn new(url: &str, schema: &str) -> Result<Self, LedgerError> {
        Self::with_options(url, schema, &PgOptions::default())
    }

    /// [`new`](Self::new) with other options.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(url: &str, schema: &str, options: &PgOptions) -> Result<Self, LedgerError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(LedgerError::unavailable)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("wechatpay-notify");
        }
        // tokio-postgres bounds the TCP connect only; the pool's create timeout bounds the
        // start-up exchange too, so a server that accepts and then says nothing cannot hang us.
        let connect_timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(options.connect_timeout);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(connect_timeout))
            .recycle_timeout(Some(connect_timeout))
            .wait_timeout(Some(options.wait_timeout))
            .build()
            .map_err(LedgerError::unavailable)?;
        Self::from_pool(pool, schema)
    }

    /// A ledger in schema `schema`, on connections from `pool` (for TLS, or to share the
    /// merchant's pool). Give the pool timeouts (and so a runtime), or an unreachable server
    /// makes operations wait as long as the pool does.
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`] when `schema` is not a lowercase identifier.
    pub fn from_pool(pool: Pool, schema: &str) -> Result<Self, LedgerError> {
        schema::check_name(schema)?;
        Ok(PgLedger {
            pool,
            schema: schema.to_owned(),
            sql: Statements::new(schema),
            ready: OnceCell::new(),
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
        })
    }

    /// Sets how long one operation's statements may run (ten seconds unless set). A statement
    /// still running then, waiting for a lock or for a server that stopped answering, is
    /// cancelled on the server (when it can be reached), its connection is dropped, and the
    /// operation fails with [`LedgerError::Unavailable`]. A cancellation can cross the
    /// statement's commit, so the operation may still have taken effect: a claim then holds a
    /// lease nobody works under until it expires; a completion stays recorded (completing it
    /// again is refused or accepted as usual).
    ///
    /// [`complete_in`](Self::complete_in) runs in the merchant's transaction, on the merchant's
    /// terms: this timeout does not apply to it.
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The connection pool: a handler takes its connection from it for
    /// [`complete_in`](Self::complete_in).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The schema's name.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Creates the schema and its tables, or brings them up to this version, now rather than
    /// at the first operation. Safe to run from several instances at once.
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`] when the server cannot be reached or refuses (e.g. no
    /// privilege to create the schema); [`LedgerError::Corrupt`] when the schema was made by a
    /// newer version of this crate.
    pub async fn migrate(&self) -> Result<(), LedgerError> {
        self.client().await.map(drop)
    }

    /// Records how a claimed notification ended, inside the merchant's transaction `tx`: the
    /// transactional inbox. The handler's own writes in `tx` and the ledger's "done" commit
    /// together when the merchant commits `tx`, or neither does.
    ///
    /// Fenced like [`Ledger::complete`]: when `lease` is no longer current (it expired and
    /// another instance took the notification over), it is refused with
    /// [`LedgerError::Stale`]; roll `tx` back then, and the handler's writes go with it. Until
    /// `tx` ends, the delivery's row stays locked, so no other instance can take it over in
    /// between.
    ///
    /// The [`Service`](crate::service::Service) completes the delivery again when the handler
    /// returns; a second "done" under the same lease is accepted, and the reply data recorded
    /// here is the one kept (it is what copies of the notification are answered with).
    ///
    /// `tx` is a `tokio_postgres::Transaction`; a `deadpool_postgres::Transaction` from
    /// [`pool`](Self::pool) dereferences to one. The call is one round trip.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use wechatpay_notify::error::HandlerError;
    /// use wechatpay_notify::generated::kinds::RefundSuccess;
    /// use wechatpay_notify::ledger::Completion;
    /// use wechatpay_notify::ledger::postgres::PgLedger;
    /// use wechatpay_notify::{Delivery, Dispatcher, Receiver, Service};
    ///
    /// # fn build(receiver: Receiver) -> Result<Service, Box<dyn std::error::Error>> {
    /// let ledger = Arc::new(PgLedger::new("postgres://shop@db.internal/shop", PgLedger::DEFAULT_SCHEMA)?);
    /// let inbox = ledger.clone();
    /// let dispatcher = Dispatcher::new(receiver).on(move |d: Delivery<RefundSuccess>| {
    ///     let inbox = inbox.clone();
    ///     async move {
    ///         let lease = d.lease.as_ref().ok_or_else(|| HandlerError::failed("no lease"))?;
    ///         let mut client = inbox.pool().get().await.map_err(HandlerError::failed)?;
    ///         let tx = client.transaction().await.map_err(HandlerError::failed)?;
    ///         tx.execute(
    ///             "UPDATE refunds SET state = 'SUCCESS' WHERE out_refund_no = $1",
    ///             &[&d.resource.out_refund_no],
    ///         )
    ///         .await
    ///         .map_err(HandlerError::failed)?;
    ///         // Refused if another instance took the notification over: `tx` is dropped
    ///         // uncommitted, and the update above is rolled back with it.
    ///         inbox
    ///             .complete_in(&tx, lease, &Completion::Done { reply: None })
    ///             .await
    ///             .map_err(HandlerError::failed)?;
    ///         tx.commit().await.map_err(HandlerError::failed)?;
    ///         Ok(())
    ///     }
    /// });
    /// Ok(Service::new(dispatcher, ledger))
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`LedgerError::Stale`] when `lease` is not current; [`LedgerError::Unavailable`] when
    /// the statement fails (the transaction is then aborted: roll it back).
    pub async fn complete_in(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        lease: &Lease,
        completion: &Completion,
    ) -> Result<(), LedgerError> {
        let token = stored_token(lease)?;
        let fact = lease.fact.as_ref().map(FactKey::as_str);
        let rows = tx
            .query_typed(
                &self.sql.complete,
                &[
                    (&lease.delivery.as_str(), Type::TEXT),
                    (&token, Type::INT8),
                    (&fact, Type::TEXT),
                    (&completion.status().as_str(), Type::TEXT),
                    (&completion.reason(), Type::TEXT),
                    (&completion.reply(), Type::TEXT),
                ],
            )
            .await
            .map_err(LedgerError::unavailable)?;
        fenced(&rows, lease)
    }

    /// A pooled connection, once the schema is ready.
    async fn client(&self) -> Result<deadpool_postgres::Client, LedgerError> {
        let mut client = self.pool.get().await.map_err(LedgerError::unavailable)?;
        let ready = self
            .ready
            .get_or_try_init(|| schema::migrate(&mut client, &self.schema));
        match tokio::time::timeout(self.operation_timeout, ready).await {
            Ok(ready) => ready.map(|()| client),
            Err(_) => Err(self.abandon(client)),
        }
    }

    /// Runs `sql` (prepared once per connection) and returns its rows, within the operation
    /// timeout.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, LedgerError> {
        let client = self.client().await?;
        let run = async {
            let statement = client.prepare_cached(sql).await?;
            client.query(&statement, params).await
        };
        match tokio::time::timeout(self.operation_timeout, run).await {
            Ok(rows) => rows.map_err(LedgerError::unavailable),
            Err(_) => Err(self.abandon(client)),
        }
    }

    /// Gives up on a connection whose statement outlived the operation timeout: asks the
    /// server to cancel the statement (it may be waiting for a lock), and drops the connection
    /// (what it would answer next is unknown).
    fn abandon(&self, client: deadpool_postgres::Client) -> LedgerError {
        let cancel = client.cancel_token();
        drop(deadpool_postgres::Object::take(client));
        tokio::spawn(async move { cancel.cancel_query(NoTls).await });
        LedgerError::unavailable(format!("no answer within {:?}", self.operation_timeout))
    }

    async fn complete_lease(
        &self,
        lease: &Lease,
        completion: &Completion,
    ) -> Result<(), LedgerError> {
        let token = stored_token(lease)?;
        let fact = lease.fact.as_ref().map(FactKey::as_str);
        let rows = self
            .query(
                &self.sql.complete,
                &[
                    &lease.delivery.as_str(),
                    &token,
                    &fact,
                    &completion.status().as_str(),
                    &completion.reason(),
                    &completion.reply(),
                ],
            )
            .await?;
        fenced(&rows, lease)
    }
}

/// The answer of `renew(…)` or `complete(…)`: Ok when the lease was current, else
/// [`LedgerError::Stale`].
fn fenced(rows: &[Row], lease: &Lease) -> Result<(), LedgerError> {
    if rows::accepted(rows::only(rows)?)? {
        Ok(())
    } else {
        Err(LedgerError::stale(lease))
    }
}

impl fmt::Debug for PgLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgLedger")
            .field("schema", &self.schema)
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl Ledger for PgLedger {
    fn store_request<'a>(
        &'a self,
        request: &'a StoredRequest,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let (names, values): (Vec<&str>, Vec<&str>) = request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .unzip();
            self.query(
                &self.sql.store_request,
                &[
                    &request.delivery.as_str(),
                    &request.received_at,
                    &request.format,
                    &names,
                    &values,
                    &request.body,
                ],
            )
            .await
            .map(drop)
        })
    }

    fn claim<'a>(&'a self, ask: &'a ClaimRequest) -> BoxFuture<'a, Result<Claim, LedgerError>> {
        Box::pin(async move {
            let rows = self
                .query(
                    &self.sql.claim,
                    &[
                        &ask.delivery.as_str(),
                        &ask.fact.as_ref().map(FactKey::as_str),
                        &ask.kind.as_deref(),
                        &ttl_ms(ask.ttl),
                    ],
                )
                .await?;
            rows::claim(rows::only(&rows)?, ask)
        })
    }

    fn renew<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            let rows = self
                .query(
                    &self.sql.renew,
                    &[
                        &lease.delivery.as_str(),
                        &stored_token(lease)?,
                        &lease.fact.as_ref().map(FactKey::as_str),
                        &ttl_ms(lease.ttl),
                    ],
                )
                .await?;
            fenced(&rows, lease)
        })
    }

    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        completion: &'a Completion,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.complete_lease(lease, completion))
    }

    fn record<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<Record>, LedgerError>> {
        Box::pin(async move {
            let rows = self.query(&self.sql.record, &[&delivery.as_str()]).await?;
            rows.first().map(rows::record).transpose()
        })
    }

    fn list(
        &self,
        status: Status,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Record>, LedgerError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self
                .query(&self.sql.list, &[&status.as_str(), &limit])
                .await?;
            rows.iter().map(rows::record).collect()
        })
    }

    fn request<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<StoredRequest>, LedgerError>> {
        Box::pin(async move {
            let rows = self.query(&self.sql.request, &[&delivery.as_str()]).await?;
            rows.first()
                .map(|row| rows::request(row, delivery))
                .transpose()
        })
    }

    fn purge<'a>(
        &'a self,
        before: i64,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<u64, LedgerError>> {
        Box::pin(async move {
            let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
            // Within the server's timestamp range (4713 BC to 294276 AD), past which every
            // record is either newer or older anyway.
            let before = before.clamp(-200_000_000_000, 9_000_000_000_000) as f64;
            let rows = self.query(&self.sql.purge, &[&statuses, &before]).await?;
            rows::count_of(rows::only(&rows)?)
        })
    }
}
