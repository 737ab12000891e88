//! What the PostgreSQL ledger keeps in its schema: the tables, the server-side functions that
//! make each operation one atomic call, the version marker, and the statements that use them.
//!
//! # Tables
//!
//! - `deliveries`: one row per delivery: its record (status, token, attempts, reason, reply,
//!   `updated_at`) and its lease (`lease_until`, on the server's clock).
//! - `requests`: the first stored copy of each delivery's request.
//! - `facts`: each business fact's owner, the delivery that claimed it last.
//! - `schema_version`: one row per applied migration; the highest is the schema's version.
//!
//! Requests and facts go with their delivery (`ON DELETE CASCADE`), so a purge is one
//! `DELETE`.
//!
//! # Locks
//!
//! `claim`, `renew` and `complete` lock the delivery's row first, then the fact's row; a claim
//! reads the fact owner's row without locking it (the fact's row lock already orders it against
//! that owner's renewals and completions). One order everywhere: concurrent calls queue, and
//! never deadlock.

use tokio_postgres::GenericClient;

use crate::ledger::LedgerError;

/// The version this build writes and reads. A schema at a higher version was made by a newer
/// build: it is refused ([`LedgerError::Corrupt`]) rather than misread.
pub(super) const VERSION: i32 = 1;

/// The migrations, in order: `MIGRATIONS[n]` takes a schema from version `n` to `n + 1`.
/// `{schema}` stands for the schema's name.
const MIGRATIONS: [&str; VERSION as usize] = [MIGRATION_1];

