//! Every ledger backend against the conformance suite. The PostgreSQL and Redis backends run
//! against the servers `WECHATPAY_NOTIFY_TEST_PG` and `WECHATPAY_NOTIFY_TEST_REDIS` name.
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

/// The PostgreSQL ledger, against the server `WECHATPAY_NOTIFY_TEST_PG` names (skipped, saying
/// so, when it is unset), each test in a schema of its own, dropped when the test ends.
#[cfg(feature = "postgres")]
mod postgres {
    use std::sync::Arc;
    use std::time::Duration;

    use wechatpay_notify::error::HandlerError;
    use wechatpay_notify::generated::kinds::RefundSuccess;
    use wechatpay_notify::keys::ApiV3Key;
    use wechatpay_notify::ledger::postgres::{PgLedger, PgOptions};
    use wechatpay_notify::ledger::{
        Claim, ClaimRequest, Completion, DeliveryKey, FactKey, Lease, Ledger, LedgerError, Status,
        conformance, exactly_once,
    };
    use wechatpay_notify::testkit::{SignedRequest, TestSigner, V3RequestBuilder};
    use wechatpay_notify::time::FixedClock;
    use wechatpay_notify::v3::Verifier;
    use wechatpay_notify::{Delivery, Dispatcher, ErrorKind, Receiver, Service};

    const NOW: i64 = 1_700_000_000;

    /// The test server's URL; `None` (the test is skipped) when none is configured, unless
    /// services are required.
    fn server(test: &str) -> Option<String> {
        match std::env::var("WECHATPAY_NOTIFY_TEST_PG") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("WECHATPAY_NOTIFY_REQUIRE_SERVICES").as_deref() == Ok("1") => {
                panic!(
                    "{test}: WECHATPAY_NOTIFY_REQUIRE_SERVICES=1 but WECHATPAY_NOTIFY_TEST_PG is unset"
                )
            }
            _ => {
                eprintln!(
                    "SKIPPED: {test}: WECHATPAY_NOTIFY_TEST_PG is unset \
                     (e.g. postgres://postgres@127.0.0.1:5432/test)"
                );
                None
            }
        }
    }

    /// A schema of one test's own, dropped when the test ends, passed or failed.
    struct Scratch {
        url: String,
        schema: String,
    }

    impl Scratch {
        fn new(url: String) -> Self {
            let id: [u8; 8] = wechatpay_notify::crypto::random_bytes();
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            Scratch {
                url,
                schema: format!("wechatpay_notify_test_{hex}"),
            }
        }

        /// A ledger on the scratch schema, with its own pool: another instance.
        fn ledger(&self) -> Arc<PgLedger> {
            let options = PgOptions::default().with_wait_timeout(Duration::from_secs(30));
            Arc::new(PgLedger::with_options(&self.url, &self.schema, &options).expect("ledger"))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let (url, schema) = (self.url.clone(), self.schema.clone());
            // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its
            // own, with a runtime of its own.
            let dropped = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(async {
                        let (client, connection) =
                            tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                        tokio::spawn(connection);
                        client
                            .batch_execute(&format!(
                                "SET lock_timeout = '30s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
                            ))
                            .await
                    })
            })
            .join();
            match dropped {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("could not drop schema {}: {e}", self.schema),
                Err(_) => eprintln!(
                    "could not drop schema {}: the dropping thread panicked",
                    self.schema
                ),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pg_ledger_conforms() {
        let Some(url) = server("pg_ledger_conforms") else {
            return;
        };
        let scratch = Scratch::new(url);
        conformance::check_all(scratch.ledger(), scratch.ledger()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pg_ledger_processes_once() {
        let Some(url) = server("pg_ledger_processes_once") else {
            return;
        };
        let scratch = Scratch::new(url);
        exactly_once::check_all(scratch.ledger(), scratch.ledger()).await;
    }
}
