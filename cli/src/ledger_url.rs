//! `--ledger URL`: which ledger backend `serve` and `replay` use.

use std::sync::Arc;

use wechatpay_notify::ledger::Ledger;
use wechatpay_notify::ledger::memory::MemoryLedger;
use wechatpay_notify::ledger::postgres::PgLedger;
use wechatpay_notify::ledger::redis::RedisLedger;
use wechatpay_notify::ledger::sqlite::SqliteLedger;

use crate::UsageError;

/// The default: a SQLite file in the working directory.
pub const DEFAULT: &str = "sqlite:wechatpay-notify.db";

/// The PostgreSQL schema the ledger's tables live in, unless the URL says `?schema=NAME`.
pub const PG_SCHEMA: &str = "wechatpay_notify";

/// Takes a `schema=NAME` query parameter out of a PostgreSQL URL (the driver would refuse it).
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| match p.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => true,
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, schema)
}

/// Opens the ledger `url` names: `memory`, `sqlite:PATH[?synchronous=full|normal…]`, `postgres://…[?schema=NAME]`,
/// `redis://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Ledger>, UsageError> {
    let fail = |e: &dyn std::fmt::Display| UsageError(format!("--ledger {url}: {e}"));
    if url == "memory" {
        return Ok(Arc::new(MemoryLedger::new()));
    }
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(SqliteLedger::open_url(url).map_err(|e| fail(&e))?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (url, schema) = split_schema(url);
        let ledger =
            PgLedger::new(&url, schema.as_deref().unwrap_or(PG_SCHEMA)).map_err(|e| fail(&e))?;
        // Tables are created now where the database is up; where it is not, requests are
        // answered 503 until it is, and the tables are created on first use.
        if let Err(e) = ledger.migrate().await {
            tracing::warn!(error = %e, "the ledger database is not reachable yet");
        }
        return Ok(Arc::new(ledger));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        // Connects lazily: a Redis that is down at start answers 503 per request until it is back.
        return Ok(Arc::new(RedisLedger::new(url).map_err(|e| fail(&e))?));
    }
    Err(UsageError(format!(
        "--ledger {url}: expected memory, sqlite:PATH, postgres://… or redis://…"
    )))
}

#[cfg(test)]
mod tests {
    use super::split_schema;

    #[test]
    fn the_schema_parameter_is_taken_out() {
        assert_eq!(
            split_schema("postgres://h/db"),
            ("postgres://h/db".into(), None)
        );
        assert_eq!(
            split_schema("postgres://h/db?schema=s1&sslmode=disable"),
            ("postgres://h/db?sslmode=disable".into(), Some("s1".into()))
        );
        assert_eq!(
            split_schema("postgres://h/db?schema=s1"),
            ("postgres://h/db".into(), Some("s1".into()))
        );
    }
}
