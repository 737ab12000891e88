//! What the merchant answers WeChat Pay. A wrong answer format counts as a failed delivery, so
//! replies are built here, never by hand.
//!
//! - Success: `204 No Content` (the reference allows 200 or 204 with no body), or `200` with
//!   `{"code":"SUCCESS","message":"",…}` for kinds whose reply carries data.
//! - Failure: the error's status (4XX forged or malformed, 5XX retryable) with
//!   `{"code":"FAIL","message":"…"}`; the message reveals nothing secret.
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

    /// `true` for 2XX.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The reply as an `http` response.
    pub fn into_http(self) -> http::Response<bytes::Bytes> {
        let mut builder = http::Response::builder().status(self.status);
        if !self.body.is_empty() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        builder
            .body(bytes::Bytes::from(self.body))
            .unwrap_or_else(|_| http::Response::new(bytes::Bytes::new()))
    }
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
