//! A kind's `cross_check`: the fields compared with the merchant's own data, resolved to paths
//! through object-typed fields ending at a string, integer or enum.

use std::collections::BTreeMap;

use super::Checker;
use super::fields::is_fact;
use super::kinds::FactFields;
use crate::model::{DefKind, Field, FieldPath, FieldType, Ident, ObjectDef, Scalar, Step};
use crate::sanitize::{Case, sanitize};

/// What a kind's cross-check paths are resolved against.
pub(super) struct CrossCheckInput<'a> {
    /// The `cross_check` list as written, if any.
    pub listed: Option<&'a [String]>,
    /// The kind's top-level fields.
    pub facts: &'a FactFields<'a>,
    /// The kind's `merchant` fields, checked (the default, with `business_key`).
    pub merchant: &'a [FieldPath],
    /// The kind's `business_key` fields, checked.
    pub business_key: &'a [FieldPath],
    /// Every object type the kind can see, by name: shared ones and its own.
    pub objects: &'a BTreeMap<&'a str, &'a ObjectDef>,
}

impl Checker<'_> {
    /// Resolves the kind's cross-check fields: `cross_check` when given, otherwise its
    /// `merchant` then `business_key` fields (each once).
    pub(super) fn cross_check(
        &mut self,
        file: &str,
        input: &CrossCheckInput<'_>,
    ) -> Vec<FieldPath> {
        let Some(listed) = input.listed else {
            return self.default_cross_check(input);
        };
        if listed.is_empty() {
            let msg = "name at least one field, or leave `cross_check` out to compare the `merchant` and `business_key` fields";
            self.problem(file, "cross_check", msg);
            return Vec::new();
        }
        let mut out: Vec<FieldPath> = Vec::new();
        for (i, path) in listed.iter().enumerate() {
            let at = format!("cross_check[{i}]");
            if out.iter().any(|c| c.path == *path) {
                self.problem(file, at, format!("`{path}` is listed twice"));
                continue;
            }
            let Some(field) = self.cross_check_path(file, &at, path, input) else {
                continue;
            };
            if let Some(other) = out.iter().find(|c| c.ident == field.ident) {
                let msg = format!(
                    "`{}` and `{path}` both give the Rust field `{}`",
                    other.path,
                    field.ident.unraw()
                );
                self.problem(file, at, msg);
                continue;
            }
            out.push(field);
        }
        out
    }

    /// The `merchant` and `business_key` fields, already checked as fact paths.
    fn default_cross_check(&mut self, input: &CrossCheckInput<'_>) -> Vec<FieldPath> {
        let mut out: Vec<FieldPath> = Vec::new();
        for fields in [input.merchant, input.business_key] {
            for f in fields {
                // Mismatches carry the values they compare: personal data stays out of the
                // default (an explicit list naming it is refused).
                if f.sensitive || out.iter().any(|c| c.path == f.path) {
                    continue;
                }
                out.push(f.clone());
            }
        }
        out
    }

    /// One listed path, walked through the kind's fields and the objects they hold.
    fn cross_check_path(
        &mut self,
        file: &str,
        at: &str,
        path: &str,
        input: &CrossCheckInput<'_>,
    ) -> Option<FieldPath> {
        self.field_path(
            file,
            at,
            path,
            input.facts,
            input.objects,
            PathUse::CrossCheck,
        )
    }

    /// Walks `path` (field names joined by `.`) from the kind's top-level fields through
    /// object-typed fields to a string, integer or enum.
    pub(super) fn field_path(
        &mut self,
        file: &str,
        at: &str,
        path: &str,
        facts: &FactFields<'_>,
        objects: &BTreeMap<&str, &ObjectDef>,
        use_: PathUse,
    ) -> Option<FieldPath> {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            let msg = format!("`{path}` is not a field path: field names joined by `.`");
            self.problem(file, at, msg);
            return None;
        }
        let first = segments[0];
        if !facts.raw.0.iter().any(|(wire, _)| wire == first) {
            self.problem(file, at, format!("no top-level field `{first}`"));
            return None;
        }
        // A field or object that did not lower has its own problem already.
        let mut walked: Vec<&Field> = vec![facts.get(first)?];
        for (n, segment) in segments.iter().enumerate().skip(1) {
            let so_far = segments[..n].join(".");
            let holder = walked[walked.len() - 1];
            let object = match &holder.ty {
                FieldType::Named(t) if t.def == DefKind::Object => {
                    objects.get(t.name.as_str()).copied()?
                }
                FieldType::Array(_) => {
                    let msg = format!(
                        "`{so_far}` is an array: {} paths do not go into arrays",
                        use_.noun()
                    );
                    self.problem(file, at, msg);
                    return None;
                }
                other => {
                    let msg = format!(
                        "`{so_far}` is {}, so the path cannot go on to `{segment}`: paths go through object types",
                        describe_type(other)
                    );
                    self.problem(file, at, msg);
                    return None;
                }
            };
            let Some(next) = object.fields.iter().find(|f| f.wire == *segment) else {
                let msg = format!(
                    "`{so_far}` (`{}`) has no field `{segment}`",
                    object.name.as_str()
                );
                self.problem(file, at, msg);
                return None;
            };
            walked.push(next);
        }
        let last = walked[walked.len() - 1];
        if !is_fact(&last.ty) {
            let msg = match use_ {
                PathUse::CrossCheck => format!(
                    "`{path}` is {}; cross-check compares strings, integers and enums",
                    describe_type(&last.ty)
                ),
                PathUse::Fact => format!(
                    "the field `{path}` is not a string, integer or enum, so it cannot identify a business fact"
                ),
            };
            self.problem(file, at, msg);
            return None;
        }
        if last.sensitive && use_ == PathUse::CrossCheck {
            let msg = format!(
                "`{path}` is sensitive, and mismatches carry the values they compare, so it cannot be cross-checked"
            );
            self.problem(file, at, msg);
            return None;
        }
        let ident = if walked.len() == 1 || use_ == PathUse::Fact {
            last.ident.clone()
        } else {
            let joined: Vec<&str> = walked.iter().map(|f| f.ident.unraw()).collect();
            let Some(name) = sanitize(&joined.join("_"), Case::Snake) else {
                self.problem(file, at, format!("`{path}` gives no Rust field name"));
                return None;
            };
            Ident(name)
        };
        Some(leaf(path.to_owned(), ident, walked))
    }
}

