//! Exactly-once scenarios for a [`Service`] over any [`Ledger`], as two instances of a
//! merchant's service sharing one ledger would run them: many notifications delivered several
//! times at once across both, an instance that dies mid-handler, a ledger that fails.
//! `exactly_once::check_all(a, b).await`, with `a` and `b` two handles on one store;
//! `exactly_once::check_unreachable(ledger).await` with a handle on a backend that cannot be
//! reached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::{
    BoxFuture, Claim, ClaimRequest, Completion, DeliveryKey, Lease, Ledger, LedgerError, Record,
    Status, StoredRequest,
};
use crate::dispatch::{Delivery, Dispatcher};
use crate::generated::kinds::RefundSuccess;
use crate::keys::ApiV3Key;
use crate::service::{Service, ServiceConfig};
use crate::testkit::{SignedRequest, TestSigner, V3RequestBuilder};
use crate::time::FixedClock;
use crate::v3::Verifier;
use crate::{ErrorKind, Receiver};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const NOW: i64 = 1_700_000_000;

/// How many distinct notifications the concurrency scenario delivers.
pub const NOTIFICATIONS: usize = 200;
/// How many copies of each arrive at once.
pub const COPIES: usize = 4;

/// Runs every scenario; panics with what went wrong.
pub async fn check_all(a: Arc<dyn Ledger>, b: Arc<dyn Ledger>) {
    let kit = Kit::new();
    kit.every_handler_runs_once(a.clone(), b.clone()).await;
    kit.dead_instance_is_taken_over(a.clone(), b.clone()).await;
    kit.unavailable_ledger_records_nothing_done(a).await;
}

/// How long [`check_unreachable`] waits for an answer before calling it a hang: far beyond any
/// backend's connect and response timeouts (this bounds the test, it measures no speed).
const HANG: Duration = Duration::from_secs(60);

/// A ledger whose backend cannot be reached (a server that is down, or one that never
/// answers): every copy is answered 503 `ledger_unavailable` and the handler never runs.
/// Panics if an answer takes longer than a minute: the backend's own timeouts must bound
/// every call.
pub async fn check_unreachable(ledger: Arc<dyn Ledger>) {
    let kit = Kit::new();
    let runs = Runs::default();
    let service = kit.service(ledger, &runs, ServiceConfig::default());
    for copy in 0..COPIES {
        let req = kit.refund(0, copy);
        let outcome = tokio::time::timeout(HANG, service.handle(&req.headers, &req.body))
            .await
            .expect("an unreachable ledger's calls never returned");
        assert_eq!(
            outcome.reply.status, 503,
            "copy {copy}: {:?}",
            outcome.result
        );
        assert_eq!(
            outcome.result.as_ref().unwrap_err().kind(),
            ErrorKind::LedgerUnavailable,
            "copy {copy}"
        );
    }
    assert!(runs.lock().unwrap().is_empty(), "no handler ran");
    assert_eq!(service.counters().ledger_errors(), COPIES as u64);
}

/// Signs notifications for one run: ids and refund numbers unique to it.
struct Kit {
    run: String,
    signer: TestSigner,
    key: ApiV3Key,
}

/// How many times each refund's handler ran.
type Runs = Arc<Mutex<HashMap<String, usize>>>;

impl Kit {
    fn new() -> Self {
        let id: [u8; 6] = crate::crypto::random_bytes();
        Kit {
            run: id.iter().map(|b| format!("{b:02x}")).collect(),
            signer: TestSigner::fixed(KEY_ID),
            key: ApiV3Key::from_text("exactly-once-scenario-apiv3-key!").expect("32 bytes"),
        }
    }

    fn refund(&self, n: usize, copy: usize) -> SignedRequest {
        let plaintext = serde_json::json!({
            "mchid": "1900000100",
            "transaction_id": "1008450740201411110005820873",
            "out_trade_no": format!("T{}-{n}", self.run),
            "refund_id": format!("50200207182018070300011301{n:03}"),
            "out_refund_no": format!("R{}-{n}", self.run),
            "refund_status": "SUCCESS",
            "amount": {"total": 999, "refund": 999, "payer_total": 999, "payer_refund": 999},
        });
        V3RequestBuilder::new("REFUND.SUCCESS", plaintext.to_string())
            .id(format!("EV-{}-{n}", self.run))
            .timestamp(NOW + copy as i64)
            .original_type("refund")
            .sign(&self.signer, &self.key)
    }

