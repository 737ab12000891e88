//! Every kind's first schema example, embedded at build time (see `build.rs`): what `send`
//! sends without `--data`, and what `demo` delivers.

use wechatpay_notify::Kind;
use wechatpay_notify::catalogue::WireFormat;
use wechatpay_notify::testkit::simulator::Payload;

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// The kind's schema example as a payload: the resource JSON (compacted, key order kept) for
/// APIv3; the outer XML and, for encrypted kinds, the plaintext for APIv2.
pub fn example(kind: Kind) -> Result<Payload, String> {
    let (_, file, plaintext) = EXAMPLES
        .iter()
        .find(|(schema, _, _)| *schema == kind.info().schema)
        .ok_or_else(|| format!("{}: no schema example", kind.id()))?;
    payload(kind, file.as_bytes(), plaintext.map(str::as_bytes))
}

/// A payload of `kind` from user data: for APIv3 the resource JSON; for an unencrypted APIv2
/// kind the whole XML body; for an encrypted APIv2 kind the plaintext XML, wrapped in the
/// outer elements of the kind's example.
pub fn from_data(kind: Kind, data: &[u8]) -> Result<Payload, String> {
    match EXAMPLES
        .iter()
        .find(|(schema, _, _)| *schema == kind.info().schema)
    {
        Some((_, outer, Some(_))) if kind.info().format == WireFormat::V2Xml => {
            payload(kind, outer.as_bytes(), Some(data))
        }
        _ => payload(kind, data, None),
    }
}

fn payload(kind: Kind, file: &[u8], plaintext: Option<&[u8]>) -> Result<Payload, String> {
    match kind.info().format {
        WireFormat::V3Json => {
            let value: serde_json::Value = serde_json::from_slice(file)
                .map_err(|e| format!("{}: the resource is not JSON: {e}", kind.id()))?;
            Ok(Payload::v3(value.to_string()))
        }
        _ => Payload::v2(kind, file, plaintext.map(<[u8]>::to_vec)).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_an_embedded_example() {
        for &kind in Kind::ALL {
            example(kind).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(EXAMPLES.len(), Kind::ALL.len());
    }
}
