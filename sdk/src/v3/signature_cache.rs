//! A bounded cache of requests already verified, so byte-identical copies of a notification
//! (WeChat Pay sends the same request from several servers within seconds) skip the RSA step.
//!
//! An entry is the SHA-256 digest of everything the request's trust rests on — the serial, the
//! signature and the SHA-256 of the signed message (timestamp, nonce, body), the one computed
//! for the signature check, so a first delivery hashes its body once — with the time until
//! which it may be trusted. A hit therefore needs a request equal byte for byte to one that
//! verified (finding another with the same digest is finding a SHA-256 collision). Entries
//! are fixed-size, so the cache allocates nothing per request once warm; a hit never skips the
//! time window, which is checked before the cache.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

/// How many verified requests are remembered by default.
pub const DEFAULT_CAPACITY: usize = 4096;

/// One signed request: the key it names, its signature, and the digest of the message the
/// signature covers (`"{timestamp}\n{nonce}\n{body}\n"`, already computed to verify it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignedParts<'a> {
    pub serial: &'a str,
    pub signature: &'a str,
    pub message_digest: &'a [u8],
}

/// The digest that stands for one signed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestDigest([u8; 32]);

impl std::hash::Hash for RequestDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(head));
    }
}

impl SignedParts<'_> {
    pub(crate) fn digest(&self) -> RequestDigest {
        let parts = [
            self.serial.as_bytes(),
            self.signature.as_bytes(),
            self.message_digest,
        ];
        RequestDigest(crate::crypto::sha256_length_prefixed(&parts))
    }
}

/// Verified request digests with the Unix time until which each may be trusted, evicted
/// oldest first beyond the capacity.
#[derive(Debug)]
pub(crate) struct SignatureCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    until: HashMap<RequestDigest, i64, BuildHasherDefault<DigestHasher>>,
    order: VecDeque<RequestDigest>,
}

/// A digest is already a uniformly distributed hash, and only a request that verified is
/// inserted: its first eight bytes serve the table as they are, without hashing it again.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (by `RequestDigest`); anything else still hashes.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl SignatureCache {
    pub(crate) fn new(capacity: usize) -> Self {
        SignatureCache {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether the cache is on at all (a capacity of 0 turns it off: no digest is computed).
    pub(crate) fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `true` when the very same request verified before and is still within its time.
    pub(crate) fn contains(&self, digest: &RequestDigest, now: i64) -> bool {
        self.is_enabled()
            && self
                .lock()
                .until
                .get(digest)
                .is_some_and(|until| now <= *until)
    }

    /// Remembers a verified request until `until` (Unix seconds).
    pub(crate) fn insert(&self, digest: RequestDigest, until: i64) {
        if !self.is_enabled() {
            return;
        }
        let mut inner = self.lock();
        if inner.until.insert(digest, until).is_none() {
            inner.order.push_back(digest);
        }
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.until.remove(&old);
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

    fn digest(
        serial: &str,
        timestamp: &str,
        nonce: &str,
        signature: &str,
        body: &[u8],
    ) -> RequestDigest {
        let message = crate::crypto::MessageDigest::of_v3_message(timestamp, nonce, body);
        SignedParts {
            serial,
            signature,
            message_digest: message.as_bytes(),
        }
        .digest()
    }

    fn parts(signature: &str, body: &[u8]) -> RequestDigest {
        digest("S", "1", "n", signature, body)
    }

    #[test]
    fn a_hit_needs_every_signed_byte_equal() {
        let c = SignatureCache::new(8);
        c.insert(parts("sig", b"body"), 100);
        assert!(c.contains(&parts("sig", b"body"), 100));
        for other in [
            parts("sig", b"bodY"),
            parts("sIg", b"body"),
            digest("S", "1", "m", "sig", b"body"),
            digest("S", "2", "n", "sig", b"body"),
            digest("T", "1", "n", "sig", b"body"),
            // Length prefixes keep the boundaries between parts apart.
            digest("Ss", "1", "n", "ig", b"body"),
        ] {
            assert!(!c.contains(&other, 100), "{other:?}");
        }
        assert!(!c.contains(&parts("sig", b"body"), 101), "expired");
    }

    #[test]
    fn bounded_oldest_first_and_off_at_zero() {
        let c = SignatureCache::new(2);
        for s in ["a", "b", "c"] {
            c.insert(parts(s, b"x"), 100);
        }
        assert_eq!(c.len(), 2);
        assert!(!c.contains(&parts("a", b"x"), 0));
        assert!(c.contains(&parts("c", b"x"), 0));
        let off = SignatureCache::new(0);
        off.insert(parts("a", b"x"), 100);
        assert!(!off.contains(&parts("a", b"x"), 0));
    }
}