/// What a field path is for: it words the problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PathUse {
    /// `cross_check`: sensitive fields refused, an `…Expected` field name needed.
    CrossCheck,
    /// `business_key`, `merchant`, `state`.
    Fact,
}

impl PathUse {
    fn noun(self) -> &'static str {
        match self {
            PathUse::CrossCheck => "cross-check",
            PathUse::Fact => "fact",
        }
    }
}

/// The field path reached by `walked` (at least one field).
fn leaf(path: String, ident: Ident, walked: Vec<&Field>) -> FieldPath {
    let last = walked[walked.len() - 1];
    FieldPath {
        path,
        ident,
        ty: last.ty.clone(),
        doc: last.doc.clone(),
        sensitive: last.sensitive,
        steps: walked
            .iter()
            .map(|f| Step {
                ident: f.ident.clone(),
                required: f.required,
            })
            .collect(),
    }
}

/// `a string`, `an array`, `an object (`Amount`)`: a type as problems name it.
fn describe_type(ty: &FieldType) -> String {
    match ty {
        FieldType::Scalar(s) => match s {
            Scalar::String => "a string",
            Scalar::Integer => "an integer",
            Scalar::Number => "a number",
            Scalar::Boolean => "a boolean",
            Scalar::Object => "a free-form object",
            Scalar::Json => "a JSON value",
        }
        .to_owned(),
        FieldType::Named(t) if t.def == DefKind::Enum => format!("an enum (`{}`)", t.name.as_str()),
        FieldType::Named(t) => format!("an object (`{}`)", t.name.as_str()),
        FieldType::Array(_) => "an array".to_owned(),
    }
}