    fn receiver(&self) -> Receiver {
        let keyring = self.signer.keyring().expect("test keyring");
        Receiver::with_verifier(
            Verifier::new(keyring).with_clock(FixedClock(NOW)),
            self.key.clone(),
        )
    }

    fn service(&self, ledger: Arc<dyn Ledger>, runs: &Runs, config: ServiceConfig) -> Service {
        let runs = runs.clone();
        let dispatcher = Dispatcher::new(self.receiver()).on(move |d: Delivery<RefundSuccess>| {
            let runs = runs.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                *runs
                    .lock()
                    .unwrap()
                    .entry(d.resource.out_refund_no.clone())
                    .or_default() += 1;
                Ok(())
            }
        });
        Service::new(dispatcher, ledger).with_config(config)
    }

    async fn every_handler_runs_once(&self, a: Arc<dyn Ledger>, b: Arc<dyn Ledger>) {
        let runs = Runs::default();
        let config = ServiceConfig::default().with_busy_wait(Duration::from_secs(5));
        let instances = [
            self.service(a, &runs, config.clone()),
            self.service(b, &runs, config),
        ];
        let requests: Vec<SignedRequest> = (0..NOTIFICATIONS)
            .flat_map(|n| (0..COPIES).map(move |c| (n, c)))
            .map(|(n, c)| self.refund(n, c))
            .collect();
        let mut tasks = Vec::new();
        for (i, req) in requests.into_iter().enumerate() {
            let service = instances[i % 2].clone();
            tasks.push(tokio::spawn(async move {
                service.handle(&req.headers, &req.body).await
            }));
        }
        let mut statuses = HashMap::<u16, usize>::new();
        for t in tasks {
            *statuses
                .entry(t.await.expect("task").reply.status)
                .or_default() += 1;
        }
        let runs = runs.lock().unwrap();
        assert_eq!(
            runs.len(),
            NOTIFICATIONS,
            "every notification handled (answers: {statuses:?})"
        );
        let twice: Vec<_> = runs.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "handlers that ran more than once: {twice:?}"
        );
        assert_eq!(
            statuses.get(&204).copied().unwrap_or(0),
            NOTIFICATIONS * COPIES,
            "every copy acknowledged: {statuses:?}"
        );
        let done = instances[0].counters().processed() + instances[1].counters().processed();
        assert_eq!(done as usize, NOTIFICATIONS);
    }

    async fn dead_instance_is_taken_over(&self, a: Arc<dyn Ledger>, b: Arc<dyn Ledger>) {
        let ttl = Duration::from_millis(600);
        let config = ServiceConfig::default()
            .with_lease_ttl(ttl)
            .with_busy_wait(Duration::from_millis(100));
        // Instance A: its handler reports its lease, then hangs until the instance is killed.
        let (lease_tx, mut lease_rx) = mpsc::unbounded_channel::<Lease>();
        let entered = Arc::new(Notify::new());
        let dying = {
            let entered = entered.clone();
            Dispatcher::new(self.receiver()).on(move |d: Delivery<RefundSuccess>| {
                let (lease_tx, entered) = (lease_tx.clone(), entered.clone());
                async move {
                    lease_tx
                        .send(d.lease.clone().expect("a service hands out the lease"))
                        .ok();
                    entered.notify_one();
                    std::future::pending::<()>().await;
                    Ok(())
                }
            })
        };
        let a = Service::new(dying, a).with_config(config.clone());
        let runs = Runs::default();
        let b = self.service(b, &runs, config);
        let req = self.refund(NOTIFICATIONS + 1, 0);
        let killed = {
            let (a, req) = (a.clone(), req.clone());
            tokio::spawn(async move { a.handle(&req.headers, &req.body).await })
        };
        entered.notified().await;
        killed.abort(); // the instance dies: no more renewals, no completion
        let old_lease = lease_rx.recv().await.expect("the dead handler's lease");

        let copy = self.refund(NOTIFICATIONS + 1, 1);
        let early = b.handle(&copy.headers, &copy.body).await;
        assert_eq!(
            early.reply.status, 503,
            "a copy while the dead lease lives: retry later"
        );
        assert_eq!(
            early.result.as_ref().unwrap_err().kind(),
            ErrorKind::InProgress
        );

        tokio::time::sleep(ttl + Duration::from_millis(300)).await;
        let late = b.handle(&copy.headers, &copy.body).await;
        assert_eq!(
            late.reply.status, 204,
            "taken over after expiry: {:?}",
            late.result
        );
        assert_eq!(
            runs.lock().unwrap().values().sum::<usize>(),
            1,
            "processed once"
        );

        match b
            .ledger()
            .complete(&old_lease, &Completion::Done { reply: None })
            .await
        {
            Err(LedgerError::Stale { .. }) => {}
            other => panic!("the dead instance's late completion: expected refusal, got {other:?}"),
        }
        let record = b
            .ledger()
            .record(&old_lease.delivery)
            .await
            .unwrap()
            .expect("recorded");
        assert_eq!(record.status, Status::Done);
        assert_eq!(record.attempts, 2);
    }

    async fn unavailable_ledger_records_nothing_done(&self, ledger: Arc<dyn Ledger>) {
        let runs = Runs::default();
        for op in [Op::Store, Op::Claim, Op::Complete] {
            let broken: Arc<dyn Ledger> = Arc::new(Unplugged {
                inner: ledger.clone(),
                op,
            });
            let service = self.service(broken, &runs, ServiceConfig::default());
            let req = self.refund(NOTIFICATIONS + 10 + op as usize, 0);
            let outcome = service.handle(&req.headers, &req.body).await;
            assert_eq!(
                outcome.reply.status, 503,
                "{op:?} failing: {:?}",
                outcome.result
            );
            assert_eq!(
                outcome.result.as_ref().unwrap_err().kind(),
                ErrorKind::LedgerUnavailable
            );
            let delivery = DeliveryKey::v3(&format!(
                "EV-{}-{}",
                self.run,
                NOTIFICATIONS + 10 + op as usize
            ));
            let record = ledger.record(&delivery).await.unwrap();
            assert!(
                record.as_ref().is_none_or(|r| r.status != Status::Done),
                "{op:?} failing: nothing recorded as done, found {record:?}"
            );
        }
    }
}

