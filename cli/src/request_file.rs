//! The captured-request format `inspect` reads:
//! `{"headers": {…} | [[name, value], …], "body": "…" | "body_base64": "…"}`.

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

/// One request as captured.
#[derive(Debug)]
pub struct CapturedRequest {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    headers: Headers,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Headers {
    Map(serde_json::Map<String, serde_json::Value>),
    Pairs(Vec<(String, String)>),
}

/// Parses one captured request. The error names the JSON path or header at fault.
pub fn parse(text: &str) -> Result<CapturedRequest, String> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| format!("not a request object: {e}"))?;
    let pairs: Vec<(String, String)> = match raw.headers {
        Headers::Pairs(p) => p,
        Headers::Map(m) => m
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k, s)),
                serde_json::Value::Number(n) => Ok((k, n.to_string())),
                _ => Err(format!("headers.{k}: expected a string")),
            })
            .collect::<Result<_, _>>()?,
    };
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("headers: invalid header name {name:?}"))?;
        let v = HeaderValue::from_str(&value)
            .map_err(|_| format!("headers.{name}: invalid header value"))?;
        headers.append(n, v);
    }
    let body = match (raw.body, raw.body_base64) {
        (Some(b), None) => b.into_bytes(),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("body_base64: {e}"))?,
        (Some(_), Some(_)) => return Err("give body or body_base64, not both".to_owned()),
        (None, None) => return Err("body: missing (or body_base64)".to_owned()),
    };
    Ok(CapturedRequest { headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_header_forms() {
        let a = parse(r#"{"headers":{"Wechatpay-Nonce":"n"},"body":"{}"}"#).unwrap();
        assert_eq!(a.headers["wechatpay-nonce"], "n");
        let b = parse(r#"{"headers":[["A","1"],["a","2"]],"body_base64":"e30="}"#).unwrap();
        assert_eq!(b.headers.get_all("a").iter().count(), 2);
        assert_eq!(b.body, b"{}");
        assert!(parse(r#"{"headers":{},"body":"x","body_base64":"eA=="}"#).is_err());
        assert!(
            parse(r#"{"headers":{"A":{}},"body":""}"#)
                .unwrap_err()
                .contains("headers.A")
        );
    }
}
