//! The two unique keys a notification is recorded under: its delivery and its business fact.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalogue::BusinessFact;
use crate::crypto::sha256_length_prefixed;

/// What identifies one notification across its retries and copies.
///
/// APIv3 notifications carry an id (`v3:EV-2018022511223320873`). APIv2 notifications carry
/// none, so theirs is derived: `v2:` and the SHA-256, in hex, of the kind, the merchant and the
/// kind's identifying fields ([`DeliveryKey::v2`]); two deliveries of the same APIv2
/// notification derive the same key, whatever their `nonce_str` or `sign`.
///
/// ```
/// use wechatpay_notify::ledger::DeliveryKey;
///
/// assert_eq!(DeliveryKey::v3("EV-1").as_str(), "v3:EV-1");
/// let a = DeliveryKey::v2("v2:transaction-success", "1900000109", &["4200000001", "SUCCESS"]);
/// let b = DeliveryKey::v2("v2:transaction-success", "1900000109", &["4200000001", "SUCCESS"]);
/// assert_eq!(a, b);
/// assert!(a.as_str().starts_with("v2:"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryKey(String);

impl DeliveryKey {
    /// The key of an APIv3 notification: its envelope `id`.
    pub fn v3(notification_id: &str) -> Self {
        DeliveryKey(format!("v3:{notification_id}"))
    }

    /// The key of an APIv2 notification: a digest of its kind id, its merchant (`mch_id`) and
    /// its identifying fields, in the order the schema lists them.
    pub fn v2(kind: &str, merchant: &str, fields: &[&str]) -> Self {
        let mut parts: Vec<&[u8]> = vec![kind.as_bytes(), merchant.as_bytes()];
        parts.extend(fields.iter().map(|f| f.as_bytes()));
        let digest = sha256_length_prefixed(&parts);
        DeliveryKey(format!("v2:{}", hex_lower(&digest)))
    }

    /// A key read back from storage, as [`as_str`](Self::as_str) wrote it.
    pub fn from_stored(text: impl Into<String>) -> Self {
        DeliveryKey(text.into())
    }

    /// The key as text (`v3:…` or `v2:…`), as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What identifies the business fact a notification reports: the kind, the merchant, the
/// schema's business key and the state. A fact re-sent under a new notification id has the
/// same key; `REFUND.SUCCESS` and `REFUND.ABNORMAL` of one refund have different keys (the
/// kind is part of it).
///
/// Stored as `fact:` and the SHA-256, in hex, of its parts: fixed length, whatever the
/// business key holds.
///
/// ```
/// use wechatpay_notify::catalogue::BusinessFact;
/// use wechatpay_notify::ledger::FactKey;
///
/// let fact = BusinessFact { merchant: Some("1900000109".into()), key: vec!["R1".into()], state: None };
/// let ok = FactKey::new("REFUND.SUCCESS", &fact);
/// let abnormal = FactKey::new("REFUND.ABNORMAL", &fact);
/// assert_ne!(ok, abnormal);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FactKey(String);

impl FactKey {
    /// The key of `fact`, reported by a notification of kind `kind`.
    pub fn new(kind: &str, fact: &BusinessFact) -> Self {
        // An absent merchant or state is kept apart from an empty one by a marker byte no
        // text field holds.
        const ABSENT: &str = "\u{0}";
        let mut parts: Vec<&[u8]> = vec![
            kind.as_bytes(),
            fact.merchant.as_deref().unwrap_or(ABSENT).as_bytes(),
        ];
        parts.extend(fact.key.iter().map(String::as_bytes));
        parts.push(fact.state.as_deref().unwrap_or(ABSENT).as_bytes());
        FactKey(format!(
            "fact:{}",
            hex_lower(&sha256_length_prefixed(&parts))
        ))
    }

    /// A key read back from storage.
    pub fn from_stored(text: impl Into<String>) -> Self {
        FactKey(text.into())
    }

    /// The key as text, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_do_not_run_together() {
        let a = DeliveryKey::v2("k", "m", &["ab", "c"]);
        let b = DeliveryKey::v2("k", "m", &["a", "bc"]);
        assert_ne!(a, b);
    }

    #[test]
    fn absent_state_differs_from_empty_state() {
        let mut fact = BusinessFact {
            merchant: None,
            key: vec!["x".into()],
            state: None,
        };
        let absent = FactKey::new("K", &fact);
        fact.state = Some(String::new());
        assert_ne!(absent, FactKey::new("K", &fact));
    }
}
