//! Cheap diagnoses for a signature that does not verify: the usual causes are a body that was
//! re-serialized (by a framework parsing JSON before the handler sees it) or read as text.
//! These only run after a failure, and each costs one pass over the body at most.

/// Why a body whose signature failed may have been altered on its way to the SDK.
pub(crate) fn body_hints(body: &[u8]) -> Vec<String> {
    let mut hints = Vec::new();
    let Ok(text) = std::str::from_utf8(body) else {
        hints.push("body is not valid UTF-8: verify the raw bytes as received".to_owned());
        return hints;
    };
    if text.trim_start().starts_with('{') && text.contains("\n ") {
        hints.push(
            "body looks pretty-printed: verify the raw body, not a re-serialized one".to_owned(),
        );
    } else if text.contains("\": ") || text.contains("\", \"") {
        hints.push("body has spaces after ':' or ',' (WeChat Pay sends compact JSON): it looks re-serialized".to_owned());
    }
    if text.contains("\\u") && !text.contains("\\u00") {
        hints.push(
            "body escapes non-ASCII characters as \\uXXXX: it looks re-serialized".to_owned(),
        );
    }
    if let Some(keys) = top_level_keys(text)
        && keys.len() > 2
        && keys.windows(2).all(|w| w[0] <= w[1])
        && keys.first() != Some(&"id")
    {
        hints.push(
            "top-level keys are in alphabetical order, as a re-serializer leaves them (WeChat Pay sends id first)"
                .to_owned(),
        );
    }
    if body.ends_with(b"\n") || body.ends_with(b"\r") {
        hints.push("body ends with a line break that WeChat Pay does not send".to_owned());
    }
    hints
}

/// The keys of the top-level JSON object, in order (without a full parse).
fn top_level_keys(text: &str) -> Option<Vec<&str>> {
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    // serde_json's Map keeps keys sorted unless preserve_order is enabled, so read the order
    // from the text: each top-level key is a string at depth 1 followed by ':'.
    let mut keys = Vec::with_capacity(value.len());
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let end = i.min(bytes.len());
                let rest = text.get(end + 1..)?.trim_start();
                if depth == 1 && rest.starts_with(':') {
                    keys.push(text.get(start..end)?);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_wechat_body_has_no_hints() {
        let body = br#"{"id":"EV-1","create_time":"2015-05-20T13:29:35+08:00","event_type":"TRANSACTION.SUCCESS","resource":{"nonce":"abc"}}"#;
        assert!(body_hints(body).is_empty());
    }

    #[test]
    fn re_serialized_bodies_are_recognised() {
        let pretty = b"{\n  \"id\": \"EV-1\"\n}";
        assert!(body_hints(pretty)[0].contains("pretty-printed"));
        let spaced = br#"{"id": "EV-1", "event_type": "A"}"#;
        assert!(body_hints(spaced)[0].contains("spaces"));
        let sorted = br#"{"create_time":"x","event_type":"A","id":"EV-1","resource":{}}"#;
        assert!(
            body_hints(sorted)
                .iter()
                .any(|h| h.contains("alphabetical"))
        );
        let escaped = br#"{"id":"EV-1","summary":"\u652f\u4ed8"}"#;
        assert!(body_hints(escaped).iter().any(|h| h.contains("uXXXX")));
        assert!(body_hints(b"\xff\xfe").iter().any(|h| h.contains("UTF-8")));
    }
}
