//! What the catalogue-driven tests share: the checked catalogue and its examples, JSON paths,
//! every field of a kind reached through an example (its "sites"), and the mutations that break
//! each constraint the schema states, with what the SDK must make of them.
//!
//! Used by `catalogue_examples.rs` (the SDK does what the schema says) and `json_schema.rs`
//! (the emitted JSON Schemas agree with the SDK's strict validation). Each test file uses part
//! of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use codegen::model::{
    self, Choice, Condition, DefKind, EnumDef, Field, FieldType, Format, Ident, ObjectDef, Scalar,
    WireFormat,
};
use serde_json::{Value, json};
use wechatpay_notify::error::{ResourceError, ResourceFault};
use wechatpay_notify::resource::{Parsed, parse_kind, parse_v3};
use wechatpay_notify::validate::{Validate, Violation};
use wechatpay_notify::{Kind, Notification};

/// The key added to show that unknown fields are ignored.
pub const FUTURE_FIELD: &str = "some_future_field";
/// The enum value no catalogue lists.
pub const UNKNOWN_ENUM_VALUE: &str = "SOMETHING_NEW";

// ---------------------------------------------------------------------------------------------
// The catalogue and its examples
// ---------------------------------------------------------------------------------------------

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The checked catalogue, and each kind's example files (which the model does not keep).
pub struct Catalogue {
    pub model: model::Catalogue,
    /// Example files, relative to `schema/`, by kind id.
    pub examples: BTreeMap<String, Vec<String>>,
}

pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let root = root();
        let loaded =
            codegen::load::load(&root).unwrap_or_else(|e| panic!("schema/ does not load: {e}"));
        let model = codegen::check::check(&root, &loaded).unwrap_or_else(|problems| {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("schema/ does not check:\n{}", list.join("\n"))
        });
        let examples = loaded
            .kinds
            .iter()
            .map(|src| {
                let files = src.body.examples.iter().map(|e| e.file.clone()).collect();
                (src.body.kind.clone(), files)
            })
            .collect();
        Catalogue { model, examples }
    })
}

impl Catalogue {
    /// The APIv3 kinds, by id.
    pub fn v3_kinds(&self) -> Vec<&model::Kind> {
        let mut kinds = self.model.kinds_by_id();
        kinds.retain(|k| k.format == WireFormat::V3Json);
        kinds
    }

    pub fn all_objects(&self) -> impl Iterator<Item = &ObjectDef> {
        let shared = self.model.objects.iter().map(|o| &o.def);
        shared.chain(self.model.kinds.iter().flat_map(|k| &k.objects))
    }

    pub fn object(&self, name: &Ident) -> &ObjectDef {
        self.all_objects()
            .find(|o| &o.name == name)
            .unwrap_or_else(|| panic!("the model has no object `{}`", name.as_str()))
    }

    pub fn enumeration(&self, name: &Ident) -> &EnumDef {
        let shared = self.model.enums.iter().map(|e| &e.def);
        shared
            .chain(self.model.kinds.iter().flat_map(|k| &k.enums))
            .find(|e| &e.name == name)
            .unwrap_or_else(|| panic!("the model has no enum `{}`", name.as_str()))
    }

    /// The kind whose Rust name is `name` (what routes and rules refer to).
    pub fn kind_named(&self, name: &Ident) -> &model::Kind {
        self.model
            .kinds
            .iter()
            .map(|k| &k.kind)
            .find(|k| &k.body.name == name)
            .unwrap_or_else(|| panic!("the model has no kind `{}`", name.as_str()))
    }

    /// The top-level fields the classification of `event_type` reads.
    pub fn rule_fields(&self, event_type: &str) -> BTreeSet<String> {
        let route = self
            .model
            .routes
            .iter()
            .find(|r| r.event_type == event_type);
        let Some(Choice::Rules { rules, .. }) = route.map(|r| &r.choice) else {
            return BTreeSet::new();
        };
        rules
            .iter()
            .flat_map(|rule| &rule.conditions)
            .filter_map(|c| match c {
                Condition::Equals(field, _) | Condition::Present(field, _) => {
                    Some(field.wire.clone())
                }
                Condition::OriginalType(_) => None,
            })
            .collect()
    }
}

