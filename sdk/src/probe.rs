//! A single pass over a JSON object's top level, for the generated classifiers: it finds the
//! few fields that tell sibling kinds apart without allocating or building values, so telling
//! `TRANSACTION.SUCCESS#PARKING` from `#PARTNER` costs a fraction of the typed parse that
//! follows. Nested values are skipped by their brackets, not parsed.
//!
//! The scan checks the structure it walks (brackets, strings, separators); the typed parse that
//! follows checks everything else, so a malformed payload never gets further than here or there.
//!
//! ```
//! use wechatpay_notify::probe::top_level;
//!
//! let json = br#"{"sp_mchid":"1900000100","amount":{"total":1},"trade_scene":"PARKING"}"#;
//! let [scene, sub] = top_level(json, ["trade_scene", "sub_mchid"]).unwrap();
//! assert!(scene.equals("PARKING").unwrap());
//! assert!(!sub.is_present());
//! ```

use std::borrow::Cow;

/// A top-level field as found by [`top_level`]: its raw JSON text, or absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    name: &'static str,
    raw: Option<&'a [u8]>,
}

impl<'a> Field<'a> {
    /// `true` when the field is present and not `null`.
    pub fn is_present(&self) -> bool {
        self.raw.is_some_and(|r| r != b"null")
    }

    /// `true` when the field is a string equal to `value`; `false` when it is absent or
    /// `null`.
    ///
    /// # Errors
    /// [`ProbeError`] naming the field when it is present but not a string.
    pub fn equals(&self, value: &str) -> Result<bool, ProbeError> {
        match self.raw {
            None | Some(b"null") => Ok(false),
            Some(raw) => Ok(self.as_str(raw)? == value),
        }
    }

    fn as_str(&self, raw: &'a [u8]) -> Result<Cow<'a, str>, ProbeError> {
        let wrong = || ProbeError {
            path: Some(self.name.to_owned()),
            message: format!("invalid type: expected a string at {}", self.name),
        };
        let inner = raw
            .strip_prefix(b"\"")
            .and_then(|r| r.strip_suffix(b"\""))
            .ok_or_else(wrong)?;
        if inner.contains(&b'\\') {
            serde_json::from_slice::<String>(raw)
                .map(Cow::Owned)
                .map_err(|_| wrong())
        } else {
            std::str::from_utf8(inner)
                .map(Cow::Borrowed)
                .map_err(|_| wrong())
        }
    }
}

/// Why a payload could not be probed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProbeError {
    /// The field at fault, when the structure was fine but a field had the wrong type.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ProbeError {
    fn malformed(at: usize, what: &str) -> Self {
        ProbeError {
            path: None,
            message: format!("malformed JSON at byte {at}: {what}"),
        }
    }
}

/// How deep nested values may go before the scan gives up (the typed parse has its own limit).
const MAX_DEPTH: usize = 128;

/// Finds the fields `names` at the top level of the JSON object `json`, in one pass.
///
/// The first occurrence of a name counts (the typed parse rejects duplicates of the fields it
/// knows).
///
/// # Errors
/// [`ProbeError`] when `json` is not a structurally sound JSON object.
pub fn top_level<'a, const N: usize>(
    json: &'a [u8],
    names: [&'static str; N],
) -> Result<[Field<'a>; N], ProbeError> {
    let mut found = names.map(|name| Field { name, raw: None });
    let mut s = Scanner { b: json, i: 0 };
    s.ws();
    s.expect(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        s.i += 1;
        return s.end().map(|()| found);
    }
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        s.expect(b':')?;
        s.ws();
        let start = s.i;
        s.value()?;
        let raw = &json[start..s.i];
        let key = &key[1..key.len() - 1];
        for f in found.iter_mut() {
            if f.raw.is_none() && key_matches(key, f.name) {
                f.raw = Some(raw);
            }
        }
        s.ws();
        match s.next() {
            Some(b',') => continue,
            Some(b'}') => return s.end().map(|()| found),
            _ => return Err(ProbeError::malformed(s.i, "expected ',' or '}'")),
        }
    }
}

