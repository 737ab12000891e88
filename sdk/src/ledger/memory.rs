//! The in-memory ledger: one process, nothing kept across restarts. For tests, and for a
//! single instance that accepts losing its records with the process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{
    BoxFuture, Claim, ClaimRequest, Completion, DeliveryKey, FactKey, FencingToken, Lease, Ledger,
    LedgerError, Record, Status, StoredRequest, unix_millis,
};

/// A [`Ledger`] in this process's memory.
///
/// ```
/// use std::time::Duration;
/// use wechatpay_notify::ledger::{Claim, ClaimRequest, Completion, DeliveryKey, Ledger, memory::MemoryLedger};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let ledger = MemoryLedger::new();
/// let ask = ClaimRequest { delivery: DeliveryKey::v3("EV-1"), fact: None, kind: None, ttl: Duration::from_secs(30) };
/// let Claim::New(lease) = ledger.claim(&ask).await.unwrap() else { panic!() };
/// ledger.complete(&lease, &Completion::Done { reply: None }).await.unwrap();
/// assert!(matches!(ledger.claim(&ask).await.unwrap(), Claim::Done { .. }));
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    deliveries: HashMap<DeliveryKey, Entry>,
    /// Each fact's owner: the delivery that claimed it last.
    facts: HashMap<FactKey, DeliveryKey>,
}

#[derive(Debug)]
struct Entry {
    record: Record,
    lease_until_ms: i64,
    request: Option<StoredRequest>,
}

impl Entry {
    fn new(delivery: &DeliveryKey, now_ms: i64) -> Self {
        Entry {
            record: Record {
                delivery: delivery.clone(),
                kind: None,
                fact: None,
                status: Status::Received,
                token: FencingToken(0),
                attempts: 0,
                reason: None,
                reply: None,
                updated_at: now_ms / 1000,
            },
            lease_until_ms: 0,
            request: None,
        }
    }

    fn holds_lease(&self, now_ms: i64) -> bool {
        self.record.status == Status::InProgress && self.lease_until_ms > now_ms
    }
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        MemoryLedger::default()
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State, i64) -> T) -> T {
        // A panic while holding the lock leaves consistent data (every update below is
        // applied whole or not at all), so a poisoned lock is taken over.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state, unix_millis())
    }
}

impl State {
    fn claim(&mut self, ask: &ClaimRequest, now: i64) -> Claim {
        let entry = self
            .deliveries
            .entry(ask.delivery.clone())
            .or_insert_with(|| Entry::new(&ask.delivery, now));
        if entry.record.status == Status::Done {
            return Claim::Done {
                by: ask.delivery.clone(),
                reply: entry.record.reply.clone(),
            };
        }
        if let Some(fact) = &ask.fact
            && let Some(owner) = self.facts.get(fact).filter(|o| **o != ask.delivery)
            && let Some(owner_entry) = self.deliveries.get(owner)
        {
            if owner_entry.record.status == Status::Done {
                let (by, reply) = (owner.clone(), owner_entry.record.reply.clone());
                let entry = self
                    .deliveries
                    .get_mut(&ask.delivery)
                    .expect("inserted above");
                entry.record.status = Status::Done;
                entry.record.reason = Some(format!("duplicate of {by}"));
                entry.record.reply.clone_from(&reply);
                entry.record.fact = Some(fact.clone());
                entry.record.updated_at = now / 1000;
                return Claim::Done { by, reply };
            }
            if owner_entry.holds_lease(now) {
                return Claim::Busy {
                    holder: owner.clone(),
                };
            }
        }
        let entry = self
            .deliveries
            .get_mut(&ask.delivery)
            .expect("inserted above");
        if entry.holds_lease(now) {
            return Claim::Busy {
                holder: ask.delivery.clone(),
            };
        }
        let r = &mut entry.record;
        r.token = FencingToken(r.token.0 + 1);
        r.attempts += 1;
        r.status = Status::InProgress;
        r.updated_at = now / 1000;
        if ask.kind.is_some() {
            r.kind.clone_from(&ask.kind);
        }
        if ask.fact.is_some() {
            r.fact.clone_from(&ask.fact);
        }
        entry.lease_until_ms = now.saturating_add(ttl_millis(ask.ttl));
        if let Some(fact) = &ask.fact {
            self.facts.insert(fact.clone(), ask.delivery.clone());
        }
        Claim::New(Lease {
            delivery: ask.delivery.clone(),
            fact: ask.fact.clone(),
            token: entry.record.token,
            ttl: ask.ttl,
            attempt: entry.record.attempts,
        })
    }