/// One example payload of one APIv3 kind.
pub struct Example {
    pub kind: &'static model::Kind,
    pub sdk: Kind,
    /// The file, relative to `schema/`.
    pub file: String,
    pub bytes: Vec<u8>,
    pub value: Value,
}

pub fn examples() -> &'static [Example] {
    static EXAMPLES: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let cat = catalogue();
        let mut out = Vec::new();
        for kind in cat.v3_kinds() {
            let sdk = Kind::from_id(&kind.id).unwrap_or_else(|| {
                panic!(
                    "{} is in schema/ but not in the SDK: run `cargo xtask codegen`",
                    kind.id
                )
            });
            for file in &cat.examples[&kind.id] {
                let path = root().join("schema").join(file);
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let value: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{} ({file}): not JSON: {e}", kind.id));
                assert!(value.is_object(), "{} ({file}): not a JSON object", kind.id);
                let file = file.clone();
                out.push(Example {
                    kind,
                    sdk,
                    file,
                    bytes,
                    value,
                });
            }
        }
        out
    })
}

impl Example {
    pub fn id(&self) -> &'static str {
        self.sdk.id()
    }

    pub fn event_type(&self) -> &str {
        self.kind
            .event_type
            .as_deref()
            .expect("APIv3 kinds have an event_type")
    }

    pub fn original_type(&self) -> Option<&str> {
        self.kind.original_type.as_deref()
    }

    /// Names the kind and the example file, for assertion messages.
    pub fn label(&self) -> String {
        format!("{} ({})", self.kind.id, self.file)
    }

    /// The whole SDK path: classification, typed parse, validation.
    pub fn parse_v3(&self, bytes: &[u8]) -> Result<Parsed, ResourceError> {
        parse_v3(self.event_type(), self.original_type(), bytes)
    }

    /// The typed parse as this kind, then validation, without classification.
    pub fn parse_as_kind(
        &self,
        bytes: &[u8],
    ) -> Result<(Notification, Vec<Violation>), ResourceError> {
        let notification = parse_kind(self.sdk, bytes)?;
        let violations = notification.validate();
        Ok((notification, violations))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON paths
// ---------------------------------------------------------------------------------------------

/// A JSON path into a payload, displayed as the SDK reports paths: `promotion_detail[0].name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct JsonPath(Vec<Seg>);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl JsonPath {
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_owned()));
        p
    }

    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }

    /// The top-level field the path starts with.
    pub fn top(&self) -> Option<&str> {
        match self.0.first() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    pub fn get<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        self.0.iter().try_fold(doc, |v, seg| match seg {
            Seg::Key(k) => v.get(k),
            Seg::Index(i) => v.get(i),
        })
    }

    /// The value at the path (the whole document for the empty path), created (as `null`)
    /// when only its last key is missing.
    ///
    /// Panics when a parent is missing: sites are only built under present parents.
    pub fn slot<'v>(&self, doc: &'v mut Value) -> &'v mut Value {
        let Some((last, parents)) = self.0.split_last() else {
            return doc;
        };
        let mut v = doc;
        for seg in parents {
            v = match seg {
                Seg::Key(k) => v.get_mut(k),
                Seg::Index(i) => v.get_mut(i),
            }
            .unwrap_or_else(|| panic!("no parent for `{self}`"));
        }
        match last {
            Seg::Key(k) => v
                .as_object_mut()
                .unwrap_or_else(|| panic!("the parent of `{self}` is not an object"))
                .entry(k.clone())
                .or_insert(Value::Null),
            Seg::Index(i) => v
                .get_mut(i)
                .unwrap_or_else(|| panic!("no element for `{self}`")),
        }
    }

    pub fn remove(&self, doc: &mut Value) {
        let Some((Seg::Key(k), parents)) = self.0.split_last() else {
            panic!("`{self}` does not name a field")
        };
        JsonPath(parents.to_vec())
            .slot(doc)
            .as_object_mut()
            .expect("fields live in objects")
            .remove(k);
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// `true` for a value that is there: not absent, not `null`.
pub fn present(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

// ---------------------------------------------------------------------------------------------
// Field sites: every field of a kind, reached through the example
// ---------------------------------------------------------------------------------------------

/// A field's element type, and whether the field is an array of it.
pub fn element(ty: &FieldType) -> (&FieldType, bool) {
    match ty {
        FieldType::Array(item) => (item, true),
        other => (other, false),
    }
}

/// The object type a field holds (itself or as array elements), if any.
pub fn object_type(ty: &FieldType) -> Option<&Ident> {
    match element(ty).0 {
        FieldType::Named(t) if t.def == DefKind::Object => Some(&t.name),
        _ => None,
    }
}

/// One field at one JSON path of one example.
pub struct Site<'c> {
    pub path: JsonPath,
    pub field: &'c Field,
    /// The example, with the absent optional objects leading to this field synthesized.
    pub base: Value,
    /// The outermost object synthesized for this site, if any.
    pub synthesized: Option<JsonPath>,
}

impl Site<'_> {
    pub fn element(&self) -> &FieldType {
        element(&self.field.ty).0
    }

    pub fn is_array(&self) -> bool {
        element(&self.field.ty).1
    }

    /// Where one value of the field's element type sits: the field, or its first element.
    pub fn target(&self) -> JsonPath {
        if self.is_array() {
            self.path.index(0)
        } else {
            self.path.clone()
        }
    }

    /// The base with the field set to `raw`, as is.
    pub fn with_raw(&self, raw: Value) -> Value {
        let mut doc = self.base.clone();
        *self.path.slot(&mut doc) = raw;
        doc
    }

    /// The base with `value` as the field's value (for an array: its only element).
    pub fn with_value(&self, value: Value) -> Value {
        if self.is_array() {
            self.with_raw(Value::Array(vec![value]))
        } else {
            self.with_raw(value)
        }
    }

    pub fn without(&self) -> Value {
        let mut doc = self.base.clone();
        self.path.remove(&mut doc);
        doc
    }
}

