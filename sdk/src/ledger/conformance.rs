//! The behaviour every [`Ledger`] backend must show, as a test suite any backend (the SDK's or
//! a merchant's own) runs against itself: `conformance::check_all(a, b).await`, where `a` and
//! `b` are two handles on one store, as two instances of a service would hold.
//!
//! Every check uses delivery keys of its own run (a random prefix), so it can run against a
//! shared database beside other runs.

use std::sync::Arc;
use std::time::Duration;

use super::{
    Claim, ClaimRequest, Completion, DeliveryKey, FactKey, Lease, Ledger, LedgerError, Status,
    StoredRequest,
};
use crate::catalogue::BusinessFact;

/// The lease the timing checks use: long enough for a slow database round trip, short enough
/// to keep the suite quick.
const TTL: Duration = Duration::from_millis(600);

/// Runs every check; panics with the check's name and what went wrong at the first failure.
pub async fn check_all(a: Arc<dyn Ledger>, b: Arc<dyn Ledger>) {
    let run = Run::new();
    run.done_is_final(&*a, &*b).await;
    run.busy_until_expiry_then_taken_over(&*a, &*b).await;
    run.renewal_keeps_the_lease(&*a, &*b).await;
    run.fact_resent_under_new_id(&*a, &*b).await;
    run.fact_in_progress_elsewhere(&*a, &*b).await;
    run.kinds_keep_facts_apart(&*a, &*b).await;
    run.fact_taken_over_fences_the_old_holder(&*a, &*b).await;
    run.failed_and_quarantined_are_claimed_again(&*a, &*b).await;
    run.requests_are_kept_once(&*a, &*b).await;
    run.purge_removes_old_records(&*a).await;
    run.one_winner_among_concurrent_claims(a.clone(), b.clone())
        .await;
}

struct Run {
    prefix: String,
}

fn new_of(claim: Claim, what: &str) -> Lease {
    match claim {
        Claim::New(lease) => lease,
        other => panic!("{what}: expected a new claim, got {other:?}"),
    }
}

fn assert_stale(r: Result<(), LedgerError>, what: &str) {
    match r {
        Err(LedgerError::Stale { .. }) => {}
        other => panic!("{what}: expected a stale-lease refusal, got {other:?}"),
    }
}

