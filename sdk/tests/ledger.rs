//! The memory ledger against the conformance suite and the exactly-once scenarios; the other
//! backends have a file each (`ledger_sqlite.rs`, `ledger_postgres.rs`, `ledger_redis.rs`).
#![cfg(feature = "testkit")]

use std::sync::Arc;

use wechatpay_notify::ledger::conformance;
use wechatpay_notify::ledger::memory::MemoryLedger;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_ledger_conforms() {
    let ledger = Arc::new(MemoryLedger::new());
    conformance::check_all(ledger.clone(), ledger).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_ledger_processes_once() {
    let ledger = Arc::new(MemoryLedger::new());
    wechatpay_notify::ledger::exactly_once::check_all(ledger.clone(), ledger).await;
}
