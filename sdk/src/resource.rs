//! From decrypted plaintext to a typed [`Notification`]: classification, typed parsing and
//! validation, with the JSON path of anything that does not fit.

use crate::error::{ResourceError, ResourceFault};
use crate::generated::{Classified, Kind, Notification, classify_with};
use crate::probe::{Field, ProbeError, Source};
use crate::validate::{Validate, Violation};

/// A resource parsed into its kind's type.
#[derive(Debug)]
pub struct Parsed {
    /// The notification, typed (or [`Notification::Unknown`] for an event_type the catalogue
    /// lacks).
    pub notification: Notification,
    /// Lengths, formats and enum values outside the catalogue's constraints.
    pub violations: Vec<Violation>,
}

/// Classifies an APIv3 plaintext by its event_type (and the envelope's original_type), parses
/// it into the kind's type and validates it.
///
/// # Errors
/// [`ResourceError`] when the plaintext is not JSON, fits no variant of a known event_type, or
/// lacks a required field or has a value of the wrong JSON type — with the path at fault.
pub fn parse_v3(
    event_type: &str,
    original_type: Option<&str>,
    plaintext: &[u8],
) -> Result<Parsed, ResourceError> {
    parse_v3_speculating(event_type, original_type, plaintext, true)
}

/// [`parse_v3`]; without `speculate`, the plaintext is probed, then parsed (the reference the
/// one-pass path is tested against).
fn parse_v3_speculating(
    event_type: &str,
    original_type: Option<&str>,
    plaintext: &[u8],
    speculate: bool,
) -> Result<Parsed, ResourceError> {
    let mut source = Speculative {
        plaintext,
        speculate,
        parsed_as: None,
        parsed: None,
    };
    let kind = match classify_with(event_type, original_type, &mut source) {
        Ok(Classified::Kind(kind)) => kind,
        Ok(Classified::UnknownEventType) => return parse_unknown(event_type, plaintext),
        Ok(Classified::NoVariant) => {
            return Err(ResourceError {
                kind: None,
                reason: ResourceFault::NoVariant,
                path: None,
                message: format!("payload fits no variant of {event_type}"),
            });
        }
        Err(e) => return Err(explain_probe(plaintext, e)),
    };
    let notification = match source.parsed {
        Some(Ok(notification)) if source.parsed_as == Some(kind) => notification,
        Some(Err(_)) if source.parsed_as == Some(kind) => return Err(explain(kind, plaintext)),
        _ => parse_kind(kind, plaintext)?,
    };
    let violations = notification.validate();
    Ok(Parsed {
        notification,
        violations,
    })
}

/// Parses a plaintext as `kind`, without classification.
///
/// # Errors
/// As [`parse_v3`].
pub fn parse_kind(kind: Kind, plaintext: &[u8]) -> Result<Notification, ResourceError> {
    // Validating UTF-8 once for the whole text (a fast, vectorised pass) spares serde_json
    // from validating every string on its own.
    let Ok(text) = std::str::from_utf8(plaintext) else {
        return Err(explain(kind, plaintext));
    };
    let mut de = serde_json::Deserializer::from_str(text);
    match kind.deserialize(&mut de).and_then(|n| de.end().map(|()| n)) {
        Ok(n) => Ok(n),
        Err(_) => Err(explain(kind, plaintext)),
    }
}

/// The plaintext as [`parse_v3`]'s classifier reads it: where kinds share the event_type, it
/// is parsed as the event_type's default kind while the rules' fields are recorded, so a
/// notification of that kind (`TRANSACTION.SUCCESS#BASIC`, say) is read once. When the rules
/// name another kind, that parse is dropped and the plaintext parsed again; when the parse
/// could not read the whole top level, the fields are probed on their own.
struct Speculative<'a> {
    plaintext: &'a [u8],
    speculate: bool,
    /// The kind the plaintext was parsed as, and how that parse went.
    parsed_as: Option<Kind>,
    parsed: Option<Result<Notification, serde_json::Error>>,
}

impl<'a> Source<'a, Kind> for &mut Speculative<'a> {
    fn top_level<const N: usize>(
        &mut self,
        likely: Option<Kind>,
        names: [&'static str; N],
    ) -> Result<[Field<'a>; N], ProbeError> {
        if let (Some(kind), Ok(text), true) =
            (likely, std::str::from_utf8(self.plaintext), self.speculate)
        {
            let fields =
                crate::probe::recording(text, names, &mut self.parsed, |d| kind.deserialize(d));
            if let Some(fields) = fields {
                self.parsed_as = Some(kind);
                return Ok(fields);
            }
            self.parsed = None;
        }
        crate::probe::top_level(self.plaintext, names)
    }
}

fn parse_unknown(event_type: &str, plaintext: &[u8]) -> Result<Parsed, ResourceError> {
    match serde_json::from_slice(plaintext) {
        Ok(resource) => Ok(Parsed {
            notification: Notification::Unknown(crate::catalogue::UnknownNotification {
                event_type: event_type.to_owned(),
                resource,
            }),
            violations: Vec::new(),
        }),
        Err(e) => Err(malformed(None, &e)),
    }
}

/// The error for a plaintext that is not JSON at all, if it is not.
fn not_json(kind: Option<&'static str>, plaintext: &[u8]) -> Option<ResourceError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(plaintext)
        .err()
        .map(|e| malformed(kind, &e))
}