/// The ledger operation an [`Unplugged`] ledger fails.
#[derive(Clone, Copy, Debug)]
enum Op {
    Store,
    Claim,
    Complete,
}

/// A ledger whose `op` fails as an unreachable backend does; the rest passes through.
#[derive(Debug)]
struct Unplugged {
    inner: Arc<dyn Ledger>,
    op: Op,
}

fn unplugged<'a, T: Send + 'a>() -> BoxFuture<'a, Result<T, LedgerError>> {
    Box::pin(async { Err(LedgerError::unavailable("connection refused (scenario)")) })
}

impl Ledger for Unplugged {
    fn store_request<'a>(
        &'a self,
        request: &'a StoredRequest,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        match self.op {
            Op::Store => unplugged(),
            _ => self.inner.store_request(request),
        }
    }
    fn claim<'a>(&'a self, claim: &'a ClaimRequest) -> BoxFuture<'a, Result<Claim, LedgerError>> {
        match self.op {
            Op::Claim => unplugged(),
            _ => self.inner.claim(claim),
        }
    }
    fn renew<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.inner.renew(lease)
    }
    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        completion: &'a Completion,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        match self.op {
            Op::Complete => unplugged(),
            _ => self.inner.complete(lease, completion),
        }
    }
    fn record<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<Record>, LedgerError>> {
        self.inner.record(delivery)
    }
    fn list(
        &self,
        status: Status,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Record>, LedgerError>> {
        self.inner.list(status, limit)
    }
    fn request<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<StoredRequest>, LedgerError>> {
        self.inner.request(delivery)
    }
    fn purge<'a>(
        &'a self,
        before: i64,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<u64, LedgerError>> {
        self.inner.purge(before, statuses)
    }
}
