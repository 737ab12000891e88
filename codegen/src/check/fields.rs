//! Objects, enums and their fields: types resolved, constraints range-checked.

use std::collections::BTreeMap;

use super::{Checker, Scope, join};
use crate::model::{
    Bounds, DefKind, EnumDef, EnumValue, Field, FieldType, Format, Ident, ObjectDef, Scalar,
};
use crate::raw;
use crate::sanitize::{Case, sanitize};

impl Checker<'_> {
    /// An enum; `prefix` is its path in the file (`""` for a shared enum file).
    pub(super) fn lower_enum(
        &mut self,
        file: &str,
        prefix: &str,
        name: &str,
        doc: Option<&str>,
        values: &raw::Ordered<Option<String>>,
    ) -> Option<EnumDef> {
        if values.0.is_empty() {
            self.problem(
                file,
                join(prefix, "values"),
                "an enum needs at least one value",
            );
            return None;
        }
        let mut ok = true;
        let mut variants: BTreeMap<String, &str> = BTreeMap::new();
        let mut out = Vec::new();
        for (wire, value_doc) in &values.0 {
            let path = join(prefix, &format!("values.{wire}"));
            let Some(variant) = sanitize(wire, Case::UpperCamel) else {
                self.problem(
                    file,
                    path,
                    format!("the value `{wire}` gives no Rust variant name"),
                );
                ok = false;
                continue;
            };
            if variant == "Unknown" {
                self.problem(
                    file,
                    path,
                    format!("the value `{wire}` would be the variant `Unknown`, which holds unlisted values"),
                );
                ok = false;
                continue;
            }
            if let Some(other) = variants.get(&variant) {
                self.problem(
                    file,
                    path,
                    format!("the values `{other}` and `{wire}` both give the variant `{variant}`"),
                );
                ok = false;
                continue;
            }
            variants.insert(variant.clone(), wire);
            out.push(EnumValue {
                wire: wire.clone(),
                variant: Ident(variant),
                doc: value_doc.clone().filter(|d| !d.trim().is_empty()),
            });
        }
        ok.then(|| EnumDef {
            name: Ident(name.to_owned()),
            doc: describe(doc, || format!("The `{name}` enum.")),
            values: out,
        })
    }

    /// An object; `prefix` is its path in the file (`""` for a shared object file).
    pub(super) fn lower_object(
        &mut self,
        scope: Scope<'_>,
        prefix: &str,
        name: &str,
        doc: Option<&str>,
        fields: &raw::Ordered<raw::Field>,
    ) -> Option<ObjectDef> {
        for (wire, f) in &fields.0 {
            let path = join(prefix, &format!("fields.{wire}"));
            self.refuse_v2_keys(scope.file, &path, f, "an APIv2 kind's own fields");
        }
        let (fields, ok) = self.lower_fields(scope, prefix, fields);
        ok.then(|| ObjectDef {
            name: Ident(name.to_owned()),
            doc: describe(doc, || format!("The `{name}` object.")),
            fields,
            reply: false,
        })
    }

    /// The fields of an object or kind, in file order, and whether all of them are sound
    /// (the list leaves out those that are not).
    pub(super) fn lower_fields(
        &mut self,
        scope: Scope<'_>,
        prefix: &str,
        fields: &raw::Ordered<raw::Field>,
    ) -> (Vec<Field>, bool) {
        let mut ok = true;
        let mut idents: BTreeMap<String, &str> = BTreeMap::new();
        let mut out = Vec::new();
        for (wire, raw) in &fields.0 {
            let path = join(prefix, &format!("fields.{wire}"));
            let Some(field) = self.lower_field(scope, &path, wire, raw) else {
                ok = false;
                continue;
            };
            if let Some(other) = idents.get(field.ident.unraw()) {
                self.problem(
                    scope.file,
                    path,
                    format!(
                        "the fields `{other}` and `{wire}` both give the Rust field `{}`",
                        field.ident.unraw()
                    ),
                );
                ok = false;
                continue;
            }
            idents.insert(field.ident.unraw().to_owned(), wire);
            out.push(field);
        }
        (out, ok)
    }

    fn lower_field(
        &mut self,
        scope: Scope<'_>,
        path: &str,
        wire: &str,
        raw: &raw::Field,
    ) -> Option<Field> {
        let file = scope.file;
        let before = self.problems.len();
        let ident = sanitize(wire, Case::Snake);
        if ident.is_none() {
            self.problem(
                file,
                path,
                format!("the field name `{wire}` gives no Rust field name"),
            );
        }
        let ty = self.lower_type(scope, path, raw);
        let (is_array, element) = match &ty {
            Some(FieldType::Array(item)) => (true, Some(&**item)),
            other => (false, other.as_ref()),
        };
        let stringy = matches!(element, Some(FieldType::Scalar(Scalar::String)));
        let known = ty.is_some();

        let length = raw.length.as_ref().and_then(|b| {
            if known && !stringy {
                let msg = if is_array {
                    "`length` is for strings and arrays of strings; arrays take `count`"
                } else {
                    "`length` is for strings and arrays of strings"
                };
                self.problem(file, format!("{path}.length"), msg);
                return None;
            }
            self.bounds(file, &format!("{path}.length"), b)
        });
        let count = raw.count.as_ref().and_then(|b| {
            if known && !is_array {
                self.problem(file, format!("{path}.count"), "`count` is for arrays");
                return None;
            }
            self.bounds(file, &format!("{path}.count"), b)
        });
        let format = raw.format.as_deref().and_then(|f| {
            let Some((_, format)) = Format::ALL.iter().find(|(name, _)| *name == f) else {
                let names: Vec<String> =
                    Format::ALL.iter().map(|(n, _)| format!("`{n}`")).collect();
                self.problem(
                    file,
                    format!("{path}.format"),
                    format!("unknown format `{f}`, expected one of {}", names.join(", ")),
                );
                return None;
            };
            if known && !stringy {
                self.problem(file, format!("{path}.format"), "`format` is for strings");
                return None;
            }
            Some(*format)
        });
        if self.problems.len() > before {
            return None;
        }
        Some(Field {
            wire: wire.to_owned(),
            ident: Ident(ident?),
            ty: ty?,
            required: raw.required,
            doc: describe(raw.doc.as_deref(), || format!("The `{wire}` field.")),
            sensitive: raw.sensitive,
            length,
            format,
            count,
        })
    }

    fn lower_type(&mut self, scope: Scope<'_>, path: &str, raw: &raw::Field) -> Option<FieldType> {
        if raw.ty == "array" {
            let Some(items) = &raw.items else {
                self.problem(scope.file, format!("{path}.type"), "an array needs `items`");
                return None;
            };
            if items == "array" {
                let msg = "arrays of arrays are not supported; use `json`";
                self.problem(scope.file, format!("{path}.items"), msg);
                return None;
            }
            let item = self.lower_type_name(scope, &format!("{path}.items"), items)?;
            return Some(FieldType::Array(Box::new(item)));
        }
        if raw.items.is_some() {
            self.problem(scope.file, format!("{path}.items"), "`items` is for arrays");
        }
        self.lower_type_name(scope, &format!("{path}.type"), &raw.ty)
    }

    fn lower_type_name(&mut self, scope: Scope<'_>, path: &str, name: &str) -> Option<FieldType> {
        let scalar = match name {
            "string" => Scalar::String,
            "integer" => Scalar::Integer,
            "number" => Scalar::Number,
            "boolean" => Scalar::Boolean,
            "object" => Scalar::Object,
            "json" => Scalar::Json,
            _ => return self.resolve(scope, name, path).map(FieldType::Named),
        };
        Some(FieldType::Scalar(scalar))
    }

    /// `[min, max]` with `0 <= min <= max <= u32::MAX`.
    fn bounds(&mut self, file: &str, path: &str, raw: &[i64]) -> Option<Bounds> {
        let &[min, max] = raw else {
            let msg = format!("expected two numbers, `[min, max]`, found {}", raw.len());
            self.problem(file, path, msg);
            return None;
        };
        let (Ok(min), Ok(max)) = (u32::try_from(min), u32::try_from(max)) else {
            let msg = format!("[{min}, {max}]: bounds are between 0 and {}", u32::MAX);
            self.problem(file, path, msg);
            return None;
        };
        if min > max {
            self.problem(
                file,
                path,
                format!("[{min}, {max}]: min is greater than max"),
            );
            return None;
        }
        Some(Bounds { min, max })
    }
}

/// The text of a description, or a default one.
fn describe(doc: Option<&str>, default: impl FnOnce() -> String) -> String {
    match doc.map(str::trim) {
        Some(d) if !d.is_empty() => d.to_owned(),
        _ => default(),
    }
}

/// `true` for types a business fact can be read from (strings, integers, enums).
pub(super) fn is_fact(ty: &FieldType) -> bool {
    matches!(
        ty,
        FieldType::Scalar(Scalar::String | Scalar::Integer)
            | FieldType::Named(crate::model::TypeRef {
                def: DefKind::Enum,
                ..
            })
    )
}
