//! What the scripts and hashes answer, read back into the ledger's types. Anything this
//! version cannot read is [`LedgerError::Corrupt`].

use std::collections::HashMap;
use std::str::FromStr;

use crate::ledger::{
    Claim, ClaimRequest, DeliveryKey, FactKey, FencingToken, Lease, LedgerError, Record, Status,
    StoredRequest,
};

/// The claim script's answer: a tag and two values (see `lua/claim.lua`).
pub(super) type ClaimReply = (String, String, Option<String>);

pub(super) fn claim(
    ask: &ClaimRequest,
    (tag, first, second): ClaimReply,
) -> Result<Claim, LedgerError> {
    match (tag.as_str(), second) {
        ("new", Some(attempts)) => Ok(Claim::New(Lease {
            delivery: ask.delivery.clone(),
            fact: ask.fact.clone(),
            token: FencingToken(number(&first, "token", &ask.delivery)?),
            ttl: ask.ttl,
            attempt: number(&attempts, "attempts", &ask.delivery)?,
        })),
        ("done", reply) => Ok(Claim::Done {
            by: DeliveryKey::from_stored(first),
            reply,
        }),
        ("busy", None) => Ok(Claim::Busy {
            holder: DeliveryKey::from_stored(first),
        }),
        (tag, _) => Err(LedgerError::Corrupt(format!(
            "claim of {} answered {tag:?}",
            ask.delivery
        ))),
    }
}

/// A record from its hash's fields.
pub(super) fn record(
    delivery: DeliveryKey,
    mut fields: HashMap<String, String>,
) -> Result<Record, LedgerError> {
    let mut required = |name: &str| {
        fields
            .remove(name)
            .ok_or_else(|| LedgerError::Corrupt(format!("record of {delivery} has no {name}")))
    };
    let status = required("status")?;
    let token = required("token")?;
    let attempts = required("attempts")?;
    let updated_at = required("updated_at")?;
    Ok(Record {
        status: Status::parse(&status).ok_or_else(|| {
            LedgerError::Corrupt(format!("record of {delivery} has status {status:?}"))
        })?,
        token: FencingToken(number(&token, "token", &delivery)?),
        attempts: number(&attempts, "attempts", &delivery)?,
        updated_at: number(&updated_at, "updated_at", &delivery)?,
        kind: fields.remove("kind"),
        fact: fields.remove("fact").map(FactKey::from_stored),
        reason: fields.remove("reason"),
        reply: fields.remove("reply"),
        delivery,
    })
}

/// A stored request from its hash's fields.
pub(super) fn request(
    delivery: DeliveryKey,
    mut fields: HashMap<String, Vec<u8>>,
) -> Result<StoredRequest, LedgerError> {
    let mut required = |name: &str| {
        fields.remove(name).ok_or_else(|| {
            LedgerError::Corrupt(format!("stored request of {delivery} has no {name}"))
        })
    };
    let received_at = text(required("received_at")?, "received_at", &delivery)?;
    let format = text(required("format")?, "format", &delivery)?;
    let headers = required("headers")?;
    let body = required("body")?;
    Ok(StoredRequest {
        received_at: number(&received_at, "received_at", &delivery)?,
        format,
        headers: serde_json::from_slice(&headers)
            .map_err(|e| LedgerError::Corrupt(format!("stored headers of {delivery}: {e}")))?,
        body,
        delivery,
    })
}

fn number<T: FromStr>(text: &str, field: &str, delivery: &DeliveryKey) -> Result<T, LedgerError> {
    text.parse()
        .map_err(|_| LedgerError::Corrupt(format!("{field} of {delivery} is {text:?}")))
}

fn text(bytes: Vec<u8>, field: &str, delivery: &DeliveryKey) -> Result<String, LedgerError> {
    String::from_utf8(bytes)
        .map_err(|_| LedgerError::Corrupt(format!("{field} of {delivery} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_full_record_reads_back() {
        let d = DeliveryKey::v3("EV-1");
        let r = record(
            d.clone(),
            fields(&[
                ("status", "done"),
                ("token", "3"),
                ("attempts", "2"),
                ("updated_at", "1700000000"),
                ("lease_until", "0"),
                ("reply", "{}"),
            ]),
        )
        .unwrap();
        assert_eq!(r.delivery, d);
        assert_eq!(r.status, Status::Done);
        assert_eq!(r.token, FencingToken(3));
        assert_eq!(r.attempts, 2);
        assert_eq!(r.reply.as_deref(), Some("{}"));
        assert_eq!(r.kind, None);
    }

    #[test]
    fn unreadable_records_are_corrupt_not_panics() {
        let d = DeliveryKey::v3("EV-1");
        for bad in [
            fields(&[("token", "1"), ("attempts", "1"), ("updated_at", "1")]),
            fields(&[
                ("status", "lost"),
                ("token", "1"),
                ("attempts", "1"),
                ("updated_at", "1"),
            ]),
            fields(&[
                ("status", "done"),
                ("token", "-1"),
                ("attempts", "1"),
                ("updated_at", "1"),
            ]),
            fields(&[
                ("status", "done"),
                ("token", "1"),
                ("attempts", "1e3"),
                ("updated_at", "1"),
            ]),
        ] {
            assert!(matches!(
                record(d.clone(), bad),
                Err(LedgerError::Corrupt(_))
            ));
        }
    }

    #[test]
    fn unreadable_requests_are_corrupt() {
        let d = DeliveryKey::v3("EV-1");
        let mut f: HashMap<String, Vec<u8>> = [
            ("received_at", &b"1700000000"[..]),
            ("format", b"v3-json"),
            ("headers", b"[[\"wechatpay-nonce\",\"n\"]]"),
            ("body", b"\xff\x00"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_vec()))
        .collect();
        let ok = request(d.clone(), f.clone()).unwrap();
        assert_eq!(ok.body, b"\xff\x00");
        assert_eq!(
            ok.headers,
            vec![("wechatpay-nonce".to_owned(), "n".to_owned())]
        );
        f.insert("headers".into(), b"{".to_vec());
        assert!(matches!(request(d, f), Err(LedgerError::Corrupt(_))));
    }

    #[test]
    fn unknown_claim_answers_are_corrupt() {
        let ask = ClaimRequest {
            delivery: DeliveryKey::v3("EV-1"),
            fact: None,
            kind: None,
            ttl: std::time::Duration::from_secs(1),
        };
        for reply in [
            ("maybe".to_owned(), "x".to_owned(), None),
            ("new".to_owned(), "1".to_owned(), None),
            ("new".to_owned(), "one".to_owned(), Some("1".to_owned())),
            ("busy".to_owned(), "x".to_owned(), Some("y".to_owned())),
        ] {
            assert!(matches!(claim(&ask, reply), Err(LedgerError::Corrupt(_))));
        }
    }
}