    /// The lease's entry, if the lease is current: its token is the delivery's latest, and no
    /// other delivery has since taken its fact over.
    fn current(&mut self, lease: &Lease) -> Option<&mut Entry> {
        if let Some(fact) = &lease.fact
            && self.facts.get(fact) != Some(&lease.delivery)
        {
            return None;
        }
        self.deliveries
            .get_mut(&lease.delivery)
            .filter(|e| e.record.token == lease.token)
    }
}

pub(crate) fn ttl_millis(ttl: std::time::Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

impl Ledger for MemoryLedger {
    fn store_request<'a>(
        &'a self,
        request: &'a StoredRequest,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            self.with_state(|s, now| {
                let entry = s
                    .deliveries
                    .entry(request.delivery.clone())
                    .or_insert_with(|| Entry::new(&request.delivery, now));
                if entry.request.is_none() {
                    entry.request = Some(request.clone());
                }
            });
            Ok(())
        })
    }

    fn claim<'a>(&'a self, ask: &'a ClaimRequest) -> BoxFuture<'a, Result<Claim, LedgerError>> {
        Box::pin(async move { Ok(self.with_state(|s, now| s.claim(ask, now))) })
    }

    fn renew<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            self.with_state(|s, now| match s.current(lease) {
                Some(e) if e.record.status == Status::InProgress => {
                    e.lease_until_ms = now.saturating_add(ttl_millis(lease.ttl));
                    Ok(())
                }
                _ => Err(LedgerError::stale(lease)),
            })
        })
    }

    fn complete<'a>(
        &'a self,
        lease: &'a Lease,
        completion: &'a Completion,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            self.with_state(|s, now| match s.current(lease) {
                Some(e) if e.record.status == Status::InProgress => {
                    e.record.status = completion.status();
                    e.record.reason = completion.reason().map(str::to_owned);
                    e.record.reply = completion.reply().map(str::to_owned);
                    e.record.updated_at = now / 1000;
                    e.lease_until_ms = 0;
                    Ok(())
                }
                Some(e)
                    if e.record.status == Status::Done && completion.status() == Status::Done =>
                {
                    Ok(())
                }
                _ => Err(LedgerError::stale(lease)),
            })
        })
    }

    fn record<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<Record>, LedgerError>> {
        Box::pin(async move {
            Ok(self.with_state(|s, _| s.deliveries.get(delivery).map(|e| e.record.clone())))
        })
    }

    fn list(
        &self,
        status: Status,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Record>, LedgerError>> {
        Box::pin(async move {
            Ok(self.with_state(|s, _| {
                let mut found: Vec<Record> = s
                    .deliveries
                    .values()
                    .filter(|e| e.record.status == status)
                    .map(|e| e.record.clone())
                    .collect();
                found.sort_by(|a, b| (a.updated_at, &a.delivery).cmp(&(b.updated_at, &b.delivery)));
                found.truncate(limit);
                found
            }))
        })
    }

    fn request<'a>(
        &'a self,
        delivery: &'a DeliveryKey,
    ) -> BoxFuture<'a, Result<Option<StoredRequest>, LedgerError>> {
        Box::pin(async move {
            Ok(self.with_state(|s, _| s.deliveries.get(delivery).and_then(|e| e.request.clone())))
        })
    }

    fn purge<'a>(
        &'a self,
        before: i64,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<u64, LedgerError>> {
        Box::pin(async move {
            Ok(self.with_state(|s, _| {
                let gone: Vec<DeliveryKey> = s
                    .deliveries
                    .values()
                    .filter(|e| statuses.contains(&e.record.status) && e.record.updated_at < before)
                    .map(|e| e.record.delivery.clone())
                    .collect();
                for d in &gone {
                    s.deliveries.remove(d);
                }
                s.facts.retain(|_, owner| s.deliveries.contains_key(owner));
                gone.len() as u64
            }))
        })
    }
}
