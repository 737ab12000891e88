//! A tolerant reader for one PEM block.
//!
//! Key files come from many hands: a certificate pasted after OpenSSL's text dump, CRLF line
//! ends, lines wrapped at 76 instead of 64 columns, a key squeezed onto one line. The block is
//! found between its `-----BEGIN label-----` and `-----END label-----` lines, whitespace is
//! dropped, and the rest must be standard base64. Text before or after the block is ignored;
//! a second block is refused, since which one was meant cannot be guessed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::KeyError;

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// One decoded PEM block: its label and its DER bytes.
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Read the single PEM block in `text`.
pub(crate) fn parse_one(text: &str) -> Result<PemBlock, KeyError> {
    let pem = |reason| KeyError::Pem { reason };
    let start = text.find(BEGIN).ok_or(pem("no -----BEGIN line"))?;
    let after_begin = &text[start + BEGIN.len()..];
    let label_end = after_begin
        .find(DASHES)
        .ok_or(pem("unterminated -----BEGIN line"))?;
    let label = &after_begin[..label_end];
    if label.contains('\n') {
        return Err(pem("unterminated -----BEGIN line"));
    }
    let body_and_rest = &after_begin[label_end + DASHES.len()..];
    let end_line = format!("{END}{label}{DASHES}");
    let body_end = body_and_rest
        .find(&end_line)
        .ok_or(pem("no -----END line matching the -----BEGIN line"))?;
    let body = &body_and_rest[..body_end];
    let rest = &body_and_rest[body_end + end_line.len()..];
    if rest.contains(BEGIN) {
        return Err(pem(
            "more than one PEM block; give one key or certificate at a time",
        ));
    }
    if body.contains(':') {
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`): an encrypted key, never a public one.
        return Err(pem("PEM headers (an encrypted key?) are not supported"));
    }
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if b64.is_empty() {
        return Err(pem("the PEM block is empty"));
    }
    let der = STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| pem("the PEM body is not valid base64"))?;
    Ok(PemBlock {
        label: label.to_owned(),
        der,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_surroundings_and_wrapping() {
        let text = "Certificate:\r\n  Data: …\r\n-----BEGIN TEST-----\r\nAAEC\r\nAwQF\r\n-----END TEST-----\r\n\n";
        let block = parse_one(text).unwrap();
        assert_eq!(block.label, "TEST");
        assert_eq!(block.der, [0, 1, 2, 3, 4, 5]);
        let one_line = parse_one("-----BEGIN X-----AAECAwQF-----END X-----").unwrap();
        assert_eq!(one_line.der, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn refuses_broken_blocks() {
        for text in [
            "",
            "AAECAwQF",
            "-----BEGIN X-----\nAAEC\n",
            "-----BEGIN X-----\nAAEC\n-----END Y-----",
            "-----BEGIN X-----\n-----END X-----",
            "-----BEGIN X-----\n!!!!\n-----END X-----",
            "-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\nAAEC\n-----END X-----",
            "-----BEGIN X-----\nAAEC\n-----END X-----\n-----BEGIN X-----\nAAEC\n-----END X-----",
        ] {
            assert!(
                matches!(parse_one(text), Err(KeyError::Pem { .. })),
                "{text:?}"
            );
        }
    }
}