const MIGRATION_1: &str = r#"
CREATE TABLE {schema}.deliveries (
    delivery    text PRIMARY KEY,
    kind        text,
    fact        text,
    status      text NOT NULL,
    token       bigint NOT NULL DEFAULT 0,
    attempts    integer NOT NULL DEFAULT 0,
    reason      text,
    reply       text,
    lease_until timestamptz,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX deliveries_by_status ON {schema}.deliveries (status, updated_at, delivery);

CREATE TABLE {schema}.requests (
    delivery      text PRIMARY KEY REFERENCES {schema}.deliveries ON DELETE CASCADE,
    received_at   bigint NOT NULL,
    format        text NOT NULL,
    header_names  text[] NOT NULL,
    header_values text[] NOT NULL,
    body          bytea NOT NULL
);

CREATE TABLE {schema}.facts (
    fact  text PRIMARY KEY,
    owner text NOT NULL REFERENCES {schema}.deliveries ON DELETE CASCADE
);
CREATE INDEX facts_by_owner ON {schema}.facts (owner);

-- Claims a delivery (and its fact): 'new' with the lease's token and attempt, 'done' with the
-- delivery that did it and its reply, or 'busy' with the holder. See memory.rs for the
-- reference semantics, step by step.
CREATE FUNCTION {schema}.claim(
    p_delivery text, p_fact text, p_kind text, p_ttl_ms bigint,
    OUT o_outcome text, OUT o_who text, OUT o_reply text, OUT o_token bigint, OUT o_attempts integer)
LANGUAGE plpgsql AS $fn$
DECLARE
    mine {schema}.deliveries%ROWTYPE;
    other {schema}.deliveries%ROWTYPE;
    owner_key text;
    fact_created boolean := false;
    t timestamptz;
BEGIN
    INSERT INTO {schema}.deliveries AS d (delivery, status, updated_at)
        VALUES (p_delivery, 'received', clock_timestamp())
        ON CONFLICT (delivery) DO NOTHING;
    SELECT * INTO mine FROM {schema}.deliveries d WHERE d.delivery = p_delivery FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        -- Purged between the insert and the lock: the caller may try again.
        RAISE EXCEPTION 'delivery % was purged while being claimed', p_delivery
            USING ERRCODE = 'serialization_failure';
    END IF;
    IF mine.status = 'done' THEN
        o_outcome := 'done'; o_who := p_delivery; o_reply := mine.reply;
        RETURN;
    END IF;
    IF p_fact IS NOT NULL THEN
        INSERT INTO {schema}.facts AS f (fact, owner) VALUES (p_fact, p_delivery)
            ON CONFLICT (fact) DO NOTHING;
        fact_created := FOUND;
        SELECT f.owner INTO owner_key FROM {schema}.facts f WHERE f.fact = p_fact FOR UPDATE;
    END IF;
    -- Now, on the server's clock, once every lock is held.
    t := clock_timestamp();
    IF owner_key IS NOT NULL AND owner_key <> p_delivery THEN
        SELECT * INTO other FROM {schema}.deliveries d WHERE d.delivery = owner_key;
        IF other.status = 'done' THEN
            UPDATE {schema}.deliveries d
                SET status = 'done', reason = 'duplicate of ' || owner_key, reply = other.reply,
                    fact = p_fact, updated_at = t
                WHERE d.delivery = p_delivery;
            o_outcome := 'done'; o_who := owner_key; o_reply := other.reply;
            RETURN;
        ELSIF other.status = 'in_progress' AND other.lease_until > t THEN
            o_outcome := 'busy'; o_who := owner_key;
            RETURN;
        END IF;
    END IF;
    IF mine.status = 'in_progress' AND mine.lease_until > t THEN
        IF fact_created THEN
            DELETE FROM {schema}.facts f WHERE f.fact = p_fact;
        END IF;
        o_outcome := 'busy'; o_who := p_delivery;
        RETURN;
    END IF;
    UPDATE {schema}.deliveries d
        SET token = d.token + 1, attempts = d.attempts + 1, status = 'in_progress',
            kind = coalesce(p_kind, d.kind), fact = coalesce(p_fact, d.fact),
            lease_until = t + p_ttl_ms * interval '1 millisecond', updated_at = t
        WHERE d.delivery = p_delivery
        RETURNING d.token, d.attempts INTO o_token, o_attempts;
    IF owner_key IS NOT NULL AND owner_key <> p_delivery THEN
        UPDATE {schema}.facts f SET owner = p_delivery WHERE f.fact = p_fact;
    END IF;
    o_outcome := 'new'; o_who := p_delivery;
END
$fn$;

-- Whether the lease (delivery, token, fact) is current and the delivery in progress, with both
-- rows locked until the transaction ends.
CREATE FUNCTION {schema}.lock_current(p_delivery text, p_token bigint, p_fact text)
RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    current_status text;
BEGIN
    SELECT d.status INTO current_status FROM {schema}.deliveries d
        WHERE d.delivery = p_delivery AND d.token = p_token FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_fact IS NOT NULL THEN
        PERFORM 1 FROM {schema}.facts f WHERE f.fact = p_fact AND f.owner = p_delivery FOR SHARE;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    RETURN current_status;
END
$fn$;

-- Extends a current lease by its time to live; false when the lease is not current.
CREATE FUNCTION {schema}.renew(p_delivery text, p_token bigint, p_fact text, p_ttl_ms bigint)
RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    IF {schema}.lock_current(p_delivery, p_token, p_fact) IS DISTINCT FROM 'in_progress' THEN
        RETURN false;
    END IF;
    UPDATE {schema}.deliveries d
        SET lease_until = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
        WHERE d.delivery = p_delivery;
    RETURN true;
END
$fn$;

-- Records how a claimed delivery ended; false when the lease is not current (or the delivery
-- already ended, unless both endings are 'done').
CREATE FUNCTION {schema}.complete(
    p_delivery text, p_token bigint, p_fact text, p_status text, p_reason text, p_reply text)
RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    current_status text := {schema}.lock_current(p_delivery, p_token, p_fact);
BEGIN
    IF current_status = 'in_progress' THEN
        UPDATE {schema}.deliveries d
            SET status = p_status, reason = p_reason, reply = p_reply, lease_until = NULL,
                updated_at = clock_timestamp()
            WHERE d.delivery = p_delivery;
        RETURN true;
    END IF;
    RETURN current_status IS NOT DISTINCT FROM 'done' AND p_status = 'done';
END
$fn$;
"#;

/// The columns of a record, in the order [`Statements::record`] and [`Statements::list`]
/// return them.
const RECORD_COLUMNS: &str = "delivery, kind, fact, status, token, attempts, reason, reply, \
                              floor(extract(epoch FROM updated_at))::bigint";

/// A schema name this backend accepts: lowercase ASCII letters, digits and `_`, starting with
/// a letter or `_`, at most 63 bytes (PostgreSQL's limit). Such a name needs no quoting.
pub(super) fn check_name(name: &str) -> Result<(), LedgerError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(LedgerError::unavailable(format!(
            "schema name {name:?} is not a lowercase identifier (a-z, 0-9, _; at most 63 bytes)"
        )))
    }
}

