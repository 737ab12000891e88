//! # wechatpay-notify
//!
//! Receive WeChat Pay (微信支付) notifications (回调通知): verified, decrypted, typed and
//! validated, for every kind in the catalogue.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// Generated code names this crate by its full path, so it reads the same here and in the
// generator's snapshot tests.
extern crate self as wechatpay_notify;

#[cfg(not(any(feature = "aws-lc", feature = "rustcrypto")))]
compile_error!("enable a crypto backend: feature `aws-lc` (default) or `rustcrypto`");

pub mod catalogue;
pub mod crypto;
pub mod dispatch;
pub mod error;
pub mod keys;
pub mod probe;
pub mod receive;
pub mod reply;
pub mod resource;
pub mod time;
pub mod types;
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