/// Every field of `kind`, recursively through objects and the first element of arrays.
pub fn sites<'c>(cat: &'c Catalogue, kind: &'c model::Kind, example: &Value) -> Vec<Site<'c>> {
    let mut out = Vec::new();
    walk(
        cat,
        &kind.body,
        &JsonPath::default(),
        example,
        None,
        &mut out,
    );
    out
}

pub fn walk<'c>(
    cat: &'c Catalogue,
    def: &'c ObjectDef,
    at: &JsonPath,
    base: &Value,
    synthesized: Option<&JsonPath>,
    out: &mut Vec<Site<'c>>,
) {
    for field in &def.fields {
        let path = at.key(&field.wire);
        out.push(Site {
            path: path.clone(),
            field,
            base: base.clone(),
            synthesized: synthesized.cloned(),
        });
        let Some(name) = object_type(&field.ty) else {
            continue;
        };
        let inner = if element(&field.ty).1 {
            path.index(0)
        } else {
            path.clone()
        };
        if present(inner.get(base)) {
            walk(cat, cat.object(name), &inner, base, synthesized, out);
        } else {
            let mut synth = base.clone();
            *path.slot(&mut synth) = minimal(cat, field);
            let outermost = synthesized.unwrap_or(&path);
            walk(cat, cat.object(name), &inner, &synth, Some(outermost), out);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values: minimal valid ones, strings of a given length
// ---------------------------------------------------------------------------------------------

/// The smallest valid value of a field: required members only, one array element.
pub fn minimal(cat: &Catalogue, field: &Field) -> Value {
    let (item, is_array) = element(&field.ty);
    let one = minimal_of(cat, item, field);
    if is_array {
        let n = field.count.map_or(1, |b| b.min.max(1)) as usize;
        Value::Array(vec![one; n])
    } else {
        one
    }
}

/// The smallest valid value of a (non-array) type; `field` gives the string constraints.
pub fn minimal_of(cat: &Catalogue, ty: &FieldType, field: &Field) -> Value {
    match ty {
        FieldType::Scalar(Scalar::String) => Value::String(some_valid_string(field)),
        FieldType::Scalar(Scalar::Integer) => json!(1),
        FieldType::Scalar(Scalar::Number) => json!(1.5),
        FieldType::Scalar(Scalar::Boolean) => json!(true),
        FieldType::Scalar(Scalar::Object | Scalar::Json) => json!({}),
        FieldType::Named(t) if t.def == DefKind::Enum => {
            Value::String(cat.enumeration(&t.name).values[0].wire.clone())
        }
        FieldType::Named(t) => {
            let def = cat.object(&t.name);
            let members = def.fields.iter().filter(|f| f.required);
            Value::Object(members.map(|f| (f.wire.clone(), minimal(cat, f))).collect())
        }
        FieldType::Array(_) => unreachable!("array elements are never arrays"),
    }
}

/// The shortest string within the field's length that fits its format.
pub fn some_valid_string(field: &Field) -> String {
    let (lo, hi) = field.length.map_or((1, 64), |b| (b.min.max(1), b.max));
    (lo..=hi)
        .find_map(|n| text(field.format, n as usize, Script::Ascii))
        .unwrap_or_else(|| panic!("no valid value for `{}` in the catalogue", field.wire))
}

/// What a filler string is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    /// ASCII: one byte per character.
    Ascii,
    /// `粤`: three bytes per character, to show lengths count characters.
    Wide,
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Script::Ascii => "ASCII",
            Script::Wide => "'粤'",
        })
    }
}

