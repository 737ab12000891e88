//! The ledger's operations in SQL. Each runs inside a transaction its caller holds (a batch of
//! the writer thread, or the merchant's own transaction in
//! [`SqliteLedger::complete_in`](super::SqliteLedger::complete_in)), so its reads and writes
//! are one atomic step, whichever process runs it. They follow the memory backend's rules
//! step for step.

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::ledger::memory::ttl_millis;
use crate::ledger::{
    Claim, ClaimRequest, Completion, DeliveryKey, FactKey, Lease, LedgerError, Record, Status,
    StoredRequest,
};

/// A backend error as the ledger reports it: data this version cannot read is
/// [`LedgerError::Corrupt`]; anything else (a lock held too long, I/O, a missing table) is
/// [`LedgerError::Unavailable`].
pub(super) fn db_error(e: rusqlite::Error) -> LedgerError {
    use rusqlite::Error as E;
    match e {
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::InvalidColumnType(..)
        | E::Utf8Error(..) => LedgerError::Corrupt(e.to_string()),
        e => LedgerError::unavailable(e),
    }
}

/// `?` on rusqlite results, mapped by [`db_error`].
trait Db<T> {
    fn db(self) -> Result<T, LedgerError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, LedgerError> {
        self.map_err(db_error)
    }
}

/// Keeps the first copy of a request, and creates the delivery's record.
pub(super) fn store_request(
    conn: &Connection,
    request: &StoredRequest,
    now_ms: i64,
) -> Result<(), LedgerError> {
    ensure_record(conn, &request.delivery, now_ms)?;
    let headers = serde_json::to_string(&request.headers)
        .map_err(|e| LedgerError::Corrupt(format!("headers of {}: {e}", request.delivery)))?;
    conn.prepare_cached(
        "INSERT INTO wechatpay_notify_requests (delivery, received_at, format, headers, body)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (delivery) DO NOTHING",
    )
    .db()?
    .execute(params![
        request.delivery.as_str(),
        request.received_at,
        request.format,
        headers,
        request.body
    ])
    .db()?;
    Ok(())
}

/// Claims a delivery: see [`Claim`] and the memory backend's `State::claim`.
pub(super) fn claim(
    conn: &Connection,
    ask: &ClaimRequest,
    now_ms: i64,
) -> Result<Claim, LedgerError> {
    ensure_record(conn, &ask.delivery, now_ms)?;
    let mine = standing(conn, &ask.delivery)?
        .ok_or_else(|| LedgerError::Corrupt(format!("the record of {} vanished", ask.delivery)))?;
    if mine.status == Status::Done {
        return Ok(Claim::Done {
            by: ask.delivery.clone(),
            reply: mine.reply,
        });
    }
    if let Some(fact) = &ask.fact
        && let Some(owner) = owner_of(conn, fact)?.filter(|o| *o != ask.delivery)
        && let Some(theirs) = standing(conn, &owner)?
    {
        if theirs.status == Status::Done {
            conn.prepare_cached(
                "UPDATE wechatpay_notify_deliveries
                 SET status = 'done', reason = ?2, reply = ?3, fact = ?4, updated_at = ?5
                 WHERE delivery = ?1",
            )
            .db()?
            .execute(params![
                ask.delivery.as_str(),
                format!("duplicate of {owner}"),
                theirs.reply,
                fact.as_str(),
                now_ms / 1000
            ])
            .db()?;
            return Ok(Claim::Done {
                by: owner,
                reply: theirs.reply,
            });
        }
        if theirs.holds_lease(now_ms) {
            return Ok(Claim::Busy { holder: owner });
        }
    }
    if mine.holds_lease(now_ms) {
        return Ok(Claim::Busy {
            holder: ask.delivery.clone(),
        });
    }
    let (token, attempt) = conn
        .prepare_cached(
            "UPDATE wechatpay_notify_deliveries
             SET token = token + 1, attempts = attempts + 1, status = 'in_progress',
                 updated_at = ?2, kind = coalesce(?3, kind), fact = coalesce(?4, fact),
                 lease_until_ms = ?5
             WHERE delivery = ?1
             RETURNING token, attempts",
        )
        .db()?
        .query_row(
            params![
                ask.delivery.as_str(),
                now_ms / 1000,
                ask.kind,
                ask.fact.as_ref().map(FactKey::as_str),
                now_ms.saturating_add(ttl_millis(ask.ttl))
            ],
            |row| Ok((token_at(row, 0)?, row.get::<_, u32>(1)?)),
        )
        .db()?;
    if let Some(fact) = &ask.fact {
        conn.prepare_cached(
            "INSERT INTO wechatpay_notify_facts (fact, owner) VALUES (?1, ?2)
             ON CONFLICT (fact) DO UPDATE SET owner = excluded.owner
             WHERE owner <> excluded.owner",
        )
        .db()?
        .execute(params![fact.as_str(), ask.delivery.as_str()])
        .db()?;
    }
    Ok(Claim::New(Lease {
        delivery: ask.delivery.clone(),
        fact: ask.fact.clone(),
        token: crate::ledger::FencingToken(token),
        ttl: ask.ttl,
        attempt,
    }))
}

