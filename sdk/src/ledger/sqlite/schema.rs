//! The ledger's tables, their versions, and how every connection to the file is set up.
//!
//! The tables are prefixed `wechatpay_notify_` because the file may hold the merchant's own
//! tables too (the transactional inbox). For the same reason the schema version is kept in a
//! table of its own rather than in `PRAGMA user_version`, which belongs to the whole file and
//! so to the merchant's migrations.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::SqliteOptions;
use super::ops::db_error;
use crate::ledger::LedgerError;

/// `MIGRATIONS[n]` brings the schema from version `n` to `n + 1`; the last one's result is the
/// version this build writes. Append, never edit.
const MIGRATIONS: &[&str] = &[
    // 1: the records (one per delivery, small rows), each fact's owner, the stored requests
    // (large rows, apart so that claims and completions rewrite small rows only).
    "CREATE TABLE wechatpay_notify_deliveries (
        delivery TEXT PRIMARY KEY,
        kind TEXT,
        fact TEXT,
        status TEXT NOT NULL,
        token INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        reason TEXT,
        reply TEXT,
        updated_at INTEGER NOT NULL,
        lease_until_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX wechatpay_notify_deliveries_by_status
        ON wechatpay_notify_deliveries (status, updated_at, delivery);
    CREATE TABLE wechatpay_notify_facts (
        fact TEXT PRIMARY KEY,
        owner TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX wechatpay_notify_facts_by_owner ON wechatpay_notify_facts (owner);
    CREATE TABLE wechatpay_notify_requests (
        delivery TEXT PRIMARY KEY,
        received_at INTEGER NOT NULL,
        format TEXT NOT NULL,
        headers TEXT NOT NULL,
        body BLOB NOT NULL
    );",
];

/// The size the WAL file is cut back to when it is rewound, in bytes.
const JOURNAL_SIZE_LIMIT: i64 = super::checkpoint::RESTART_AT * 4096;

/// The schema version this build reads and writes.
pub(super) const VERSION: usize = MIGRATIONS.len();

/// Opens a connection to `path` set up as every connection to a ledger file must be: WAL, the
/// busy timeout, the durability setting.
pub(super) fn connect(path: &Path, options: &SqliteOptions) -> Result<Connection, LedgerError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(db_error)?;
    conn.busy_timeout(options.busy_timeout).map_err(db_error)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::unavailable(format!(
            "{} cannot use write-ahead logging (journal_mode is {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", options.synchronous.as_str())
        .map_err(db_error)?;
    // The ledger's checkpointer thread copies the WAL into the file; no commit stops to do it.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(db_error)?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .map_err(db_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Creates the tables, or brings them up to [`VERSION`], in one transaction (another process
/// opening the file at the same time waits, then finds them made).
///
/// # Errors
/// [`LedgerError::Corrupt`] when the file was written by a newer version.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), LedgerError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS wechatpay_notify_schema (version INTEGER NOT NULL)",
    )
    .map_err(db_error)?;
    let found: Option<i64> = tx
        .query_row(
            "SELECT max(version) FROM wechatpay_notify_schema",
            [],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    let found = usize::try_from(found.unwrap_or(0))
        .map_err(|_| LedgerError::Corrupt(format!("schema version {found:?}")))?;
    if found > VERSION {
        return Err(LedgerError::Corrupt(format!(
            "the ledger's schema is version {found}, newer than this build's {VERSION}"
        )));
    }
    if found < VERSION {
        for step in &MIGRATIONS[found..] {
            tx.execute_batch(step).map_err(db_error)?;
        }
        tx.execute_batch("DELETE FROM wechatpay_notify_schema")
            .map_err(db_error)?;
        tx.execute(
            "INSERT INTO wechatpay_notify_schema (version) VALUES (?1)",
            [VERSION as i64],
        )
        .map_err(db_error)?;
    }
    tx.commit().map_err(db_error)
}