/// A string of exactly `n` characters that fits `format` (any text without one), or `None`
/// when no such string exists or the script cannot write it.
pub fn text(format: Option<Format>, n: usize, script: Script) -> Option<String> {
    match (format, script) {
        (None, Script::Ascii) => Some("a".repeat(n)),
        (None, Script::Wide) => Some("粤".repeat(n)),
        (Some(_), Script::Wide) => None,
        (Some(Format::Digits), Script::Ascii) => (n >= 1).then(|| "7".repeat(n)),
        (Some(Format::CompactDateTime), Script::Ascii) => {
            (n == 14).then(|| "20180225112233".to_owned())
        }
        (Some(Format::SpacedDateTime), Script::Ascii) => {
            (n == 19).then(|| "2018-02-25 11:22:33".to_owned())
        }
        (Some(Format::Rfc3339), Script::Ascii) => match n {
            20 => Some("2015-05-20T13:29:35Z".to_owned()),
            25 => Some("2015-05-20T13:29:35+08:00".to_owned()),
            n if n >= 22 => Some(format!("2015-05-20T13:29:35.{}Z", "1".repeat(n - 21))),
            _ => None,
        },
    }
}

/// A string of exactly `n` characters in `script`, and whether it fits the format: a valid one
/// where one exists, else plain filler (which no format accepts).
pub fn filler(format: Option<Format>, n: usize, script: Script) -> (String, bool) {
    match text(format, n, script) {
        Some(s) => (s, true),
        None => {
            let c = if script == Script::Wide { "粤" } else { "a" };
            (c.repeat(n), false)
        }
    }
}

/// A value that breaks `format`.
pub fn broken(format: Format) -> &'static str {
    match format {
        Format::Rfc3339 => "2015-05-20 13:29:35",
        Format::CompactDateTime => "2018-02-25 11:22",
        Format::SpacedDateTime => "2018-02-25T11:22:33",
        Format::Digits => "12a",
    }
}

