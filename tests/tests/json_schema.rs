//! The JSON Schemas of `schema/json/` (one per kind, emitted by `codegen/src/json_schema.rs`)
//! against two independent references:
//!
//! 1. what schemars derives from the generated Rust type of the kind: once `$ref`s are resolved
//!    and `Option` nullability is normalised (`anyOf [X, null]` and `type: [X, "null"]` alike),
//!    the same property names per object, required sets, JSON types and nullability,
//!    `minLength`/`maxLength`, `minItems`/`maxItems` and enum values. Annotations (descriptions,
//!    titles, formats, patterns…) are listed, not compared.
//! 2. the SDK's strict validation: every example, and every mutation `common/` makes of it
//!    (lengths one over and under in ASCII and in `粤`, counts, formats, enum values, quoted
//!    integers, fields missing, null or of the wrong type, optional fields removed or null,
//!    unknown extra fields), is valid against the kind's JSON Schema (the `jsonschema` crate,
//!    formats asserted) exactly when the SDK parses it as the kind without a violation.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};
use wechatpay_notify::resource::parse_kind;
use wechatpay_notify::validate::Validate;
use wechatpay_notify::{Kind, Notification};

/// The schema file of a kind, as emitted.
fn emitted_schema(kind: Kind) -> Value {
    let stem = kind.info().schema;
    let stem = stem
        .trim_start_matches("schema/kinds/")
        .trim_end_matches(".yaml");
    let path = root()
        .join(codegen::json_schema::JSON_SCHEMA_DIR)
        .join(format!("{stem}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {}: {e}: run `cargo xtask codegen`",
            kind.id(),
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Normalised schemas
// ---------------------------------------------------------------------------------------------

/// The keywords compared (with `nullable`, which the normalisation adds).
const COMPARED: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
];

/// The keywords the normalisation resolves away.
const STRUCTURE: &[&str] = &["$ref", "$defs", "anyOf", "$schema"];

/// Reduces a schema to its compared keywords, `$ref`s resolved and nullability as
/// `"nullable": true`; remembers every other keyword, by keyword, path and value.
struct Normaliser<'a> {
    root: &'a Value,
    annotations: BTreeMap<String, BTreeMap<String, Value>>,
}

impl<'a> Normaliser<'a> {
    fn new(root: &'a Value) -> Self {
        Normaliser {
            root,
            annotations: BTreeMap::new(),
        }
    }

    /// The keywords of `schema` with `$ref` and `anyOf [X, null]` merged in, and whether null
    /// is allowed.
    fn flatten(&self, schema: &Value, at: &str) -> (Map<String, Value>, bool) {
        let mut map = match schema {
            Value::Bool(true) => Map::new(),
            Value::Object(m) => m.clone(),
            other => panic!("`{at}`: unexpected schema {other}"),
        };
        let mut nullable = false;
        if let Some(Value::String(r)) = map.remove("$ref") {
            let target = r
                .strip_prefix('#')
                .and_then(|p| self.root.pointer(p))
                .unwrap_or_else(|| panic!("`{at}`: unresolved $ref {r}"));
            let (inner, null) = self.flatten(target, at);
            nullable |= null;
            for (k, v) in inner {
                map.entry(k).or_insert(v);
            }
        }
        let non_null = match map
            .get("anyOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([x, null] | [null, x]) if null == &json!({"type": "null"}) => Some(x.clone()),
            _ => None,
        };
        if let Some(other) = non_null {
            let (inner, _) = self.flatten(&other, at);
            map.remove("anyOf");
            nullable = true;
            for (k, v) in inner {
                map.entry(k).or_insert(v);
            }
        }
        if let Some(Value::Array(types)) = map.get_mut("type") {
            let before = types.len();
            types.retain(|t| t != "null");
            nullable |= types.len() < before;
            if let [one] = types.as_slice() {
                let one = one.clone();
                map.insert("type".into(), one);
            }
        }
        if let Some(Value::Array(values)) = map.get_mut("enum") {
            let before = values.len();
            values.retain(|v| !v.is_null());
            nullable |= values.len() < before;
        }
        (map, nullable)
    }

    fn normalise(&mut self, schema: &Value, at: &str) -> Value {
        let (map, nullable) = self.flatten(schema, at);
        let mut out = Map::new();
        for (key, value) in map {
            let value = match key.as_str() {
                "properties" => {
                    let props = value.as_object().expect("properties is an object");
                    let props = props.iter().map(|(name, s)| {
                        let path = if at.is_empty() {
                            name.clone()
                        } else {
                            format!("{at}.{name}")
                        };
                        (name.clone(), self.normalise(s, &path))
                    });
                    Value::Object(props.collect())
                }
                "items" => self.normalise(&value, &format!("{at}[]")),
                "required" => {
                    let set: BTreeSet<&str> = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    set.into_iter().collect()
                }
                k if COMPARED.contains(&k) => value,
                k if STRUCTURE.contains(&k) => continue,
                _ => {
                    self.annotations
                        .entry(key)
                        .or_default()
                        .insert(at.to_owned(), value);
                    continue;
                }
            };
            out.insert(key, value);
        }
        // Null is a value of a schema without `type`: `nullable` would say nothing.
        if nullable && out.contains_key("type") {
            out.insert("nullable".into(), true.into());
        }
        Value::Object(out)
    }
}

/// The differences between two normalised schemas, with the path of each.
fn differences(emitted: &Value, derived: &Value, at: &str, out: &mut Vec<String>) {
    let (Some(e), Some(d)) = (emitted.as_object(), derived.as_object()) else {
        unreachable!("normalised schemas are objects");
    };
    let here = if at.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`{at}`")
    };
    let keys: BTreeSet<&String> = e.keys().chain(d.keys()).collect();
    for key in keys {
        match (key.as_str(), e.get(key), d.get(key)) {
            ("properties", Some(ep), Some(dp)) => {
                let names: BTreeSet<&String> = ep
                    .as_object()
                    .into_iter()
                    .chain(dp.as_object())
                    .flat_map(Map::keys)
                    .collect();
                for name in names {
                    let path = if at.is_empty() {
                        name.clone()
                    } else {
                        format!("{at}.{name}")
                    };
                    match (ep.get(name), dp.get(name)) {
                        (Some(a), Some(b)) => differences(a, b, &path, out),
                        (a, _) => out.push(format!(
                            "`{path}`: a property only {}",
                            if a.is_some() {
                                "the emitted schema has"
                            } else {
                                "schemars derives"
                            }
                        )),
                    }
                }
            }
            ("items", Some(a), Some(b)) => differences(a, b, &format!("{at}[]"), out),
            (_, a, b) if a != b => out.push(format!(
                "{here}: `{key}` is {} in the emitted schema, {} in what schemars derives",
                a.map_or("absent".to_owned(), Value::to_string),
                b.map_or("absent".to_owned(), Value::to_string),
            )),
            _ => {}
        }
    }
}

