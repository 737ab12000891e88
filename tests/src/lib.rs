//! Cross-crate tests of wechatpay-notify live in `tests/`.
