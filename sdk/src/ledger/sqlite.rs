//! The SQLite ledger: one file, shared by every process of the merchant's service on one
//! machine; the embedded default (`serve --ledger sqlite:wechatpay-notify.db`).
//!
//! ```
//! use std::time::Duration;
//! use wechatpay_notify::ledger::sqlite::SqliteLedger;
//! use wechatpay_notify::ledger::{Claim, ClaimRequest, Completion, DeliveryKey, Ledger};
//!
//! # let path = std::env::temp_dir().join(format!("sqlite-ledger-doc-{}.db", std::process::id()));
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let ledger = SqliteLedger::open(&path)?; // or SqliteLedger::open_url("sqlite:wechatpay-notify.db")
//! let ask = ClaimRequest { delivery: DeliveryKey::v3("EV-1"), fact: None, kind: None, ttl: Duration::from_secs(30) };
//! let Claim::New(lease) = ledger.claim(&ask).await? else { panic!() };
//! ledger.complete(&lease, &Completion::Done { reply: None }).await?;
//! assert!(matches!(ledger.claim(&ask).await?, Claim::Done { .. }));
//! # Ok::<_, wechatpay_notify::ledger::LedgerError>(()) }).unwrap();
//! # for end in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{end}", path.display())); }
//! ```
//!
//! # How it holds up
//!
//! - **Several processes, one file.** Every claim, renewal and completion reads and writes in
//!   one `BEGIN IMMEDIATE` transaction, which takes the file's write lock first: no other
//!   process decides anything about the same delivery in between. Nothing is decided from
//!   memory; two [`SqliteLedger`]s on one file behave as two instances. The file is in WAL mode
//!   (readers never wait for the writer) and a connection waits up to
//!   [`SqliteOptions::busy_timeout`] for another process's write lock before the operation fails
//!   as [`LedgerError::Unavailable`].
//! - **Group commit, off the async threads.** A dedicated thread owns the writing connection.
//!   Operations are queued to it; it takes everything queued into one transaction, runs the
//!   operations in order (two claims of one delivery in one batch: the second sees the first's
//!   lease and is [`Claim::Busy`]), commits once, then answers each. Under load one commit, and
//!   one `fsync`, covers many notifications. Each operation runs in a savepoint of its own, so a
//!   failing one leaves the others of its batch alone. Reads ([`Ledger::record`],
//!   [`Ledger::list`], [`Ledger::request`]) use connections of their own on tokio's blocking
//!   threads and see every operation already answered.
//! - **Durability** is [`Synchronous::Full`] by default: an answered operation is on disk and
//!   survives a power loss. [`Synchronous::Normal`] survives a process crash, not an OS crash
//!   or power loss; see [`Synchronous`] for what each can lose and what each costs.
//! - **Checkpoints** (copying the WAL back into the file) run on a thread of their own, never
//!   inside a commit. Under sustained load the WAL grows, up to about 256 MiB, where the writer
//!   rewinds it between two batches (a stop of a few `fsync`s); it is rewound by itself whenever
//!   the load pauses.
//! - **Leases** are measured by this machine's clock (Unix milliseconds), which every process
//!   sharing the file reads alike.
//!
//! # Transactional inbox
//!
//! Where the merchant's data lives in the same file, the handler's writes and the ledger's
//! "done" commit in one transaction ([`SqliteLedger::complete_in`]): either both happen or
//! neither, so effects happen exactly once. A lease taken over meanwhile is refused inside the
//! merchant's transaction, which rolls back. [`SqliteLedger::connect`] gives a connection set up
//! as the ledger's own (WAL, busy timeout, durability).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use rusqlite::TransactionBehavior;
//! use wechatpay_notify::error::HandlerError;
//! use wechatpay_notify::generated::kinds::RefundSuccess;
//! use wechatpay_notify::keys::{ApiV3Key, Keyring};
//! use wechatpay_notify::ledger::{Completion, sqlite::SqliteLedger};
//! use wechatpay_notify::{Delivery, Dispatcher, Receiver, Service};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let path = std::env::temp_dir().join(format!("sqlite-inbox-doc-{}.db", std::process::id()));
//! let ledger = Arc::new(SqliteLedger::open(&path)?);
//! let db = Arc::new(Mutex::new(ledger.connect()?)); // the merchant's tables, same file
//! db.lock().unwrap().execute_batch(
//!     "CREATE TABLE IF NOT EXISTS refunds (out_refund_no TEXT PRIMARY KEY, amount INTEGER)",
//! )?;
//!
//! let on_refund = move |d: Delivery<RefundSuccess>| {
//!     let db = db.clone();
//!     async move {
//!         // rusqlite blocks: the transaction runs on a blocking thread.
//!         tokio::task::spawn_blocking(move || {
//!             let mut conn = db.lock().map_err(|_| HandlerError::failed("poisoned"))?;
//!             let tx = conn
//!                 .transaction_with_behavior(TransactionBehavior::Immediate)
//!                 .map_err(HandlerError::failed)?;
//!             tx.execute(
//!                 "INSERT INTO refunds VALUES (?1, ?2)",
//!                 (&d.resource.out_refund_no, d.resource.amount.refund.get()),
//!             )
//!             .map_err(HandlerError::failed)?;
//!             if let Some(lease) = &d.lease {
//!                 // Refused (and so rolled back) if another instance took the lease over.
//!                 SqliteLedger::complete_in(&tx, lease, &Completion::Done { reply: None })
//!                     .map_err(HandlerError::failed)?;
//!             }
//!             tx.commit().map_err(HandlerError::failed)
//!         })
//!         .await
//!         .map_err(HandlerError::failed)?
//!     }
//! };
//! let key = ApiV3Key::new(b"0123456789abcdef0123456789abcdef")?;
//! let dispatcher = Dispatcher::new(Receiver::new(Keyring::new(), key)).on(on_refund);
//! let service = Service::new(dispatcher, ledger);
//! // The service then completes the lease as done again: accepted, the lease is the same.
//! # drop(service);
//! # for end in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{end}", path.display())); }
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! Tables prefixed `wechatpay_notify_` (the file may hold the merchant's tables too):
//! `deliveries` (one small row per delivery: status, token, attempts, lease expiry in Unix ms),
//! `facts` (each fact's owner), `requests` (the stored requests), and `schema` (the version,
//! kept in a table rather than `PRAGMA user_version`, which the merchant's migrations may use).
//! They are created, or migrated, when the file is opened.

mod checkpoint;
mod ops;
mod options;
mod schema;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

pub use options::{SqliteOptions, Synchronous};

use super::{
    BoxFuture, Claim, ClaimRequest, Completion, DeliveryKey, Lease, Ledger, LedgerError, Record,
    Status, StoredRequest, unix_millis,
};
use writer::Writer;

/// A [`Ledger`] in a SQLite file. See the [module documentation](self).
///
/// It owns two threads (the writer and the checkpointer) and their connections. Dropping it
/// finishes the operations already queued, stops the threads and closes the file, which can
/// take a moment (the last connection to close checkpoints the WAL).
pub struct SqliteLedger {
    writer: Writer,
    readers: Arc<Readers>,
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger in the file at `path`, with the default
    /// [`SqliteOptions`]. Blocks while it creates or migrates the tables.
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`] when the file cannot be opened or put in WAL mode;
    /// [`LedgerError::Corrupt`] when a newer version wrote its tables.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the ledger a `sqlite:` URL names: `sqlite:PATH`, optionally followed by
    /// `?synchronous=full|normal`, `busy_timeout_ms=N` and `max_batch=N` joined by `&`
    /// (`sqlite:/var/lib/notify.db?synchronous=normal`). A `//` after `sqlite:` is dropped, so
    /// `sqlite:///var/lib/notify.db` names `/var/lib/notify.db`.
    ///
    /// # Errors
    /// As [`open`](Self::open); a URL that is not one of these is
    /// [`LedgerError::Unavailable`], saying why.
    pub fn open_url(url: &str) -> Result<Self, LedgerError> {
        let (path, options) = options::parse_url(url)?;
        Self::open_with(path, options)
    }

    /// Opens the ledger in the file at `path` with `options`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, LedgerError> {
        let mut conn = schema::connect(path.as_ref(), &options)?;
        schema::migrate(&mut conn)?;
        // Later connections (readers, the merchant's) find the same file whatever the working
        // directory becomes.
        let path = std::fs::canonicalize(path.as_ref()).unwrap_or_else(|_| path.as_ref().into());
        let checkpointer = checkpoint::Checkpointer::spawn(schema::connect(&path, &options)?)?;
        let writer = Writer::spawn(conn, checkpointer, options.max_batch, options.busy_timeout)?;
        Ok(SqliteLedger {
            writer,
            readers: Arc::new(Readers {
                path,
                options,
                idle: Mutex::default(),
            }),
        })
    }

    /// The ledger's file.
    pub fn path(&self) -> &Path {
        &self.readers.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.readers.options
    }

    /// A new connection to the ledger's file, set up as the ledger's own (WAL, busy timeout,
    /// durability, no automatic checkpoint: the ledger's checkpointer copies the WAL into the
    /// file): for the merchant's tables and [`complete_in`](Self::complete_in).
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`] when the file cannot be opened.
    pub fn connect(&self) -> Result<Connection, LedgerError> {
        schema::connect(self.path(), self.options())
    }

    /// Records how a claimed notification ended, inside the caller's transaction on the
    /// ledger's file, so that the caller's own writes and the ledger's record commit together
    /// (the transactional inbox). Fenced as [`Ledger::complete`]: refused with
    /// [`LedgerError::Stale`] unless `lease` is current, and the caller then rolls back (drops
    /// the transaction). Nothing is recorded until the caller commits.
    ///
    /// Begin the transaction with [`rusqlite::TransactionBehavior::Immediate`]: it takes the
    /// write lock first, as the ledger's own transactions do, instead of failing with
    /// `SQLITE_BUSY` when it comes to write.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rusqlite::TransactionBehavior;
    /// use wechatpay_notify::ledger::sqlite::SqliteLedger;
    /// use wechatpay_notify::ledger::{Claim, ClaimRequest, Completion, DeliveryKey, Ledger, Status};
    ///
    /// # let path = std::env::temp_dir().join(format!("sqlite-complete-in-doc-{}.db", std::process::id()));
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let ledger = SqliteLedger::open(&path)?;
    /// let mut conn = ledger.connect()?;
    /// conn.execute_batch("CREATE TABLE IF NOT EXISTS refunds (no TEXT PRIMARY KEY)")?;
    /// let ask = ClaimRequest { delivery: DeliveryKey::v3("EV-7"), fact: None, kind: None, ttl: Duration::from_secs(30) };
    /// let Claim::New(lease) = ledger.claim(&ask).await? else { panic!() };
    ///
    /// let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    /// tx.execute("INSERT INTO refunds VALUES ('R-7')", [])?;
    /// SqliteLedger::complete_in(&tx, &lease, &Completion::Done { reply: None })?;
    /// tx.commit()?;
    ///
    /// assert_eq!(ledger.record(&ask.delivery).await?.unwrap().status, Status::Done);
    /// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
    /// # for end in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{end}", path.display())); }
    /// ```
    ///
    /// # Errors
    /// [`LedgerError::Stale`] when the lease is not current; [`LedgerError::Unavailable`] when
    /// the statement fails (the file holds no ledger, the lock could not be had).
    pub fn complete_in(
        tx: &rusqlite::Transaction<'_>,
        lease: &Lease,
        completion: &Completion,
    ) -> Result<(), LedgerError> {
        ops::complete(tx, lease, completion, unix_millis())
    }

    /// Runs a write in the writer thread's next group commit.
    fn write<'a, T, F>(&'a self, op: F) -> BoxFuture<'a, Result<T, LedgerError>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> Result<T, LedgerError> + Send + 'static,
    {
        Box::pin(self.writer.call(op))
    }

    /// Runs a read on a reader connection, on a blocking thread.
    fn read<'a, T, F>(&'a self, op: F) -> BoxFuture<'a, Result<T, LedgerError>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, LedgerError> + Send + 'static,
    {
        let readers = self.readers.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || readers.read(op))
                .await
                .map_err(LedgerError::unavailable)?
        })
    }
}

