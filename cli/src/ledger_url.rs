//! `--ledger URL`: which ledger backend `serve` and `replay` use.

use std::sync::Arc;

use wechatpay_notify::ledger::Ledger;
use wechatpay_notify::ledger::memory::MemoryLedger;
use wechatpay_notify::ledger::redis::RedisLedger;

use crate::UsageError;

/// The default: a SQLite file in the working directory.
pub const DEFAULT: &str = "sqlite:wechatpay-notify.db";

/// Opens the ledger `url` names: `memory`, `sqlite:PATH`, `postgres://…`, `redis://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Ledger>, UsageError> {
    let fail = |e: &dyn std::fmt::Display| UsageError(format!("--ledger {url}: {e}"));
    if url == "memory" {
        return Ok(Arc::new(MemoryLedger::new()));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        // Connects lazily: a Redis that is down at start answers 503 per request until it is back.
        return Ok(Arc::new(RedisLedger::new(url).map_err(|e| fail(&e))?));
    }
    Err(UsageError(format!(
        "--ledger {url}: expected memory, sqlite:PATH, postgres://… or redis://…"
    )))
}