/// The statements of one schema, their text built once.
#[derive(Debug)]
pub(super) struct Statements {
    pub(super) store_request: String,
    pub(super) claim: String,
    pub(super) renew: String,
    pub(super) complete: String,
    pub(super) record: String,
    pub(super) list: String,
    pub(super) request: String,
    pub(super) purge: String,
}

impl Statements {
    /// The statements on schema `s` (a name [`check_name`] accepted).
    pub(super) fn new(s: &str) -> Self {
        Statements {
            // The delivery's row first (the request refers to it), in the same statement.
            store_request: format!(
                "WITH d AS (INSERT INTO {s}.deliveries (delivery, status, updated_at) \
                 VALUES ($1, 'received', clock_timestamp()) ON CONFLICT (delivery) DO NOTHING) \
                 INSERT INTO {s}.requests \
                 (delivery, received_at, format, header_names, header_values, body) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery) DO NOTHING"
            ),
            claim: format!(
                "SELECT o_outcome, o_who, o_reply, o_token, o_attempts \
                 FROM {s}.claim($1::text, $2::text, $3::text, $4::bigint)"
            ),
            renew: format!("SELECT {s}.renew($1::text, $2::bigint, $3::text, $4::bigint)"),
            complete: format!(
                "SELECT {s}.complete($1::text, $2::bigint, $3::text, $4::text, $5::text, $6::text)"
            ),
            record: format!("SELECT {RECORD_COLUMNS} FROM {s}.deliveries WHERE delivery = $1"),
            list: format!(
                "SELECT {RECORD_COLUMNS} FROM {s}.deliveries WHERE status = $1 \
                 ORDER BY updated_at, delivery LIMIT $2"
            ),
            request: format!(
                "SELECT received_at, format, header_names, header_values, body \
                 FROM {s}.requests WHERE delivery = $1"
            ),
            purge: format!(
                "WITH gone AS (DELETE FROM {s}.deliveries \
                 WHERE status = ANY($1::text[]) AND updated_at < to_timestamp($2::float8) \
                 RETURNING 1) SELECT count(*) FROM gone"
            ),
        }
    }
}

/// Brings schema `s` to [`VERSION`]: nothing when it is there already (one read); otherwise,
/// under an advisory lock (so instances starting together take turns), creates the schema and
/// applies the missing migrations in one transaction.
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Client,
    s: &str,
) -> Result<(), LedgerError> {
    if current_version(&***client, s).await? == Some(VERSION) {
        return Ok(());
    }
    let tx = client
        .transaction()
        .await
        .map_err(LedgerError::unavailable)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('wechatpay-notify ledger ' || $1::text, 0))",
        &[&s],
    )
    .await
    .map_err(LedgerError::unavailable)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE TABLE IF NOT EXISTS {s}.schema_version (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(LedgerError::unavailable)?;
    let from = current_version(&*tx, s).await?.unwrap_or(0);
    for (to, migration) in (from + 1..).zip(MIGRATIONS.iter().skip(from as usize)) {
        tx.batch_execute(&migration.replace("{schema}", s))
            .await
            .map_err(LedgerError::unavailable)?;
        tx.execute(
            &format!("INSERT INTO {s}.schema_version (version) VALUES ($1)"),
            &[&to],
        )
        .await
        .map_err(LedgerError::unavailable)?;
    }
    tx.commit().await.map_err(LedgerError::unavailable)
}

/// The schema's version: `None` when it has no version marker yet.
///
/// # Errors
/// [`LedgerError::Corrupt`] for a version newer than this build's.
async fn current_version(client: &impl GenericClient, s: &str) -> Result<Option<i32>, LedgerError> {
    let marker = format!("{s}.schema_version");
    let exists: bool = client
        .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&marker])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(LedgerError::unavailable)?;
    if !exists {
        return Ok(None);
    }
    let version: Option<i32> = client
        .query_one(&format!("SELECT max(version) FROM {marker}"), &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(LedgerError::unavailable)?;
    match version {
        Some(v) if !(0..=VERSION).contains(&v) => Err(LedgerError::Corrupt(format!(
            "schema {s} is at version {v}; this build reads versions up to {VERSION}"
        ))),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_need_no_quoting() {
        for good in ["wechatpay_notify", "_x", "a1", &"a".repeat(63)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1a",
            "Notify",
            "a-b",
            "a;drop",
            "a b",
            "\"a\"",
            &"a".repeat(64),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_version_has_its_migration() {
        assert_eq!(MIGRATIONS.len(), VERSION as usize);
        assert!(MIGRATIONS.iter().all(|m| m.contains("{schema}")));
    }
}