/// A value of the wrong JSON type for a (non-array) type, if any exists.
pub fn wrong_value(ty: &FieldType) -> Option<(&'static str, Value)> {
    match ty {
        FieldType::Scalar(Scalar::Json) => None,
        FieldType::Scalar(Scalar::Object) => Some(("a string where an object belongs", json!("x"))),
        FieldType::Named(t) if t.def == DefKind::Object => {
            Some(("a string where an object belongs", json!("x")))
        }
        FieldType::Scalar(_) | FieldType::Named(_) => {
            Some(("an object where a scalar belongs", json!({})))
        }
        FieldType::Array(_) => unreachable!("array elements are never arrays"),
    }
}

pub fn as_integer(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

// ---------------------------------------------------------------------------------------------
// Mutation cases
// ---------------------------------------------------------------------------------------------

/// The constraints the schema states, by the rule a case exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Constraint {
    Length,
    Count,
    Format,
    Enum,
    Integer,
    Required,
    Optional,
    Type,
}

/// The constraints a field states.
pub fn constraints(field: &Field) -> Vec<Constraint> {
    let (item, is_array) = element(&field.ty);
    let mut out = Vec::new();
    if field.length.is_some() {
        out.push(Constraint::Length);
    }
    if field.count.is_some() {
        out.push(Constraint::Count);
    }
    if field.format.is_some() {
        out.push(Constraint::Format);
    }
    if matches!(item, FieldType::Named(t) if t.def == DefKind::Enum) {
        out.push(Constraint::Enum);
    }
    if matches!(item, FieldType::Scalar(Scalar::Integer)) {
        out.push(Constraint::Integer);
    }
    out.push(if field.required {
        Constraint::Required
    } else {
        Constraint::Optional
    });
    if is_array || wrong_value(item).is_some() {
        out.push(Constraint::Type);
    }
    out
}

