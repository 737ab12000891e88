//! Rows read back from the PostgreSQL ledger, into the ledger's types. Anything this build
//! cannot read is [`LedgerError::Corrupt`], never a panic.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::ledger::{
    Claim, ClaimRequest, DeliveryKey, FactKey, FencingToken, Lease, LedgerError, Record, Status,
    StoredRequest,
};

/// Column `i` of `row`, or [`LedgerError::Corrupt`] naming it.
fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, LedgerError> {
    row.try_get(i).map_err(|e| {
        let column = row.columns().get(i).map_or("?", |c| c.name());
        LedgerError::Corrupt(format!("column {column}: {e}"))
    })
}

fn token(value: i64) -> Result<FencingToken, LedgerError> {
    u64::try_from(value)
        .map(FencingToken)
        .map_err(|_| LedgerError::Corrupt(format!("fencing token {value}")))
}

fn count(value: i32) -> Result<u32, LedgerError> {
    u32::try_from(value).map_err(|_| LedgerError::Corrupt(format!("attempt count {value}")))
}

/// The only row of a statement that returns one.
pub(super) fn only(rows: &[Row]) -> Result<&Row, LedgerError> {
    match rows {
        [row] => Ok(row),
        _ => Err(LedgerError::Corrupt(format!(
            "expected one row, got {}",
            rows.len()
        ))),
    }
}

/// A `claim(…)` call's answer: `o_outcome, o_who, o_reply, o_token, o_attempts`.
pub(super) fn claim(row: &Row, ask: &ClaimRequest) -> Result<Claim, LedgerError> {
    let who = || get::<&str>(row, 1).map(DeliveryKey::from_stored);
    match get::<&str>(row, 0)? {
        "new" => Ok(Claim::New(Lease {
            delivery: ask.delivery.clone(),
            fact: ask.fact.clone(),
            token: token(get(row, 3)?)?,
            ttl: ask.ttl,
            attempt: count(get(row, 4)?)?,
        })),
        "done" => Ok(Claim::Done {
            by: who()?,
            reply: get(row, 2)?,
        }),
        "busy" => Ok(Claim::Busy { holder: who()? }),
        other => Err(LedgerError::Corrupt(format!("claim answered {other:?}"))),
    }
}

/// A `renew(…)` or `complete(…)` call's answer: whether the lease was current.
pub(super) fn accepted(row: &Row) -> Result<bool, LedgerError> {
    get(row, 0)
}

/// A `count(*)`.
pub(super) fn count_of(row: &Row) -> Result<u64, LedgerError> {
    let n: i64 = get(row, 0)?;
    u64::try_from(n).map_err(|_| LedgerError::Corrupt(format!("count {n}")))
}

/// A record, as `RECORD_COLUMNS` lists its columns.
pub(super) fn record(row: &Row) -> Result<Record, LedgerError> {
    let status: &str = get(row, 3)?;
    Ok(Record {
        delivery: DeliveryKey::from_stored(get::<&str>(row, 0)?),
        kind: get(row, 1)?,
        fact: get::<Option<&str>>(row, 2)?.map(FactKey::from_stored),
        status: Status::parse(status)
            .ok_or_else(|| LedgerError::Corrupt(format!("status {status:?}")))?,
        token: token(get(row, 4)?)?,
        attempts: count(get(row, 5)?)?,
        reason: get(row, 6)?,
        reply: get(row, 7)?,
        updated_at: get(row, 8)?,
    })
}

/// A stored request: `received_at, format, header_names, header_values, body`.
pub(super) fn request(row: &Row, delivery: &DeliveryKey) -> Result<StoredRequest, LedgerError> {
    let names: Vec<String> = get(row, 2)?;
    let values: Vec<String> = get(row, 3)?;
    if names.len() != values.len() {
        return Err(LedgerError::Corrupt(format!(
            "request of {delivery}: {} header names, {} values",
            names.len(),
            values.len()
        )));
    }
    Ok(StoredRequest {
        delivery: delivery.clone(),
        received_at: get(row, 0)?,
        format: get(row, 1)?,
        headers: names.into_iter().zip(values).collect(),
        body: get(row, 4)?,
    })
}
