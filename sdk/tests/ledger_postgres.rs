//! The PostgreSQL ledger, against the server `WECHATPAY_NOTIFY_TEST_PG` names (skipped, saying
//! so, when it is unset), each test in a schema of its own, dropped when the test ends.
#![cfg(all(feature = "testkit", feature = "postgres"))]

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
use wechatpay_notify::service::ServiceConfig;
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

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";

fn signer() -> TestSigner {
    TestSigner::fixed(KEY_ID)
}

fn api_key() -> ApiV3Key {
    ApiV3Key::from_text("postgres-ledger-tests-apiv3-key!").expect("32 bytes")
}

fn receiver() -> Receiver {
    let verifier = Verifier::new(signer().keyring().expect("keyring")).with_clock(FixedClock(NOW));
    Receiver::with_verifier(verifier, api_key())
}

/// A signed REFUND.SUCCESS notification `id` of refund `out_refund_no`; `copy` varies the
/// signature as WeChat Pay's copies do.
fn refund(id: &str, out_refund_no: &str, copy: i64) -> SignedRequest {
    let plaintext = serde_json::json!({
        "mchid": "1900000100",
        "transaction_id": "1008450740201411110005820873",
        "out_trade_no": format!("T-{out_refund_no}"),
        "refund_id": "50200207182018070300011301001",
        "out_refund_no": out_refund_no,
        "refund_status": "SUCCESS",
        "amount": {"total": 999, "refund": 999, "payer_total": 999, "payer_refund": 999},
    });
    V3RequestBuilder::new("REFUND.SUCCESS", plaintext.to_string())
        .id(id)
        .timestamp(NOW + copy)
        .original_type("refund")
        .sign(&signer(), &api_key())
}

/// The fact of refund `out_refund_no`.
fn refund_fact(out_refund_no: &str) -> FactKey {
    FactKey::new(
        "REFUND.SUCCESS",
        &wechatpay_notify::catalogue::BusinessFact {
            merchant: Some("1900000100".into()),
            key: vec![out_refund_no.into()],
            state: None,
        },
    )
}

fn new_of(claim: Claim) -> Lease {
    match claim {
        Claim::New(lease) => lease,
        other => panic!("expected a new claim, got {other:?}"),
    }
}

/// The merchant's own table, `refunds`, in the scratch schema.
async fn merchant_table(ledger: &PgLedger) -> String {
    ledger.migrate().await.expect("ledger schema");
    let table = format!("{}.refunds", ledger.schema());
    let client = ledger.pool().get().await.expect("connection");
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (out_refund_no text PRIMARY KEY)"
        ))
        .await
        .expect("merchant table");
    table
}

