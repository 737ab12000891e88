//! The APIv2 path of [`Service`]: check → seal the body with the storage key and keep it →
//! parse → claim under the delivery key → handler → record → an XML reply.

use crate::catalogue::{V2ReplyStyle, WireFormat};
use crate::dispatch::Outcome;
use crate::error::{Error, V2Error};
use crate::keys::StorageKey;
use crate::ledger::{DeliveryKey, LedgerError, StoredRequest};
use crate::reply::Reply;
use crate::service::Service;

/// What a sealed body starts with: a format tag, then the 12-byte nonce.
const SEALED_TAG: &[u8; 4] = b"WNS1";

/// Seals a body for storage under `delivery` (the associated data, so a sealed body cannot
/// be moved to another delivery's record).
pub(crate) fn seal(key: &StorageKey, delivery: &DeliveryKey, body: &[u8]) -> Vec<u8> {
    let nonce: [u8; 12] = crate::crypto::random_bytes();
    let sealed =
        crate::crypto::aes256gcm_seal(key.expose(), &nonce, delivery.as_str().as_bytes(), body);
    [SEALED_TAG.as_slice(), &nonce, &sealed].concat()
}

/// Opens what [`seal`] made.
pub(crate) fn open(
    key: &StorageKey,
    delivery: &DeliveryKey,
    stored: &[u8],
) -> Result<Vec<u8>, LedgerError> {
    let corrupt = |why: &str| LedgerError::Corrupt(format!("stored request of {delivery}: {why}"));
    let rest = stored
        .strip_prefix(SEALED_TAG.as_slice())
        .ok_or_else(|| corrupt("not a sealed APIv2 body"))?;
    if rest.len() < 12 {
        return Err(corrupt("too short"));
    }
    let (nonce, sealed) = rest.split_at(12);
    crate::crypto::aes256gcm_open(key.expose(), nonce, delivery.as_str().as_bytes(), sealed)
        .map_err(|_| corrupt("does not open with this storage key"))
}

/// An outcome whose reply is still APIv3 JSON (a failure built by the shared path) answered
/// in the kind's XML elements instead.
fn in_xml(mut outcome: Outcome, style: V2ReplyStyle) -> Outcome {
    if !outcome.reply.body.starts_with('<') {
        outcome.reply = match &outcome.result {
            Err(e) => Reply::v2_failure(e.kind(), style),
            Ok(_) => Reply::v2_success(style),
        };
    }
    outcome
}

impl Service {
    /// [`Service::handle`] for an APIv2 (XML) body.
    pub(crate) async fn handle_v2(&self, body: &[u8]) -> Outcome {
        let receiver = self.dispatcher().receiver();
        let checked = match receiver.check_v2(body) {
            Ok(c) => c,
            Err(e) => return in_xml(self.rejected(e), crate::v2::reply_style(body)),
        };
        let style = checked.reply_style();
        let Some(key) = self.storage_key() else {
            let e = Error::V2(V2Error::KeyNotConfigured {
                kind: checked.kind().id(),
                key: "storage key (Service::with_storage_key)",
            });
            return Outcome::failed_v2(e, style);
        };
        let delivery = checked.delivery().clone();
        let stored = StoredRequest {
            delivery: delivery.clone(),
            received_at: crate::ledger::unix_millis() / 1000,
            format: WireFormat::V2Xml.as_str().to_owned(),
            headers: Vec::new(),
            body: seal(key, &delivery, body),
        };
        in_xml(
            self.process_v2(&checked, delivery, Some(&stored)).await,
            style,
        )
    }

    async fn process_v2(
        &self,
        checked: &crate::v2::Checked,
        delivery: DeliveryKey,
        stored: Option<&StoredRequest>,
    ) -> Outcome {
        match self.dispatcher().receiver().open_v2(checked) {
            Ok(received) => self.run(received, delivery, stored).await,
            Err(e) => self.quarantine(delivery, e, stored).await,
        }
    }

    /// [`Service::replay`] of a stored APIv2 request: opened with the storage key, checked
    /// again (sign and decryption), processed.
    pub(crate) async fn replay_v2(&self, stored: &StoredRequest) -> Result<Outcome, LedgerError> {
        let delivery = &stored.delivery;
        let key = self.storage_key().ok_or_else(|| {
            LedgerError::Corrupt(format!(
                "{delivery} is a sealed APIv2 request and no storage key is configured"
            ))
        })?;
        let body = open(key, delivery, &stored.body)?;
        let checked = match self.dispatcher().receiver().check_v2(&body) {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::failed_v2(e, crate::v2::reply_style(&body))),
        };
        let style = checked.reply_style();
        Ok(in_xml(
            self.process_v2(&checked, delivery.clone(), None).await,
            style,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bodies_open_only_with_their_key_and_delivery() {
        let key = StorageKey::generate();
        let d = DeliveryKey::v2("v2:refund-processed", "1", &["R1"]);
        let sealed = seal(&key, &d, b"<xml><openid>o1</openid></xml>");
        assert!(!sealed.windows(2).any(|w| w == b"o1"));
        assert_eq!(
            open(&key, &d, &sealed).unwrap(),
            b"<xml><openid>o1</openid></xml>"
        );
        let other = DeliveryKey::v2("v2:refund-processed", "1", &["R2"]);
        assert!(open(&key, &other, &sealed).is_err());
        assert!(open(&StorageKey::generate(), &d, &sealed).is_err());
        assert!(open(&key, &d, b"WNS1short").is_err());
    }
}
