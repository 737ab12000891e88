//! # wechatpay-notify
//!
//! Receive WeChat Pay (微信支付) notifications (回调通知): verified, decrypted, typed and
//! validated, for every kind in the catalogue.
//!
//! A notification goes through: headers (`Wechatpay-*`, each once) → timestamp window →
//! RSA-SHA256 signature over the raw body with the key `Wechatpay-Serial` names (a platform
//! certificate serial or a WeChat Pay public key id) → envelope → AEAD_AES_256_GCM decryption
//! with the APIv3 key → classification into its kind (`TRANSACTION.SUCCESS#PARKING`) → typed
//! parse → validation → the handler registered for that kind → the reply WeChat Pay expects.
//! Nothing unverified reaches a handler: decrypted data is only reachable from a
//! [`v3::Verified`] request.
//!
//! ```
//! use wechatpay_notify::generated::kinds::TransactionSuccessParking;
//! use wechatpay_notify::keys::{ApiV3Key, Keyring};
//! use wechatpay_notify::{Delivery, Dispatcher, Receiver};
//! # use wechatpay_notify::{time::FixedClock, v3::Verifier};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Keys: WeChat Pay's public key under its id (platform certificates work alike) and
//! // the merchant's 32-byte APIv3 key.
//! let mut keys = Keyring::new();
//! keys.add_public_key_pem(
//!     "PUB_KEY_ID_0114232134912410000000000000",
//!     &std::fs::read_to_string("../samples/keys/wechatpay-public-key.pem")?,
//! )?;
//! let api_v3_key = ApiV3Key::from_text(&std::fs::read_to_string("../samples/keys/apiv3.key")?)?;
//! let receiver = Receiver::new(keys, api_v3_key);
//! # let receiver = Receiver::with_verifier(
//! #     Verifier::new(receiver.verifier().keyring().clone()).with_clock(FixedClock(1_700_000_000)),
//! #     ApiV3Key::from_text(&std::fs::read_to_string("../samples/keys/apiv3.key")?)?,
//! # );
//!
//! // One handler per kind; handlers only ever see verified, decrypted, typed notifications.
//! let dispatcher = Dispatcher::new(receiver).on(|d: Delivery<TransactionSuccessParking>| async move {
//!     println!("parking order {} paid {} fen", d.resource.out_trade_no, d.resource.amount.total);
//!     Ok(())
//! });
//!
//! // In the HTTP handler: the headers and the raw body bytes in, the reply out.
//! # let capture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
//! #     "../samples/requests/transaction-success-parking.json")?)?;
//! # let mut headers = http::HeaderMap::new();
//! # for p in capture["headers"].as_array().unwrap() {
//! #     headers.append(http::HeaderName::from_bytes(p[0].as_str().unwrap().as_bytes())?, p[1].as_str().unwrap().parse()?);
//! # }
//! # let body = capture["body"].as_str().unwrap().as_bytes();
//! let outcome = block_on(dispatcher.handle(&headers, body));
//! assert_eq!(outcome.reply.status, 204); // 200/204 acknowledges; 4XX/5XX make WeChat Pay retry
//! # Ok(())
//! # }
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! APIv2 (XML) notifications take the same path from [`v2`]: a body whose first
//! non-whitespace byte is `<` is parsed defensively, recognised, its `sign` verified (MD5 or
//! HMAC-SHA256 with the APIv2 key, among the algorithms the merchant accepts), its encrypted
//! part opened, and typed into the same [`Notification`]; the refund notification, which has no
//! sign, reaches only [`Dispatcher::on_unconfirmed`] handlers.
//!
//! Modules: [`keys`] (APIv3 and APIv2 keys, storage key, keyring), [`v3`] (headers,
//! verification, envelope, decryption), [`v2`] (XML, sign, decryption, typed parse), [`resource`] (classification, typed parse), [`validate`] (violations with JSON
//! paths), [`cross_check`] (the notification against the merchant's own records),
//! [`dispatch`] (handlers, fallback), [`reply`] (what WeChat Pay is answered),
//! [`error`] (one error type with a classifier), [`generated`] (the catalogue's types, from
//! `schema/` by `cargo xtask codegen`), `testkit` (feature `testkit`: sign and seal as WeChat
//! Pay does).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// Generated code names this crate by its full path, so it reads the same here and in the
// generator's snapshot tests.
extern crate self as wechatpay_notify;

#[cfg(not(any(feature = "aws-lc", feature = "rustcrypto")))]
compile_error!("enable a crypto backend: feature `aws-lc` (default) or `rustcrypto`");

#[cfg(feature = "axum")]
pub mod axum;
pub mod catalogue;
pub mod cross_check;
pub mod crypto;
pub mod dispatch;
pub mod error;
pub mod keys;
pub mod ledger;
pub mod probe;
pub mod receive;
pub mod reply;
pub mod resource;
pub mod service;
pub mod time;
pub mod types;
pub mod v2;
pub mod v3;
pub mod validate;

#[cfg(feature = "testkit")]
pub mod testkit;

#[rustfmt::skip]
pub mod generated;

pub use dispatch::{Delivery, Dispatcher};
pub use error::{Error, ErrorKind, Result};
pub use generated::{Kind, Notification};
pub use receive::{Received, Receiver, Strictness};
pub use service::Service;
