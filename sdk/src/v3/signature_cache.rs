//! A bounded cache of requests already verified, so byte-identical copies of a notification
//! (WeChat Pay sends the same request from several servers within seconds) skip the RSA step.
//!
//! Entries are keyed by the signature text and hold a copy of everything that was signed
//! (timestamp, nonce, body) and the serial: a hit requires the new request to be equal byte for
//! byte, so nothing is trusted that did not verify. The cache is bounded by entries and by the
//! bytes it holds; a hit never skips the time window, which is checked before the cache.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How many verified requests are remembered by default.
pub const DEFAULT_CAPACITY: usize = 4096;

/// How many bytes of verified requests are remembered at most by default.
pub const DEFAULT_BYTE_BUDGET: usize = 16 * 1024 * 1024;

/// One signed request, as the signature covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignedParts<'a> {
    pub serial: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
    pub body: &'a [u8],
}

#[derive(Debug)]
struct Entry {
    serial: Box<str>,
    timestamp: Box<str>,
    nonce: Box<str>,
    body: Box<[u8]>,
    until: i64,
}

impl Entry {
    fn size(&self, signature: &str) -> usize {
        signature.len()
            + self.serial.len()
            + self.timestamp.len()
            + self.nonce.len()
            + self.body.len()
    }

    fn matches(&self, p: &SignedParts<'_>) -> bool {
        *self.serial == *p.serial
            && *self.timestamp == *p.timestamp
            && *self.nonce == *p.nonce
            && *self.body == *p.body
    }
}

/// Verified requests with the Unix time until which each may be trusted, evicted oldest first
/// beyond the capacity or the byte budget.
#[derive(Debug)]
pub(crate) struct SignatureCache {
    capacity: usize,
    byte_budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Box<str>, Entry>,
    order: VecDeque<Box<str>>,
    bytes: usize,
}

impl SignatureCache {
    pub(crate) fn new(capacity: usize, byte_budget: usize) -> Self {
        SignatureCache {
            capacity,
            byte_budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `true` when the very same request verified before and is still within its time.
    pub(crate) fn contains(&self, parts: &SignedParts<'_>, now: i64) -> bool {
        if self.capacity == 0 {
            return false;
        }
        self.lock()
            .entries
            .get(parts.signature)
            .is_some_and(|e| now <= e.until && e.matches(parts))
    }

    /// Remembers a verified request until `until` (Unix seconds).
    pub(crate) fn insert(&self, parts: &SignedParts<'_>, until: i64) {
        let entry = Entry {
            serial: parts.serial.into(),
            timestamp: parts.timestamp.into(),
            nonce: parts.nonce.into(),
            body: parts.body.into(),
            until,
        };
        let size = entry.size(parts.signature);
        if self.capacity == 0 || size > self.byte_budget {
            return;
        }
        let mut inner = self.lock();
        let inner = &mut *inner;
        match inner.entries.insert(parts.signature.into(), entry) {
            Some(old) => inner.bytes -= old.size(parts.signature),
            None => inner.order.push_back(parts.signature.into()),
        }
        inner.bytes += size;
        while inner.order.len() > self.capacity || inner.bytes > self.byte_budget {
            let Some(key) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.entries.remove(&key) {
                inner.bytes -= old.size(&key);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(signature: &'a str, body: &'a [u8]) -> SignedParts<'a> {
        SignedParts {
            serial: "S",
            timestamp: "1",
            nonce: "n",
            signature,
            body,
        }
    }

    #[test]
    fn a_hit_needs_every_signed_byte_equal() {
        let c = SignatureCache::new(8, 1 << 20);
        c.insert(&parts("sig", b"body"), 100);
        assert!(c.contains(&parts("sig", b"body"), 100));
        assert!(!c.contains(&parts("sig", b"bodY"), 100));
        assert!(!c.contains(
            &SignedParts {
                nonce: "m",
                ..parts("sig", b"body")
            },
            100
        ));
        assert!(!c.contains(
            &SignedParts {
                timestamp: "2",
                ..parts("sig", b"body")
            },
            100
        ));
        assert!(!c.contains(
            &SignedParts {
                serial: "T",
                ..parts("sig", b"body")
            },
            100
        ));
        assert!(!c.contains(&parts("sig", b"body"), 101), "expired");
    }

    #[test]
    fn bounded_by_entries_and_bytes() {
        let c = SignatureCache::new(2, 1 << 20);
        for s in ["a", "b", "c"] {
            c.insert(&parts(s, b"x"), 100);
        }
        assert_eq!(c.len(), 2);
        assert!(!c.contains(&parts("a", b"x"), 0));
        assert!(c.contains(&parts("c", b"x"), 0));

        let c = SignatureCache::new(100, 40);
        c.insert(&parts("a", &[0; 20]), 100);
        c.insert(&parts("b", &[0; 20]), 100);
        assert_eq!(c.len(), 1, "the byte budget evicts the oldest");
        c.insert(&parts("c", &[0; 100]), 100);
        assert!(
            !c.contains(&parts("c", &[0; 100]), 0),
            "larger than the budget: not kept"
        );
        assert!(!SignatureCache::new(0, 100).contains(&parts("b", &[0; 20]), 0));
    }
}