/// What the merchant's table holds, as committed.
async fn committed_refunds(ledger: &PgLedger, table: &str) -> Vec<String> {
    let client = ledger.pool().get().await.expect("connection");
    client
        .query(
            &format!("SELECT out_refund_no FROM {table} ORDER BY 1"),
            &[],
        )
        .await
        .expect("merchant rows")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The merchant's handler: its insert and "done" in one transaction.
async fn insert_and_complete(
    inbox: &PgLedger,
    table: &str,
    lease: &Lease,
    out_refund_no: &str,
) -> Result<(), HandlerError> {
    let mut client = inbox.pool().get().await.map_err(HandlerError::failed)?;
    let tx = client.transaction().await.map_err(HandlerError::failed)?;
    tx.execute(
        &format!("INSERT INTO {table} (out_refund_no) VALUES ($1)"),
        &[&out_refund_no],
    )
    .await
    .map_err(HandlerError::failed)?;
    inbox
        .complete_in(&tx, lease, &Completion::Done { reply: None })
        .await
        .map_err(HandlerError::failed)?;
    tx.commit().await.map_err(HandlerError::failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_inbox_commits_the_handlers_writes_with_done() {
    let Some(url) = server("pg_inbox_commits_the_handlers_writes_with_done") else {
        return;
    };
    let scratch = Scratch::new(url);
    let ledger = scratch.ledger();
    let table = merchant_table(&ledger).await;
    let dispatcher = {
        let (inbox, table) = (ledger.clone(), table.clone());
        Dispatcher::new(receiver()).on(move |d: Delivery<RefundSuccess>| {
            let (inbox, table) = (inbox.clone(), table.clone());
            async move {
                let lease = d
                    .lease
                    .as_ref()
                    .ok_or_else(|| HandlerError::failed("no lease"))?;
                insert_and_complete(&inbox, &table, lease, &d.resource.out_refund_no).await
            }
        })
    };
    let service = Service::new(dispatcher, ledger.clone());

    let first = refund("EV-inbox", "R-inbox", 0);
    let outcome = service.handle(&first.headers, &first.body).await;
    assert_eq!(
        outcome.reply.status, 204,
        "the service's own completion after the handler's is accepted: {:?}",
        outcome.result
    );
    assert_eq!(service.counters().processed(), 1);
    assert_eq!(committed_refunds(&ledger, &table).await, ["R-inbox"]);
    let record = ledger
        .record(&DeliveryKey::v3("EV-inbox"))
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(record.status, Status::Done);
    assert_eq!(record.attempts, 1);

    // A copy is answered from the ledger: the handler (whose insert would now fail) does
    // not run again.
    let copy = refund("EV-inbox", "R-inbox", 1);
    let again = service.handle(&copy.headers, &copy.body).await;
    assert_eq!(again.reply.status, 204, "{:?}", again.result);
    assert_eq!(service.counters().duplicates(), 1);
    assert_eq!(committed_refunds(&ledger, &table).await, ["R-inbox"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_inbox_transaction_outlasting_a_renewal_period() {
    let Some(url) = server("pg_inbox_transaction_outlasting_a_renewal_period") else {
        return;
    };
    let scratch = Scratch::new(url);
    let ledger = scratch.ledger();
    let table = merchant_table(&ledger).await;
    let ttl = Duration::from_millis(300);
    // The handler keeps its transaction open, the delivery's row locked by "done", across
    // the service's renewal (every third of the lease): the renewal waits for the
    // merchant's commit, and the handler must still be driven meanwhile.
    let dispatcher = {
        let (inbox, table) = (ledger.clone(), table.clone());
        Dispatcher::new(receiver()).on(move |d: Delivery<RefundSuccess>| {
            let (inbox, table) = (inbox.clone(), table.clone());
            async move {
                let lease = d
                    .lease
                    .as_ref()
                    .ok_or_else(|| HandlerError::failed("no lease"))?;
                let mut client = inbox.pool().get().await.map_err(HandlerError::failed)?;
                let tx = client.transaction().await.map_err(HandlerError::failed)?;
                inbox
                    .complete_in(&tx, lease, &Completion::Done { reply: None })
                    .await
                    .map_err(HandlerError::failed)?;
                tokio::time::sleep(ttl).await;
                tx.execute(
                    &format!("INSERT INTO {table} (out_refund_no) VALUES ($1)"),
                    &[&d.resource.out_refund_no],
                )
                .await
                .map_err(HandlerError::failed)?;
                tx.commit().await.map_err(HandlerError::failed)
            }
        })
    };
    let config = ServiceConfig::default().with_lease_ttl(ttl);
    let service = Service::new(dispatcher, ledger.clone()).with_config(config);
    let req = refund("EV-long-tx", "R-long-tx", 0);
    // A bound far above the handler's time: it fails only if the service hangs.
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        service.handle(&req.headers, &req.body),
    )
    .await
    .expect("the service hung: a renewal waited for the handler's transaction, undriven");
    assert_eq!(outcome.reply.status, 204, "{:?}", outcome.result);
    assert_eq!(committed_refunds(&ledger, &table).await, ["R-long-tx"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_inbox_refuses_a_stale_lease_and_nothing_commits() {
    let Some(url) = server("pg_inbox_refuses_a_stale_lease_and_nothing_commits") else {
        return;
    };
    let scratch = Scratch::new(url);
    let (a, b) = (scratch.ledger(), scratch.ledger());
    let table = merchant_table(&a).await;
    let ttl = Duration::from_millis(300);
    let ask = |delivery: &str, refund: &str| ClaimRequest {
        delivery: DeliveryKey::v3(delivery),
        fact: Some(refund_fact(refund)),
        kind: Some("REFUND.SUCCESS".into()),
        ttl,
    };
    // Taken over two ways: the same delivery after expiry, and another delivery of the
    // same fact after expiry.
    for (name, late_delivery) in [("R-expired", "EV-expired"), ("R-refact", "EV-refact-2")] {
        let early = ask(&format!("EV-{}", &name[2..]), name);
        let old = new_of(a.claim(&early).await.unwrap());
        tokio::time::sleep(ttl + Duration::from_millis(300)).await;
        let new = new_of(b.claim(&ask(late_delivery, name)).await.unwrap());

        match insert_and_complete(&a, &table, &old, name).await {
            Err(HandlerError::Failed(e)) => assert!(
                matches!(
                    e.downcast_ref::<LedgerError>(),
                    Some(LedgerError::Stale { .. })
                ),
                "{name}: the stale lease is refused inside the transaction: {e}"
            ),
            other => panic!("{name}: the stale lease completed: {other:?}"),
        }
        assert!(
            committed_refunds(&a, &table)
                .await
                .iter()
                .all(|r| r != name),
            "{name}: the merchant's write was rolled back with the refusal"
        );
        let record = b.record(&new.delivery).await.unwrap().expect("recorded");
        assert_eq!(record.status, Status::InProgress, "{name}");
        assert_eq!(record.token, new.token, "{name}");

        // The current holder commits; the service's completion after it is accepted; the
        // old lease stays refused.
        insert_and_complete(&b, &table, &new, name)
            .await
            .expect("current lease");
        assert!(
            committed_refunds(&b, &table)
                .await
                .iter()
                .any(|r| r == name)
        );
        b.complete(&new, &Completion::Done { reply: None })
            .await
            .expect("done twice under one lease");
        assert!(matches!(
            a.complete(&old, &Completion::Done { reply: None }).await,
            Err(LedgerError::Stale { .. })
        ));
        let record = a.record(&new.delivery).await.unwrap().expect("recorded");
        assert_eq!(record.status, Status::Done, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_inbox_done_rolls_back_with_the_merchants_transaction() {
    let Some(url) = server("pg_inbox_done_rolls_back_with_the_merchants_transaction") else {
        return;
    };
    let scratch = Scratch::new(url);
    let (a, b) = (scratch.ledger(), scratch.ledger());
    let table = merchant_table(&a).await;
    let ask = ClaimRequest {
        delivery: DeliveryKey::v3("EV-rollback"),
        fact: None,
        kind: Some("REFUND.SUCCESS".into()),
        ttl: Duration::from_secs(30),
    };
    let lease = new_of(a.claim(&ask).await.unwrap());
    {
        let mut client = a.pool().get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        tx.execute(&format!("INSERT INTO {table} VALUES ('R-rollback')"), &[])
            .await
            .unwrap();
        a.complete_in(&tx, &lease, &Completion::Done { reply: None })
            .await
            .expect("current lease");
        let seen = b.record(&ask.delivery).await.unwrap().expect("recorded");
        assert_eq!(
            seen.status,
            Status::InProgress,
            "done is not visible before the merchant commits"
        );
        tx.rollback().await.unwrap(); // the handler failed after all
    }
    let record = b.record(&ask.delivery).await.unwrap().expect("recorded");
    assert_eq!(
        record.status,
        Status::InProgress,
        "done rolled back with the merchant's write"
    );
    assert!(committed_refunds(&a, &table).await.is_empty());
    assert!(
        matches!(b.claim(&ask).await.unwrap(), Claim::Busy { .. }),
        "the lease is still held"
    );
    a.complete(
        &lease,
        &Completion::Failed {
            reason: "handler failed".into(),
        },
    )
    .await
    .expect("the lease is still current");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_instances_starting_together_create_the_schema_once() {
    let Some(url) = server("pg_instances_starting_together_create_the_schema_once") else {
        return;
    };
    let scratch = Scratch::new(url);
    let instances: Vec<Arc<PgLedger>> = (0..8).map(|_| scratch.ledger()).collect();
    let starts: Vec<_> = instances
        .iter()
        .map(|ledger| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.migrate().await })
        })
        .collect();
    for start in starts {
        start.await.expect("task").expect("every instance starts");
    }
    let client = instances[0].pool().get().await.unwrap();
    let versions: Vec<i32> = client
        .query(
            &format!("SELECT version FROM {}.schema_version", scratch.schema),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1], "one migration, applied once");

    // A schema a newer build has migrated is refused, not misread.
    client
        .execute(
            &format!(
                "INSERT INTO {}.schema_version (version) VALUES (2)",
                scratch.schema
            ),
            &[],
        )
        .await
        .unwrap();
    match scratch.ledger().migrate().await {
        Err(LedgerError::Corrupt(why)) => assert!(why.contains("version 2"), "{why}"),
        other => panic!("a newer schema: expected corrupt, got {other:?}"),
    }
}

/// Each of 40 facts claimed at once under four notification ids, across two instances:
/// how many claims won, per fact.
async fn race_for_facts(
    a: &Arc<PgLedger>,
    b: &Arc<PgLedger>,
    round: &str,
    ttl: Duration,
) -> std::collections::HashMap<FactKey, usize> {
    let mut tasks = Vec::new();
    for n in 0..40 {
        for id in 0..4 {
            let ledger = if id % 2 == 0 { a.clone() } else { b.clone() };
            let ask = ClaimRequest {
                delivery: DeliveryKey::v3(&format!("EV-fact-{round}-{n}-{id}")),
                fact: Some(refund_fact(&format!("R-fact-{n}"))),
                kind: Some("REFUND.SUCCESS".into()),
                ttl,
            };
            tasks.push(tokio::spawn(async move { ledger.claim(&ask).await }));
        }
    }
    let mut winners = std::collections::HashMap::new();
    for task in tasks {
        match task.await.expect("task").expect("claim") {
            Claim::New(lease) => *winners.entry(lease.fact.expect("fact")).or_default() += 1,
            Claim::Busy { .. } => {}
            Claim::Done { by, .. } => panic!("{round}: nothing was done, but {by} is"),
        }
    }
    winners
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_one_winner_among_ids_of_one_fact() {
    let Some(url) = server("pg_one_winner_among_ids_of_one_fact") else {
        return;
    };
    let scratch = Scratch::new(url);
    let (a, b) = (scratch.ledger(), scratch.ledger());
    a.migrate().await.unwrap();
    let ttl = Duration::from_millis(500);
    // New facts; then the same facts, their holders' leases expired, taken over.
    for round in ["new", "expired"] {
        let winners = race_for_facts(&a, &b, round, ttl).await;
        assert_eq!(winners.len(), 40, "{round}: every fact claimed");
        let shared: Vec<usize> = winners.values().copied().filter(|&n| n != 1).collect();
        assert!(
            shared.is_empty(),
            "{round}: one winner per fact; some had {shared:?}"
        );
        tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_operation_past_its_timeout_is_cancelled() {
    let Some(url) = server("pg_operation_past_its_timeout_is_cancelled") else {
        return;
    };
    let scratch = Scratch::new(url);
    let b = scratch.ledger();
    let a = PgLedger::with_options(&scratch.url, &scratch.schema, &PgOptions::default())
        .unwrap()
        .with_operation_timeout(Duration::from_millis(300));
    let ttl = Duration::from_millis(200);
    let ask = ClaimRequest {
        delivery: DeliveryKey::v3("EV-timeout"),
        fact: None,
        kind: None,
        ttl,
    };
    let lease = new_of(b.claim(&ask).await.unwrap());
    let mut client = b.pool().get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    b.complete_in(&tx, &lease, &Completion::Done { reply: None })
        .await
        .unwrap(); // the delivery's row is locked until `tx` ends
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    // A bound far above the operation timeout: it fails only if the claim hangs.
    let answer = tokio::time::timeout(Duration::from_secs(60), a.claim(&ask))
        .await
        .expect("the claim hung behind the lock");
    assert!(
        matches!(answer, Err(LedgerError::Unavailable(_))),
        "a claim past its timeout is unavailable: {answer:?}"
    );
    // The server stops the statement: no claim is left waiting for the lock. (Asked
    // outside `tx`: a transaction sees one snapshot of pg_stat_activity.)
    let waiting = format!("%{}.claim(%", scratch.schema);
    let watcher = b.pool().get().await.unwrap();
    let mut stopped = false;
    for _ in 0..300 {
        let rows = watcher
            .query(
                "SELECT 1 FROM pg_stat_activity \
                 WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
                &[&waiting],
            )
            .await
            .unwrap();
        if rows.is_empty() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stopped, "the timed-out claim still waits on the server");
    tx.rollback().await.unwrap();
    // Had the timed-out claim gone on waiting, it would have taken the expired lease over
    // as soon as the lock went: it was stopped, so this claim is the one that does.
    let next = new_of(b.claim(&ask).await.unwrap());
    assert_eq!(next.attempt, 2, "the cancelled claim took nothing");
    assert!(
        a.record(&ask.delivery).await.unwrap().is_some(),
        "the ledger answers again after dropping the connection"
    );
}

/// A local port where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn ledger_at(port: u16, connect_timeout: Duration) -> Arc<PgLedger> {
    let options = PgOptions::default().with_connect_timeout(connect_timeout);
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    Arc::new(PgLedger::with_options(&url, PgLedger::DEFAULT_SCHEMA, &options).expect("ledger"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_unreachable_ledger_answers_503_and_runs_nothing() {
    let ledger = ledger_at(closed_port(), Duration::from_secs(5));
    let ask = ClaimRequest {
        delivery: DeliveryKey::v3("EV-unreachable"),
        fact: None,
        kind: None,
        ttl: Duration::from_secs(30),
    };
    assert!(
        matches!(ledger.claim(&ask).await, Err(LedgerError::Unavailable(_))),
        "a refused connection is unavailable"
    );
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let dispatcher = {
        let runs = runs.clone();
        Dispatcher::new(receiver()).on(move |_: Delivery<RefundSuccess>| {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok(()) }
        })
    };
    let service = Service::new(dispatcher, ledger);
    let req = refund("EV-unreachable", "R-unreachable", 0);
    let outcome = service.handle(&req.headers, &req.body).await;
    assert_eq!(outcome.reply.status, 503, "{:?}", outcome.result);
    let kind = outcome.result.as_ref().unwrap_err().kind();
    assert_eq!(kind, ErrorKind::LedgerUnavailable);
    assert_eq!(kind.as_str(), "ledger_unavailable");
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the handler never ran"
    );
    assert_eq!(service.counters().ledger_errors(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_silent_server_is_unavailable_not_hung() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let ledger = ledger_at(port, Duration::from_millis(300));
    let ask = ClaimRequest {
        delivery: DeliveryKey::v3("EV-silent"),
        fact: None,
        kind: None,
        ttl: Duration::from_secs(30),
    };
    // A bound far above the configured timeout: it fails only if the claim hangs.
    let answer = tokio::time::timeout(Duration::from_secs(60), ledger.claim(&ask))
        .await
        .expect("the claim hung on a silent server");
    assert!(
        matches!(answer, Err(LedgerError::Unavailable(_))),
        "a silent server is unavailable: {answer:?}"
    );
    silent.abort();
}

/// Claims and completions per second, 64 tasks on distinct keys: a measurement to run by
/// hand, in release (`WECHATPAY_NOTIFY_PG_POOL` sets the pool size, 16 by default):
/// `cargo test --release -p wechatpay-notify --features testkit,postgres --test ledger_postgres
/// pg_throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run by hand in release"]
async fn pg_throughput() {
    const TASKS: usize = 64;
    const PER_TASK: usize = 300;
    let Some(url) = server("pg_throughput") else {
        return;
    };
    let pool_size = std::env::var("WECHATPAY_NOTIFY_PG_POOL")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(16);
    let scratch = Scratch::new(url);
    let options = PgOptions::default()
        .with_pool_size(pool_size)
        .with_wait_timeout(Duration::from_secs(60));
    let ledger = Arc::new(PgLedger::with_options(&scratch.url, &scratch.schema, &options).unwrap());
    ledger.migrate().await.unwrap();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for n in 0..PER_TASK {
                    let ask = ClaimRequest {
                        delivery: DeliveryKey::v3(&format!("EV-bench-{t}-{n}")),
                        fact: Some(refund_fact(&format!("R-bench-{t}-{n}"))),
                        kind: Some("REFUND.SUCCESS".into()),
                        ttl: Duration::from_secs(30),
                    };
                    let lease = new_of(ledger.claim(&ask).await.unwrap());
                    ledger
                        .complete(&lease, &Completion::Done { reply: None })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let operations = (2 * TASKS * PER_TASK) as f64;
    eprintln!(
        "pg_throughput: {TASKS} tasks, pool of {pool_size}: {} claims + {} completions in \
         {elapsed:.2} s = {:.0} operations/s ({:.0} notifications/s)",
        TASKS * PER_TASK,
        TASKS * PER_TASK,
        operations / elapsed,
        operations / elapsed / 2.0,
    );
}