/// Extends a current lease by its time to live.
pub(super) fn renew(conn: &Connection, lease: &Lease, now_ms: i64) -> Result<(), LedgerError> {
    match current(conn, lease)? {
        Some(s) if s.status == Status::InProgress => {
            conn.prepare_cached(
                "UPDATE wechatpay_notify_deliveries SET lease_until_ms = ?2 WHERE delivery = ?1",
            )
            .db()?
            .execute(params![
                lease.delivery.as_str(),
                now_ms.saturating_add(ttl_millis(lease.ttl))
            ])
            .db()?;
            Ok(())
        }
        _ => Err(LedgerError::stale(lease)),
    }
}

/// Records how a claimed delivery ended, if `lease` is current.
pub(super) fn complete(
    conn: &Connection,
    lease: &Lease,
    completion: &Completion,
    now_ms: i64,
) -> Result<(), LedgerError> {
    match current(conn, lease)? {
        Some(s) if s.status == Status::InProgress => {
            conn.prepare_cached(
                "UPDATE wechatpay_notify_deliveries
                 SET status = ?2, reason = ?3, reply = ?4, updated_at = ?5, lease_until_ms = 0
                 WHERE delivery = ?1",
            )
            .db()?
            .execute(params![
                lease.delivery.as_str(),
                completion.status().as_str(),
                completion.reason(),
                completion.reply(),
                now_ms / 1000
            ])
            .db()?;
            Ok(())
        }
        Some(s) if s.status == Status::Done && completion.status() == Status::Done => Ok(()),
        _ => Err(LedgerError::stale(lease)),
    }
}

/// The columns [`record_from`] reads, in its order.
const RECORD_COLUMNS: &str =
    "delivery, kind, fact, status, token, attempts, reason, reply, updated_at";

/// One delivery's record.
pub(super) fn record(
    conn: &Connection,
    delivery: &DeliveryKey,
) -> Result<Option<Record>, LedgerError> {
    conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM wechatpay_notify_deliveries WHERE delivery = ?1"
    ))
    .db()?
    .query_row([delivery.as_str()], record_from)
    .optional()
    .db()
}

/// Up to `limit` records with `status`, oldest update first.
pub(super) fn list(
    conn: &Connection,
    status: Status,
    limit: usize,
) -> Result<Vec<Record>, LedgerError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM wechatpay_notify_deliveries
         WHERE status = ?1 ORDER BY updated_at, delivery LIMIT ?2"
    ))
    .db()?
    .query_map(params![status.as_str(), limit], record_from)
    .db()?
    .collect::<rusqlite::Result<_>>()
    .db()
}

/// The stored request of one delivery.
pub(super) fn request(
    conn: &Connection,
    delivery: &DeliveryKey,
) -> Result<Option<StoredRequest>, LedgerError> {
    conn.prepare_cached(
        "SELECT received_at, format, headers, body FROM wechatpay_notify_requests
         WHERE delivery = ?1",
    )
    .db()?
    .query_row([delivery.as_str()], |row| {
        let headers: String = row.get(2)?;
        Ok(StoredRequest {
            delivery: delivery.clone(),
            received_at: row.get(0)?,
            format: row.get(1)?,
            headers: serde_json::from_str(&headers)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, Type::Text, e.into()))?,
            body: row.get(3)?,
        })
    })
    .optional()
    .db()
}