/// How the annotations of the two sides differ, one line per keyword.
fn annotation_report(emitted: &Normaliser<'_>, derived: &Normaliser<'_>) -> Vec<String> {
    let keys: BTreeSet<&String> = emitted
        .annotations
        .keys()
        .chain(derived.annotations.keys())
        .collect();
    let empty = BTreeMap::new();
    keys.into_iter()
        .map(|key| {
            let e = emitted.annotations.get(key).unwrap_or(&empty);
            let d = derived.annotations.get(key).unwrap_or(&empty);
            let only = |a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>| -> Vec<String> {
                a.iter().filter(|(p, _)| !b.contains_key(*p)).map(|(p, v)| format!("`{p}` {v}")).collect()
            };
            let differ = e.iter().filter(|(p, v)| d.get(*p).is_some_and(|w| w != *v)).count();
            let same = e.iter().filter(|(p, v)| d.get(*p) == Some(v)).count();
            let (e_only, d_only) = (only(e, d), only(d, e));
            let list = |v: &[String]| if v.len() <= 8 { format!(" {v:?}") } else { String::new() };
            format!(
                "`{key}`: same at {same} paths, different at {differ}, only emitted at {}{}, only derived at {}{}",
                e_only.len(), list(&e_only), d_only.len(), list(&d_only)
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Strict acceptance: the SDK and the JSON Schema
// ---------------------------------------------------------------------------------------------

fn validator(kind: Kind) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&emitted_schema(kind))
        .unwrap_or_else(|e| panic!("{}: the emitted schema does not compile: {e}", kind.id()))
}

/// `Ok` when the SDK parses `doc` as `kind` without a violation, else why not.
fn sdk_verdict(kind: Kind, doc: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(doc).expect("a JSON value serializes");
    let notification: Notification = parse_kind(kind, &bytes)
        .map_err(|e| format!("{:?} at {:?}", e.reason, e.path.unwrap_or_default()))?;
    let violations = notification.validate();
    if violations.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = violations
        .iter()
        .map(|v| format!("{} at `{}`", v.rule.as_str(), v.path))
        .collect();
    Err(list.join(", "))
}

/// `Ok` when `doc` is valid against the schema, else its errors.
fn schema_verdict(validator: &Validator, doc: &Value) -> Result<(), String> {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("`{}`: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Every document compared for one example: the example, the mutations of every field, the
/// minimal objects synthesized for them, and an unknown field in every object it holds.
/// Each is (path, what, document).
fn documents(cat: &Catalogue, ex: &Example) -> Vec<(String, String, Value)> {
    let mut out = vec![(
        String::new(),
        "the example as is".to_owned(),
        ex.value.clone(),
    )];
    let mut seen = BTreeSet::new();
    for site in sites(cat, ex.kind, &ex.value) {
        let synthesized = synthesized_case(&site, &mut seen);
        for case in synthesized.into_iter().chain(cases(cat, &site)) {
            let what = format!("{:?}: {}", case.constraint, case.what);
            out.push((site.path.to_string(), what, case.doc));
        }
    }
    for at in object_paths(cat, ex) {
        out.push((
            at.to_string(),
            format!("unknown field `{FUTURE_FIELD}`"),
            with_future_field(ex, &at),
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_kind_matches_what_schemars_derives() {
    let mut failures = Vec::new();
    for &kind in Kind::ALL {
        // What schemars derives from the kind's generated type.
        let derived = kind.json_schema().to_value();
        let emitted = emitted_schema(kind);
        let mut e = Normaliser::new(&emitted);
        let mut d = Normaliser::new(&derived);
        let (en, dn) = (e.normalise(&emitted, ""), d.normalise(&derived, ""));
        let mut diffs = Vec::new();
        differences(&en, &dn, "", &mut diffs);
        failures.extend(
            diffs
                .into_iter()
                .map(|diff| format!("{}: {diff}", kind.id())),
        );
        println!("{}: not compared:", kind.id());
        for line in annotation_report(&e, &d) {
            println!("  {line}");
        }
    }
    assert_no_failures("emitted schema vs schemars", &failures);
}

/// The normalisation equates the spellings of an optional value and resolves `$ref`s, and
/// keeps the bounds and nullability apart.
#[test]
fn the_normalisation_equates_spellings_only() {
    let norm = |s: Value| Normaliser::new(&s).normalise(&s, "");
    let any_of = norm(json!({"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]}));
    let type_list = norm(json!({"type": ["string", "null"], "maxLength": 3}));
    assert_eq!(any_of, type_list);
    assert_ne!(type_list, norm(json!({"type": "string", "maxLength": 3})));
    assert_ne!(
        type_list,
        norm(json!({"type": ["string", "null"], "maxLength": 4}))
    );
    let by_ref =
        json!({"$defs": {"X": {"type": "integer"}}, "properties": {"x": {"$ref": "#/$defs/X"}}});
    assert_eq!(
        norm(by_ref),
        norm(json!({"properties": {"x": {"type": "integer"}}}))
    );
}

#[test]
fn the_schema_accepts_exactly_what_strict_validation_accepts() {
    let cat = catalogue();
    let mut failures = Vec::new();
    let (mut compared, mut accepted) = (0, 0);
    let mut validators = BTreeMap::new();
    for ex in examples() {
        let validator = validators
            .entry(ex.sdk)
            .or_insert_with(|| validator(ex.sdk));
        for (path, what, doc) in documents(cat, ex) {
            let sdk = sdk_verdict(ex.sdk, &doc);
            let schema = schema_verdict(validator, &doc);
            compared += 1;
            accepted += usize::from(sdk.is_ok());
            if sdk.is_ok() != schema.is_ok() {
                let say = |r: &Result<(), String>| match r {
                    Ok(()) => "accepts it".to_owned(),
                    Err(why) => format!("rejects it ({why})"),
                };
                failures.push(format!(
                    "{} at `{path}` [{what}]: strict validation {}, the JSON Schema {}",
                    ex.label(),
                    say(&sdk),
                    say(&schema)
                ));
            }
        }
    }
    println!(
        "{compared} documents compared over {} examples of {} kinds: {accepted} accepted, {} rejected",
        examples().len(),
        validators.len(),
        compared - accepted
    );
    assert_no_failures("JSON Schema vs strict validation", &failures);
    assert!(compared > examples().len(), "no mutation was compared");
}