impl Run {
    fn new() -> Self {
        let id: [u8; 8] = crate::crypto::random_bytes();
        Run {
            prefix: id.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    fn delivery(&self, name: &str) -> DeliveryKey {
        DeliveryKey::v3(&format!("conformance-{}-{name}", self.prefix))
    }

    fn fact(&self, kind: &str, name: &str) -> FactKey {
        FactKey::new(
            kind,
            &BusinessFact {
                merchant: Some("1900000109".into()),
                key: vec![format!("{}-{name}", self.prefix)],
                state: None,
            },
        )
    }

    fn ask(&self, delivery: &str, fact: Option<FactKey>) -> ClaimRequest {
        ClaimRequest {
            delivery: self.delivery(delivery),
            fact,
            kind: Some("REFUND.SUCCESS".into()),
            ttl: TTL,
        }
    }

    async fn done_is_final(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let ask = self.ask("done", None);
        let lease = new_of(a.claim(&ask).await.unwrap(), "first claim");
        assert_eq!(lease.attempt, 1, "first claim is attempt 1");
        let reply = Some(r#"{"code":"SUCCESS"}"#.to_owned());
        a.complete(
            &lease,
            &Completion::Done {
                reply: reply.clone(),
            },
        )
        .await
        .unwrap();
        a.complete(
            &lease,
            &Completion::Done {
                reply: reply.clone(),
            },
        )
        .await
        .expect("completing done twice under one lease is accepted");
        for ledger in [a, b] {
            match ledger.claim(&ask).await.unwrap() {
                Claim::Done { by, reply: got } => {
                    assert_eq!(by, ask.delivery, "done by itself");
                    assert_eq!(got, reply, "the reply data recorded with done");
                }
                other => panic!("a done delivery claimed again: {other:?}"),
            }
        }
        assert_stale(
            a.complete(
                &lease,
                &Completion::Failed {
                    reason: "late".into(),
                },
            )
            .await,
            "a done delivery completed as failed",
        );
        let record = b
            .record(&ask.delivery)
            .await
            .unwrap()
            .expect("record exists");
        assert_eq!(record.status, Status::Done);
        assert_eq!(record.kind.as_deref(), Some("REFUND.SUCCESS"));
        assert_eq!(record.attempts, 1);
    }

    async fn busy_until_expiry_then_taken_over(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let ask = self.ask("expiry", None);
        let first = new_of(a.claim(&ask).await.unwrap(), "first claim");
        match b.claim(&ask).await.unwrap() {
            Claim::Busy { holder } => assert_eq!(holder, ask.delivery),
            other => panic!("claim during a live lease: expected busy, got {other:?}"),
        }
        tokio::time::sleep(TTL + Duration::from_millis(300)).await;
        let second = new_of(b.claim(&ask).await.unwrap(), "claim after expiry");
        assert!(second.token > first.token, "a takeover's token is greater");
        assert_eq!(second.attempt, 2);
        assert_stale(
            a.complete(&first, &Completion::Done { reply: None }).await,
            "the expired holder's completion",
        );
        assert_stale(a.renew(&first).await, "the expired holder's renewal");
        b.complete(&second, &Completion::Done { reply: None })
            .await
            .unwrap();
    }

    async fn renewal_keeps_the_lease(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let ask = self.ask("renew", None);
        let lease = new_of(a.claim(&ask).await.unwrap(), "first claim");
        for _ in 0..3 {
            tokio::time::sleep(TTL / 2).await;
            a.renew(&lease).await.expect("renewing a live lease");
        }
        assert!(
            matches!(b.claim(&ask).await.unwrap(), Claim::Busy { .. }),
            "a renewed lease outlives its first time to live"
        );
        a.complete(&lease, &Completion::Done { reply: None })
            .await
            .unwrap();
        assert_stale(a.renew(&lease).await, "renewing a completed lease");
    }

    async fn fact_resent_under_new_id(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let fact = self.fact("REFUND.SUCCESS", "resent");
        let first = self.ask("resent-1", Some(fact.clone()));
        let lease = new_of(a.claim(&first).await.unwrap(), "first id");
        a.complete(&lease, &Completion::Done { reply: None })
            .await
            .unwrap();
        let second = self.ask("resent-2", Some(fact));
        match b.claim(&second).await.unwrap() {
            Claim::Done { by, .. } => assert_eq!(by, first.delivery, "done by the first id"),
            other => panic!("a fact re-sent under a new id: expected done, got {other:?}"),
        }
        let record = a
            .record(&second.delivery)
            .await
            .unwrap()
            .expect("the new id is recorded");
        assert_eq!(record.status, Status::Done);
        assert!(
            record
                .reason
                .as_deref()
                .is_some_and(|r| r.contains(first.delivery.as_str())),
            "the duplicate names the delivery that did it: {record:?}"
        );
        assert!(matches!(
            b.claim(&second).await.unwrap(),
            Claim::Done { .. }
        ));
    }

    async fn fact_in_progress_elsewhere(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let fact = self.fact("REFUND.SUCCESS", "racing");
        let first = self.ask("racing-1", Some(fact.clone()));
        let lease = new_of(a.claim(&first).await.unwrap(), "first id");
        match b.claim(&self.ask("racing-2", Some(fact))).await.unwrap() {
            Claim::Busy { holder } => assert_eq!(holder, first.delivery),
            other => panic!("same fact while held: expected busy, got {other:?}"),
        }
        a.complete(&lease, &Completion::Done { reply: None })
            .await
            .unwrap();
    }

    async fn kinds_keep_facts_apart(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let ok = self.ask("kinds-success", Some(self.fact("REFUND.SUCCESS", "kinds")));
        let abnormal = self.ask(
            "kinds-abnormal",
            Some(self.fact("REFUND.ABNORMAL", "kinds")),
        );
        let l1 = new_of(a.claim(&ok).await.unwrap(), "REFUND.SUCCESS");
        a.complete(&l1, &Completion::Done { reply: None })
            .await
            .unwrap();
        let l2 = new_of(
            b.claim(&abnormal).await.unwrap(),
            "REFUND.ABNORMAL of the same refund",
        );
        b.complete(&l2, &Completion::Done { reply: None })
            .await
            .unwrap();
    }

    async fn fact_taken_over_fences_the_old_holder(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let fact = self.fact("REFUND.SUCCESS", "fenced");
        let old = new_of(
            a.claim(&self.ask("fenced-1", Some(fact.clone())))
                .await
                .unwrap(),
            "first id",
        );
        tokio::time::sleep(TTL + Duration::from_millis(300)).await;
        let new = new_of(
            b.claim(&self.ask("fenced-2", Some(fact))).await.unwrap(),
            "new id after expiry",
        );
        assert_stale(
            a.complete(&old, &Completion::Done { reply: None }).await,
            "completion by the holder whose fact was taken over",
        );
        assert_stale(
            a.renew(&old).await,
            "renewal by the holder whose fact was taken over",
        );
        b.complete(&new, &Completion::Done { reply: None })
            .await
            .unwrap();
    }

    async fn failed_and_quarantined_are_claimed_again(&self, a: &dyn Ledger, b: &dyn Ledger) {
        for (name, completion) in [
            (
                "failed",
                Completion::Failed {
                    reason: "handler said no".into(),
                },
            ),
            (
                "quarantined",
                Completion::Quarantined {
                    reason: "missing_field at amount.total".into(),
                },
            ),
        ] {
            let ask = self.ask(name, None);
            let lease = new_of(a.claim(&ask).await.unwrap(), name);
            a.complete(&lease, &completion).await.unwrap();
            let record = b.record(&ask.delivery).await.unwrap().expect("recorded");
            assert_eq!(record.status, completion.status());
            assert_eq!(record.reason.as_deref(), completion.reason());
            let listed = b.list(completion.status(), 100_000).await.unwrap();
            assert!(
                listed.iter().any(|r| r.delivery == ask.delivery),
                "{name} is listed"
            );
            let again = new_of(
                b.claim(&ask).await.unwrap(),
                &format!("{name} claimed again"),
            );
            assert_eq!(again.attempt, 2);
            assert!(again.token > lease.token);
            b.complete(&again, &Completion::Done { reply: None })
                .await
                .unwrap();
        }
    }

    async fn requests_are_kept_once(&self, a: &dyn Ledger, b: &dyn Ledger) {
        let delivery = self.delivery("stored");
        let first = StoredRequest {
            delivery: delivery.clone(),
            received_at: 1_700_000_000,
            format: "v3-json".into(),
            headers: vec![("wechatpay-nonce".into(), "n1".into())],
            body: b"{\"id\":\"first\"}\xff".to_vec(),
        };
        let mut copy = first.clone();
        copy.body = b"second copy".to_vec();
        a.store_request(&first).await.unwrap();
        b.store_request(&copy).await.unwrap();
        assert_eq!(
            b.request(&delivery).await.unwrap().as_ref(),
            Some(&first),
            "the first copy is kept, bytes intact"
        );
        let record = a
            .record(&delivery)
            .await
            .unwrap()
            .expect("a stored request has a record");
        assert_eq!(record.status, Status::Received);
        let listed = a.list(Status::Received, 100_000).await.unwrap();
        assert!(
            listed.iter().any(|r| r.delivery == delivery),
            "never-claimed requests are listed"
        );
        let lease = new_of(
            b.claim(&self.ask("stored", None)).await.unwrap(),
            "claim of a stored request",
        );
        b.complete(&lease, &Completion::Done { reply: None })
            .await
            .unwrap();
        assert!(
            a.request(&delivery).await.unwrap().is_some(),
            "done keeps the request until purged"
        );
    }

    async fn purge_removes_old_records(&self, a: &dyn Ledger) {
        let ask = self.ask("purged", None);
        a.store_request(&StoredRequest {
            delivery: ask.delivery.clone(),
            received_at: 1_700_000_000,
            format: "v3-json".into(),
            headers: Vec::new(),
            body: b"{}".to_vec(),
        })
        .await
        .unwrap();
        let lease = new_of(a.claim(&ask).await.unwrap(), "claim");
        a.complete(&lease, &Completion::Quarantined { reason: "x".into() })
            .await
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        a.purge(now + 10, &[Status::Done]).await.unwrap();
        assert!(
            a.record(&ask.delivery).await.unwrap().is_some(),
            "purging done keeps quarantined"
        );
        let gone = a.purge(now + 10, &[Status::Quarantined]).await.unwrap();
        assert!(gone >= 1, "purge reports what it removed");
        assert!(
            a.record(&ask.delivery).await.unwrap().is_none(),
            "purged record"
        );
        assert!(
            a.request(&ask.delivery).await.unwrap().is_none(),
            "purged request"
        );
    }

    async fn one_winner_among_concurrent_claims(&self, a: Arc<dyn Ledger>, b: Arc<dyn Ledger>) {
        let mut tasks = Vec::new();
        for n in 0..40 {
            for copy in 0..4 {
                let ledger = if copy % 2 == 0 { a.clone() } else { b.clone() };
                let ask = self.ask(
                    &format!("race-{n}"),
                    Some(self.fact("REFUND.SUCCESS", &format!("race-{n}"))),
                );
                tasks.push(tokio::spawn(async move { ledger.claim(&ask).await }));
            }
        }
        let mut winners = std::collections::HashMap::<DeliveryKey, usize>::new();
        for t in tasks {
            if let Claim::New(lease) = t.await.expect("task").expect("claim") {
                *winners.entry(lease.delivery).or_default() += 1;
            }
        }
        assert_eq!(winners.len(), 40, "every delivery claimed once");
        assert!(
            winners.values().all(|&n| n == 1),
            "one winner per delivery: {winners:?}"
        );
    }
}