/// Removes the records with one of `statuses` updated before `before` (Unix seconds), with
/// their requests and the facts they own.
pub(super) fn purge(
    conn: &Connection,
    before: i64,
    statuses: &[Status],
) -> Result<u64, LedgerError> {
    const PURGED: &str =
        "SELECT delivery FROM wechatpay_notify_deliveries WHERE status = ?1 AND updated_at < ?2";
    let mut gone = 0;
    for status in statuses {
        let args = params![status.as_str(), before];
        conn.prepare_cached(&format!(
            "DELETE FROM wechatpay_notify_requests WHERE delivery IN ({PURGED})"
        ))
        .db()?
        .execute(args)
        .db()?;
        conn.prepare_cached(&format!(
            "DELETE FROM wechatpay_notify_facts WHERE owner IN ({PURGED})"
        ))
        .db()?
        .execute(args)
        .db()?;
        gone += conn
            .prepare_cached(
                "DELETE FROM wechatpay_notify_deliveries WHERE status = ?1 AND updated_at < ?2",
            )
            .db()?
            .execute(args)
            .db()? as u64;
    }
    Ok(gone)
}

/// Creates a delivery's record, `received`, unless it has one.
fn ensure_record(
    conn: &Connection,
    delivery: &DeliveryKey,
    now_ms: i64,
) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "INSERT INTO wechatpay_notify_deliveries
             (delivery, status, token, attempts, updated_at, lease_until_ms)
         VALUES (?1, 'received', 0, 0, ?2, 0) ON CONFLICT (delivery) DO NOTHING",
    )
    .db()?
    .execute(params![delivery.as_str(), now_ms / 1000])
    .db()?;
    Ok(())
}

/// What claims and completions read of a delivery.
struct Standing {
    status: Status,
    token: u64,
    reply: Option<String>,
    lease_until_ms: i64,
}

impl Standing {
    fn holds_lease(&self, now_ms: i64) -> bool {
        self.status == Status::InProgress && self.lease_until_ms > now_ms
    }
}

fn standing(conn: &Connection, delivery: &DeliveryKey) -> Result<Option<Standing>, LedgerError> {
    conn.prepare_cached(
        "SELECT status, token, reply, lease_until_ms FROM wechatpay_notify_deliveries
         WHERE delivery = ?1",
    )
    .db()?
    .query_row([delivery.as_str()], |row| {
        Ok(Standing {
            status: status_at(row, 0)?,
            token: token_at(row, 1)?,
            reply: row.get(2)?,
            lease_until_ms: row.get(3)?,
        })
    })
    .optional()
    .db()
}

/// The delivery that claimed `fact` last.
fn owner_of(conn: &Connection, fact: &FactKey) -> Result<Option<DeliveryKey>, LedgerError> {
    conn.prepare_cached("SELECT owner FROM wechatpay_notify_facts WHERE fact = ?1")
        .db()?
        .query_row([fact.as_str()], |row| {
            row.get::<_, String>(0).map(DeliveryKey::from_stored)
        })
        .optional()
        .db()
}

/// The lease's standing, if the lease is current: its token is the delivery's latest, and no
/// other delivery has since taken its fact over.
fn current(conn: &Connection, lease: &Lease) -> Result<Option<Standing>, LedgerError> {
    if let Some(fact) = &lease.fact
        && owner_of(conn, fact)?.as_ref() != Some(&lease.delivery)
    {
        return Ok(None);
    }
    Ok(standing(conn, &lease.delivery)?.filter(|s| s.token == lease.token.0))
}

/// A record from a row of [`RECORD_COLUMNS`].
fn record_from(row: &Row<'_>) -> rusqlite::Result<Record> {
    Ok(Record {
        delivery: DeliveryKey::from_stored(row.get::<_, String>(0)?),
        kind: row.get(1)?,
        fact: row.get::<_, Option<String>>(2)?.map(FactKey::from_stored),
        status: status_at(row, 3)?,
        token: crate::ledger::FencingToken(token_at(row, 4)?),
        attempts: row.get(5)?,
        reason: row.get(6)?,
        reply: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

/// A status column; a name this version does not know is a conversion failure (`Corrupt`).
fn status_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Status> {
    let text: String = row.get(index)?;
    Status::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            format!("unknown status {text:?}").into(),
        )
    })
}

/// A token column (SQLite integers are signed; a negative token is a conversion failure).
fn token_at(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(index)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(index, value))
}