/// What a mutated payload must give.
#[derive(Debug)]
pub enum Expect {
    /// It parses, with exactly these violations: (path, rule).
    Parses(Vec<(String, &'static str)>),
    /// The typed parse fails at this path, with this fault (`None`: any fault).
    Fails(Option<ResourceFault>, String),
}

/// One mutation of an example.
pub struct Case {
    pub constraint: Constraint,
    pub what: String,
    pub doc: Value,
    pub expect: Expect,
    /// A value the notification, serialized back, must hold at a path.
    pub keeps: Option<(JsonPath, Value)>,
}

impl Case {
    pub fn new(
        constraint: Constraint,
        what: impl Into<String>,
        doc: Value,
        expect: Expect,
    ) -> Self {
        Case {
            constraint,
            what: what.into(),
            doc,
            expect,
            keeps: None,
        }
    }

    pub fn keeping(mut self, path: JsonPath, value: Value) -> Self {
        self.keeps = Some((path, value));
        self
    }
}

/// Every mutation of one site.
pub fn cases(cat: &Catalogue, site: &Site<'_>) -> Vec<Case> {
    let mut out = Vec::new();
    length_cases(site, &mut out);
    count_cases(cat, site, &mut out);
    format_cases(site, &mut out);
    enum_cases(cat, site, &mut out);
    integer_cases(site, &mut out);
    presence_cases(site, &mut out);
    type_cases(site, &mut out);
    out
}

/// Over `max`, at `max`, under `min`: in ASCII (fitting the format where one is set) and in
/// `粤` (three bytes a character).
pub fn length_cases(site: &Site<'_>, out: &mut Vec<Case>) {
    let Some(bounds) = site.field.length else {
        return;
    };
    let (min, max) = (bounds.min as usize, bounds.max as usize);
    let target = site.target().to_string();
    for script in [Script::Ascii, Script::Wide] {
        let mut lengths = vec![max + 1, max];
        if min >= 2 || (min == 1 && script == Script::Ascii) {
            lengths.push(min - 1);
        }
        for n in lengths {
            let (s, fits) = filler(site.field.format, n, script);
            let mut expected = Vec::new();
            if n < min || n > max {
                expected.push((target.clone(), "length"));
            }
            if !fits {
                expected.push((target.clone(), "format"));
            }
            let what = format!("{n} {script} characters (length [{min}, {max}])");
            let doc = site.with_value(Value::String(s));
            out.push(Case::new(
                Constraint::Length,
                what,
                doc,
                Expect::Parses(expected),
            ));
        }
    }
}

/// Over `max` elements, at `max`, under `min`.
pub fn count_cases(cat: &Catalogue, site: &Site<'_>, out: &mut Vec<Case>) {
    let Some(bounds) = site.field.count else {
        return;
    };
    let (min, max) = (bounds.min as usize, bounds.max as usize);
    let one = match site.target().get(&site.base) {
        Some(v) if !v.is_null() => v.clone(),
        _ => minimal_of(cat, site.element(), site.field),
    };
    let mut counts = vec![max + 1, max];
    if min >= 1 {
        counts.push(min - 1);
    }
    for n in counts {
        let expected = if n < min || n > max {
            vec![(site.path.to_string(), "count")]
        } else {
            Vec::new()
        };
        let what = format!("{n} elements (count [{min}, {max}])");
        let doc = site.with_raw(Value::Array(vec![one.clone(); n]));
        out.push(Case::new(
            Constraint::Count,
            what,
            doc,
            Expect::Parses(expected),
        ));
    }
}

/// A value that breaks the format (and, where it must, the length).
pub fn format_cases(site: &Site<'_>, out: &mut Vec<Case>) {
    let Some(format) = site.field.format else {
        return;
    };
    let bad = broken(format);
    let target = site.target().to_string();
    let mut expected = vec![(target.clone(), "format")];
    let n = bad.chars().count() as u32;
    if site.field.length.is_some_and(|b| n < b.min || n > b.max) {
        expected.push((target, "length"));
    }
    let what = format!("{bad:?}, not {format:?}");
    let doc = site.with_value(json!(bad));
    out.push(Case::new(
        Constraint::Format,
        what,
        doc,
        Expect::Parses(expected),
    ));
}

/// Every listed value is known; an unlisted one is kept and reported.
pub fn enum_cases(cat: &Catalogue, site: &Site<'_>, out: &mut Vec<Case>) {
    let FieldType::Named(t) = site.element() else {
        return;
    };
    if t.def != DefKind::Enum {
        return;
    }
    let target = site.target();
    for value in &cat.enumeration(&t.name).values {
        let wire = json!(value.wire);
        let what = format!("listed value {:?}", value.wire);
        let doc = site.with_value(wire.clone());
        let case = Case::new(Constraint::Enum, what, doc, Expect::Parses(Vec::new()));
        out.push(case.keeping(target.clone(), wire));
    }
    let unknown = json!(UNKNOWN_ENUM_VALUE);
    let expected = vec![(target.to_string(), "enum")];
    let doc = site.with_value(unknown.clone());
    let case = Case::new(
        Constraint::Enum,
        "unlisted value",
        doc,
        Expect::Parses(expected),
    );
    out.push(case.keeping(target, unknown));
}

/// Digits in a string parse with a `format` violation; anything else fails.
pub fn integer_cases(site: &Site<'_>, out: &mut Vec<Case>) {
    if !matches!(site.element(), FieldType::Scalar(Scalar::Integer)) {
        return;
    }
    let target = site.target();
    let n = target.get(&site.base).and_then(as_integer).unwrap_or(1);
    let quoted = vec![(target.to_string(), "format")];
    let doc = site.with_value(json!(n.to_string()));
    out.push(Case::new(
        Constraint::Integer,
        "digits in a string",
        doc,
        Expect::Parses(quoted),
    ));
    for bad in [json!("12a"), json!(1.5)] {
        let what = format!("{bad} for an integer");
        let expect = Expect::Fails(Some(ResourceFault::WrongType), target.to_string());
        out.push(Case::new(
            Constraint::Integer,
            what,
            site.with_value(bad),
            expect,
        ));
    }
}

/// Missing or `null`: a failure naming the field when it is required, nothing otherwise.
pub fn presence_cases(site: &Site<'_>, out: &mut Vec<Case>) {
    let required = site.field.required;
    let constraint = if required {
        Constraint::Required
    } else {
        Constraint::Optional
    };
    // Which fault `null` gives is left to `null_in_a_required_field_is_reported_as_missing`.
    let expect = |fault| {
        if required {
            Expect::Fails(fault, site.path.to_string())
        } else {
            Expect::Parses(Vec::new())
        }
    };
    let removed = expect(Some(ResourceFault::MissingField));
    out.push(Case::new(constraint, "removed", site.without(), removed));
    out.push(Case::new(constraint, "null", null_in(site), expect(None)));
}

/// The base with the field set to `null`.
pub fn null_in(site: &Site<'_>) -> Value {
    site.with_raw(Value::Null)
}

/// A value of the wrong JSON type: for an array, in its place and as its element.
pub fn type_cases(site: &Site<'_>, out: &mut Vec<Case>) {
    if site.is_array() {
        let expect = Expect::Fails(Some(ResourceFault::WrongType), site.path.to_string());
        let doc = site.with_raw(json!("x"));
        out.push(Case::new(
            Constraint::Type,
            "a string where an array belongs",
            doc,
            expect,
        ));
    }
    if let Some((what, wrong)) = wrong_value(site.element()) {
        let expect = Expect::Fails(Some(ResourceFault::WrongType), site.target().to_string());
        out.push(Case::new(
            Constraint::Type,
            what,
            site.with_value(wrong),
            expect,
        ));
    }
}

/// Panics listing every failure (the first 60).
pub fn assert_no_failures(what: &str, failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    let shown: Vec<&str> = failures.iter().take(60).map(String::as_str).collect();
    panic!(
        "{what}: {} failure(s):\n  {}{}",
        failures.len(),
        shown.join("\n  "),
        if failures.len() > shown.len() {
            "\n  …"
        } else {
            ""
        }
    );
}

/// The case of the minimal object synthesized for `site` (it must parse cleanly), the first
/// time its outermost synthesized object is met (`seen` remembers them).
pub fn synthesized_case(site: &Site<'_>, seen: &mut BTreeSet<JsonPath>) -> Option<Case> {
    let outer = site.synthesized.as_ref()?;
    if !seen.insert(outer.clone()) {
        return None;
    }
    let what = format!("minimal `{outer}` synthesized (absent from the example)");
    let expect = Expect::Parses(Vec::new());
    Some(Case::new(
        Constraint::Optional,
        what,
        site.base.clone(),
        expect,
    ))
}

/// The top level (the empty path) and every object of the schema the example holds.
pub fn object_paths(cat: &Catalogue, ex: &Example) -> Vec<JsonPath> {
    let objects = sites(cat, ex.kind, &ex.value)
        .into_iter()
        .filter(|s| s.synthesized.is_none() && object_type(&s.field.ty).is_some())
        .map(|s| s.target())
        .filter(|p| p.get(&ex.value).is_some_and(Value::is_object));
    std::iter::once(JsonPath::default())
        .chain(objects)
        .collect()
}

/// The example with [`FUTURE_FIELD`] added to the object at `at`.
pub fn with_future_field(ex: &Example, at: &JsonPath) -> Value {
    let mut doc = ex.value.clone();
    at.slot(&mut doc)
        .as_object_mut()
        .expect("an object")
        .insert(FUTURE_FIELD.to_owned(), json!({"x": 1}));
    doc
}