impl fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.readers.path)
            .field("options", &self.readers.options)
            .finish_non_exhaustive()
    }
}

/// The file, and the connections the reads use (kept for the next read).
struct Readers {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// At most this many idle connections are kept.
    const KEEP: usize = 4;

    fn read<T>(
        &self,
        op: impl FnOnce(&Connection) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => schema::connect(&self.path, &self.options)?,
        };
        let result = op(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < Self::KEEP {
            idle.push(conn);
        }
        result
    }
}

impl Ledger for SqliteLedger {
    fn store_request<'a>(
        &'a self,
        request: &'a StoredRequest,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let request = request.clone();
        self.write(move |conn, now| ops::store_request(conn, &request, now))
    }

    fn claim<'a>(&'a self, ask: &'a ClaimRequest) -> BoxFuture<'a, Result<Claim, LedgerError>> {
        let ask = ask.clone();
        self.write(move |conn, now| ops::claim(conn, &ask, now))
    }

    fn renew<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LedgerError>> {
        let lease = lease.clone();
        self.write(move |conn, now| ops::renew(conn, &lease, now))
    }

    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        completion: &'a Completion,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let (lease, completion) = (lease.clone(), completion.clone());
        self.write(move |conn, now| ops::complete(conn, &lease, &completion, now))
    }

    fn record<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<Record>, LedgerError>> {
        let delivery = delivery.clone();
        self.read(move |conn| ops::record(conn, &delivery))
    }

    fn list(
        &self,
        status: Status,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Record>, LedgerError>> {
        self.read(move |conn| ops::list(conn, status, limit))
    }

    fn request<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<StoredRequest>, LedgerError>> {
        let delivery = delivery.clone();
        self.read(move |conn| ops::request(conn, &delivery))
    }

    fn purge<'a>(
        &'a self,
        before: i64,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<u64, LedgerError>> {
        let statuses = statuses.to_vec();
        self.write(move |conn, _| ops::purge(conn, before, &statuses))
    }
}