fn malformed(kind: Option<&'static str>, e: &serde_json::Error) -> ResourceError {
    ResourceError {
        kind,
        reason: ResourceFault::MalformedJson,
        path: None,
        message: strip_position(&e.to_string()),
    }
}

/// Works out why a plaintext did not parse, with its path: only on the error path, so the
/// fast path never pays for path tracking.
#[cold]
fn explain(kind: Kind, plaintext: &[u8]) -> ResourceError {
    let kind_id = Some(kind.id());
    if let Some(e) = not_json(kind_id, plaintext) {
        return e;
    }
    let mut de = serde_json::Deserializer::from_slice(plaintext);
    let mut track = serde_path_to_error::Track::new();
    let result = kind.deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
    let err = match result {
        Ok(_) => {
            return ResourceError {
                kind: kind_id,
                reason: ResourceFault::MalformedJson,
                path: None,
                message: "trailing characters after the JSON value".to_owned(),
            };
        }
        Err(e) => e,
    };
    let (path, message) = split_path_error(&track.path(), &err);
    // `null` in a required field is as good as missing (only optional fields take null).
    let reason =
        if message.starts_with("missing field") || message.starts_with("invalid type: null") {
            ResourceFault::MissingField
        } else {
            ResourceFault::WrongType
        };
    ResourceError {
        kind: kind_id,
        reason,
        path,
        message,
    }
}

/// Why classification could not read the plaintext: malformed JSON, or a field a rule
/// compares with the wrong type (named in the path).
#[cold]
fn explain_probe(plaintext: &[u8], e: crate::probe::ProbeError) -> ResourceError {
    not_json(None, plaintext).unwrap_or(ResourceError {
        kind: None,
        reason: ResourceFault::WrongType,
        path: e.path,
        message: e.message,
    })
}

/// Splits a path-tracking error into the JSON path at fault and a message without the
/// line/column suffix; a missing field's path names the field itself.
pub(crate) fn split_path_error(
    at: &serde_path_to_error::Path,
    e: &serde_json::Error,
) -> (Option<String>, String) {
    let message = strip_position(&e.to_string());
    let mut path = at.to_string();
    if path == "." {
        path.clear();
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        if path.is_empty() {
            path = field.to_owned();
        } else {
            path = format!("{path}.{field}");
        }
    }
    ((!path.is_empty()).then_some(path), message)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every payload of an event_type whose kinds the plaintext tells apart — the examples,
    /// and each with every top-level field removed, null, a number, an object, `"PARKING"`,
    /// `"PAP"`, or with its JSON broken — gives the same outcome whether the likely kind is
    /// parsed while classifying or the plaintext is probed first.
    #[test]
    fn one_pass_agrees_with_probing_then_parsing() {
        let v3 = |k: &&Kind| k.info().format == crate::catalogue::WireFormat::V3Json;
        let shared = |kind: &Kind| {
            Kind::ALL
                .iter()
                .filter(v3)
                .filter(|k| k.info().event_type == kind.info().event_type)
                .count()
                > 1
        };
        let mut checked = 0;
        for kind in Kind::ALL.iter().filter(v3).filter(|k| shared(k)) {
            let info = kind.info();
            let stem = info.schema.trim_start_matches("schema/kinds/");
            let path = format!(
                "{}/../schema/examples/{}",
                env!("CARGO_MANIFEST_DIR"),
                stem.replace(".yaml", ".json")
            );
            let example: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let serde_json::Value::Object(fields) = &example else {
                panic!("{path}: not an object");
            };
            let mut payloads = vec![example.to_string()];
            for name in fields.keys() {
                let mut without = fields.clone();
                without.remove(name);
                payloads.push(serde_json::Value::Object(without).to_string());
                for value in [
                    serde_json::json!(null),
                    serde_json::json!(5),
                    serde_json::json!({}),
                    serde_json::json!("PARKING"),
                    serde_json::json!("PAP"),
                ] {
                    let mut changed = fields.clone();
                    changed.insert(name.clone(), value);
                    payloads.push(serde_json::Value::Object(changed).to_string());
                }
            }
            let text = example.to_string();
            payloads.push(format!("{text} x"));
            payloads.push(text[..text.len() - 1].to_owned());
            payloads.push(format!("[{text}]"));
            payloads.push(text.replacen('{', "{\"sp_mchid\":\"1\",", 1));
            for payload in &payloads {
                let event_type = info.event_type.unwrap();
                for original_type in [info.original_type, None] {
                    let one =
                        parse_v3_speculating(event_type, original_type, payload.as_bytes(), true);
                    let two =
                        parse_v3_speculating(event_type, original_type, payload.as_bytes(), false);
                    match (one, two) {
                        (Ok(one), Ok(two)) => {
                            assert!(one.notification == two.notification, "{payload}");
                            assert_eq!(one.violations, two.violations, "{payload}");
                        }
                        (Err(one), Err(two)) => assert_eq!(one, two, "{payload}"),
                        (one, two) => panic!("{payload}: {one:?} against {two:?}"),
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn positions_are_stripped() {
        assert_eq!(
            strip_position("missing field `a` at line 1 column 7"),
            "missing field `a`"
        );
    }
}
