//! One JSON Schema (draft 2020-12) per kind, emitted from the same model as the Rust code: the
//! strict form of the kind's resource — what the SDK's strict validation accepts.
//!
//! - Required fields are `required` and never null; optional fields may be absent or null.
//! - Lengths are `minLength`/`maxLength` (JSON Schema counts characters, as the SDK does),
//!   counts are `minItems`/`maxItems`, enums list their known values.
//! - `integer` is a JSON integer within the 64-bit range (the SDK also takes a string of digits,
//!   as a violation). JSON Schema counts `1.0` as an integer; the SDK refuses it (a wrong type):
//!   the one case where the two disagree, and one WeChat Pay never sends.
//! - Formats: `rfc3339` is `date-time`; the others are patterns (which, unlike the SDK, do not
//!   check that a date exists: `20180230…` fits the pattern).
//! - Fields the schema does not list are allowed, as the SDK ignores them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::GeneratedFile;
use crate::model::{
    Bounds, Catalogue, DefKind, EnumDef, Field, FieldType, Format, ObjectDef, Scalar,
};

/// Where the JSON Schemas go, relative to the repository root.
pub const JSON_SCHEMA_DIR: &str = "schema/json";

/// The JSON Schema of every kind, one file each, named after its schema file.
pub fn kind_schemas(c: &Catalogue) -> Vec<GeneratedFile> {
    let mut shared: BTreeMap<&str, Def<'_>> = BTreeMap::new();
    for e in &c.enums {
        shared.insert(e.def.name.as_str(), Def::Enum(&e.def));
    }
    for o in &c.objects {
        shared.insert(o.def.name.as_str(), Def::Object(&o.def));
    }
    let mut files: Vec<GeneratedFile> = c
        .kinds
        .iter()
        .map(|kf| {
            let mut defs = shared.clone();
            for e in &kf.enums {
                defs.insert(e.name.as_str(), Def::Enum(e));
            }
            for o in &kf.objects {
                defs.insert(o.name.as_str(), Def::Object(o));
            }
            let kind = &kf.kind;
            let mut used = BTreeMap::new();
            let mut root = object_schema(&kind.body, &defs, &mut used);
            let root_map = root.as_object_mut().expect("an object schema");
            let mut head = Map::new();
            head.insert(
                "$schema".into(),
                "https://json-schema.org/draft/2020-12/schema".into(),
            );
            head.insert("title".into(), kind.title.clone().into());
            head.insert(
                "description".into(),
                format!(
                    "The decrypted resource of {} notifications (kind `{}`), generated from {}.",
                    kind.title, kind.id, kind.schema
                )
                .into(),
            );
            head.insert("x-kind".into(), kind.id.clone().into());
            root_map.remove("description");
            head.append(root_map);
            if !used.is_empty() {
                head.insert("$defs".into(), Value::Object(used.into_iter().collect()));
            }
            let stem = kind
                .schema
                .trim_start_matches("schema/kinds/")
                .trim_end_matches(".yaml");
            let mut text = serde_json::to_string_pretty(&Value::Object(head))
                .expect("a JSON value serializes");
            text.push('\n');
            GeneratedFile {
                path: format!("{stem}.schema.json"),
                contents: text,
            }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

#[derive(Clone, Copy)]
enum Def<'a> {
    Enum(&'a EnumDef),
    Object(&'a ObjectDef),
}

/// The schema of an object's fields; every type it names lands in `used`.
fn object_schema(
    o: &ObjectDef,
    defs: &BTreeMap<&str, Def<'_>>,
    used: &mut BTreeMap<String, Value>,
) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in &o.fields {
        let mut schema = field_schema(f, &f.ty, defs, used);
        if !f.required {
            schema = json!({ "anyOf": [schema, { "type": "null" }] });
        } else {
            required.push(Value::String(f.wire.clone()));
        }
        if let Some(obj) = schema.as_object_mut()
            && !f.doc.is_empty()
        {
            obj.insert("description".into(), f.doc.clone().into());
        }
        properties.insert(f.wire.clone(), schema);
    }
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    if !o.doc.is_empty() {
        out.insert("description".into(), o.doc.clone().into());
    }
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    Value::Object(out)
}

/// The schema of one value of a field (its element, for arrays of arrays never occur).
fn field_schema(
    f: &Field,
    ty: &FieldType,
    defs: &BTreeMap<&str, Def<'_>>,
    used: &mut BTreeMap<String, Value>,
) -> Value {
    match ty {
        FieldType::Scalar(Scalar::String) => {
            let mut s = Map::new();
            s.insert("type".into(), "string".into());
            bounds(&mut s, f.length, "minLength", "maxLength");
            if let Some(format) = f.format {
                match format {
                    Format::Rfc3339 => s.insert("format".into(), "date-time".into()),
                    Format::CompactDateTime => s.insert(
                        "pattern".into(),
                        "^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9]([0-5][0-9]|60)$"
                            .into(),
                    ),
                    Format::SpacedDateTime => s.insert(
                        "pattern".into(),
                        "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)$"
                            .into(),
                    ),
                    Format::Digits => s.insert("pattern".into(), "^[0-9]+$".into()),
                };
            }
            Value::Object(s)
        }
        FieldType::Scalar(Scalar::Integer) => {
            json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX })
        }
        FieldType::Scalar(Scalar::Number) => json!({ "type": "number" }),
        FieldType::Scalar(Scalar::Boolean) => json!({ "type": "boolean" }),
        FieldType::Scalar(Scalar::Object) => json!({ "type": "object" }),
        FieldType::Scalar(Scalar::Json) => json!({}),
        FieldType::Array(item) => {
            let mut s = Map::new();
            s.insert("type".into(), "array".into());
            s.insert("items".into(), field_schema(f, item, defs, used));
            bounds(&mut s, f.count, "minItems", "maxItems");
            Value::Object(s)
        }
        FieldType::Named(r) => {
            let name = r.name.as_str().to_owned();
            if !used.contains_key(&name) {
                // Reserve the name first: objects may refer to each other.
                used.insert(name.clone(), Value::Null);
                let schema = match (r.def, defs.get(name.as_str())) {
                    (DefKind::Enum, Some(Def::Enum(e))) => json!({
                        "type": "string",
                        "description": e.doc,
                        "enum": e.values.iter().map(|v| v.wire.clone()).collect::<Vec<_>>(),
                    }),
                    (DefKind::Object, Some(Def::Object(o))) => object_schema(o, defs, used),
                    // The checker resolved every name; an unresolved one cannot reach here.
                    _ => json!({}),
                };
                used.insert(name.clone(), schema);
            }
            json!({ "$ref": format!("#/$defs/{name}") })
        }
    }
}

fn bounds(s: &mut Map<String, Value>, b: Option<Bounds>, min: &str, max: &str) {
    if let Some(b) = b {
        s.insert(min.into(), b.min.into());
        s.insert(max.into(), b.max.into());
    }
}
