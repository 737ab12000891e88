//! What the merchant answers WeChat Pay. A wrong answer format counts as a failed delivery, so
//! replies are built here, never by hand.
//!
//! - Success: `204 No Content` (the reference allows 200 or 204 with no body), or `200` with
//!   `{"code":"SUCCESS","message":"",…}` for kinds whose reply carries data.
//! - Failure: the error's status (4XX forged or malformed, 5XX retryable) with
//!   `{"code":"FAIL","message":"…"}`; the message reveals nothing secret.
//! - APIv2 (XML): `200` with `<xml><return_code>…</return_code><return_msg>…</return_msg></xml>`
//!   for the classic kinds, `<xml><code>…</code><message>…</message></xml>` for the
//!   payscore-style events — chosen from the kind ([`V2ReplyStyle`]), never by the merchant;
//!   failures keep the error's status with `FAIL` in the same elements.
//!
//! ```
//! use wechatpay_notify::reply::Reply;
//! use wechatpay_notify::ErrorKind;
//!
//! assert_eq!(Reply::success().status, 204);
//! let r = Reply::failure(ErrorKind::SignatureMismatch);
//! assert_eq!((r.status, r.body.as_str()), (401, r#"{"code":"FAIL","message":"sign mismatched"}"#));
//! ```

use serde::Serialize;

use crate::ErrorKind;
use crate::catalogue::V2ReplyStyle;

/// An HTTP answer to WeChat Pay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The exact body text (empty for 204).
    pub body: String,
}

impl Reply {
    /// Acknowledges a notification: `204`, no body.
    pub fn success() -> Self {
        Reply {
            status: 204,
            body: String::new(),
        }
    }

    /// Acknowledges with reply data: `200`, `{"code":"SUCCESS","message":"",…data}`. Data that
    /// serializes to `null` (kinds without reply data) gives [`Reply::success`].
    ///
    /// # Errors
    /// When `data` does not serialize to a JSON object or null.
    pub fn success_with<T: Serialize>(data: &T) -> Result<Self, serde_json::Error> {
        match serde_json::to_value(data)? {
            serde_json::Value::Null => Ok(Reply::success()),
            serde_json::Value::Object(fields) => {
                let mut map = serde_json::Map::new();
                map.insert("code".into(), "SUCCESS".into());
                map.insert("message".into(), "".into());
                for (k, v) in fields {
                    if k != "code" && k != "message" {
                        map.insert(k, v);
                    }
                }
                Ok(Reply {
                    status: 200,
                    body: serde_json::Value::Object(map).to_string(),
                })
            }
            _ => Err(serde::ser::Error::custom(
                "reply data must be a JSON object",
            )),
        }
    }

    /// Answers a failure of `kind`.
    pub fn failure(kind: ErrorKind) -> Self {
        #[derive(Serialize)]
        struct Fail<'a> {
            code: &'a str,
            message: &'a str,
        }
        let body = serde_json::to_string(&Fail {
            code: "FAIL",
            message: kind.reply_message(),
        })
        .unwrap_or_else(|_| r#"{"code":"FAIL","message":"error"}"#.to_owned());
        Reply {
            status: kind.http_status(),
            body,
        }
    }

    /// Acknowledges an APIv2 notification: `200` with `SUCCESS` / `OK` in the kind's elements.
    ///
    /// ```
    /// use wechatpay_notify::catalogue::V2ReplyStyle;
    /// use wechatpay_notify::reply::Reply;
    ///
    /// let r = Reply::v2_success(V2ReplyStyle::ReturnCode);
    /// assert_eq!(r.status, 200);
    /// assert_eq!(r.body, "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>");
    /// let r = Reply::v2_success(V2ReplyStyle::CodeMessage);
    /// assert_eq!(r.body, "<xml><code><![CDATA[SUCCESS]]></code><message><![CDATA[OK]]></message></xml>");
    /// ```
    pub fn v2_success(style: V2ReplyStyle) -> Self {
        Reply {
            status: 200,
            body: v2_body(style, "SUCCESS", "OK"),
        }
    }

    /// Answers an APIv2 failure of `kind`: its status, `FAIL` and a short message in the
    /// kind's elements.
    pub fn v2_failure(kind: ErrorKind, style: V2ReplyStyle) -> Self {
        Reply {
            status: kind.http_status(),
            body: v2_body(style, "FAIL", kind.reply_message()),
        }
    }

    /// The body's media type: `application/xml` for an APIv2 reply, `application/json`
    /// otherwise.
    pub fn content_type(&self) -> &'static str {
        if self.body.starts_with('<') {
            "application/xml; charset=utf-8"
        } else {
            "application/json"
        }
    }

    /// `true` for 2XX.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The reply as an `http` response.
    pub fn into_http(self) -> http::Response<bytes::Bytes> {
        let mut builder = http::Response::builder().status(self.status);
        if !self.body.is_empty() {
            builder = builder.header(http::header::CONTENT_TYPE, self.content_type());
        }
        builder
            .body(bytes::Bytes::from(self.body))
            .unwrap_or_else(|_| http::Response::new(bytes::Bytes::new()))
    }
}

/// `<xml><return_code>…</return_code><return_msg>…</return_msg></xml>` or its `code` /
/// `message` form. The texts are the SDK's own (no `]]>` in them).
fn v2_body(style: V2ReplyStyle, code: &str, message: &str) -> String {
    let (c, m) = match style {
        V2ReplyStyle::CodeMessage => ("code", "message"),
        _ => ("return_code", "return_msg"),
    };
    format!("<xml><{c}><![CDATA[{code}]]></{c}><{m}><![CDATA[{message}]]></{m}></xml>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_message_fits_the_reply_limit() {
        for kind in ErrorKind::ALL {
            let r = Reply::failure(*kind);
            assert!(kind.reply_message().chars().count() <= 64);
            assert!(r.status >= 400, "{kind}");
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(v["code"], "FAIL");
        }
    }

    #[test]
    fn reply_data_goes_beside_success() {
        #[derive(Serialize)]
        struct Retention {
            retention_type: &'static str,
        }
        let r = Reply::success_with(&Retention {
            retention_type: "COUPON",
        })
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body,
            r#"{"code":"SUCCESS","message":"","retention_type":"COUPON"}"#
        );
        assert_eq!(Reply::success_with(&()).unwrap(), Reply::success());
        assert!(Reply::success_with(&5).is_err());
    }
}