/// Compares a raw (still escaped) key with a field name.
fn key_matches(raw: &[u8], name: &str) -> bool {
    if raw.contains(&b'\\') {
        let quoted = [b"\"", raw, b"\""].concat();
        serde_json::from_slice::<String>(&quoted).is_ok_and(|k| k == name)
    } else {
        raw == name.as_bytes()
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ProbeError> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(ProbeError::malformed(
                self.i - 1,
                &format!("expected '{}'", c as char),
            ))
        }
    }

    fn end(&mut self) -> Result<(), ProbeError> {
        self.ws();
        if self.i >= self.b.len() {
            Ok(())
        } else {
            Err(ProbeError::malformed(self.i, "trailing characters"))
        }
    }

    /// A string, returned with its quotes.
    fn string(&mut self) -> Result<&'a [u8], ProbeError> {
        let start = self.i;
        self.expect(b'"')?;
        loop {
            match self.next() {
                Some(b'"') => return Ok(&self.b[start..self.i]),
                Some(b'\\') => self.i += 1,
                Some(c) if c < 0x20 => {
                    return Err(ProbeError::malformed(
                        self.i - 1,
                        "control character in string",
                    ));
                }
                Some(_) => {}
                None => return Err(ProbeError::malformed(self.i, "unterminated string")),
            }
        }
    }

    /// Skips one value of any kind.
    fn value(&mut self) -> Result<(), ProbeError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{' | b'[') => self.nested(),
            Some(_) => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.i += 1;
                }
                if self.i == start {
                    Err(ProbeError::malformed(start, "expected a value"))
                } else {
                    Ok(())
                }
            }
            None => Err(ProbeError::malformed(self.i, "expected a value")),
        }
    }

    /// Skips an object or array by its brackets, strings included.
    fn nested(&mut self) -> Result<(), ProbeError> {
        let mut closers = [0u8; MAX_DEPTH];
        let mut depth = 0;
        loop {
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(ProbeError::malformed(self.i, "nested too deeply"));
                    }
                    closers[depth] = if open == b'{' { b'}' } else { b']' };
                    depth += 1;
                    self.i += 1;
                }
                Some(close @ (b'}' | b']')) => {
                    if depth == 0 || closers[depth - 1] != close {
                        return Err(ProbeError::malformed(self.i, "mismatched bracket"));
                    }
                    depth -= 1;
                    self.i += 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(_) => self.i += 1,
                None => return Err(ProbeError::malformed(self.i, "unterminated value")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_fields_only() {
        let json = br#" { "a" : {"trade_scene":"X","b":[1,{"c":"]"}]}, "trade_scene" : "PARKING" , "n": null, "k": 12 } "#;
        let [scene, n, k, missing] = top_level(json, ["trade_scene", "n", "k", "zz"]).unwrap();
        assert!(scene.equals("PARKING").unwrap());
        assert!(!n.is_present());
        assert!(!n.equals("x").unwrap());
        assert!(k.is_present());
        assert_eq!(k.equals("12").unwrap_err().path.as_deref(), Some("k"));
        assert!(!missing.is_present());
    }

    #[test]
    fn escapes_in_keys_and_values() {
        let json = br#"{"trade\u005fscene":"PARK\u0049NG"}"#;
        let [scene] = top_level(json, ["trade_scene"]).unwrap();
        assert!(scene.equals("PARKING").unwrap());
    }

    #[test]
    fn malformed_structures_are_refused() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":[1}",
            b"{\"a\":\"x",
            b"{\"a\":1} x",
            b"{\"a\":\"\x01\"}",
        ] {
            assert!(
                top_level(bad, ["a"]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(top_level(b"{}", ["a"]).is_ok());
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(top_level(deep.as_bytes(), ["a"]).is_err());
    }
}
