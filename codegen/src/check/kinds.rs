//! A kind file's own keys: id, names, docs, retry, trust, business fact, cross-check (in
//! `cross_check.rs`), reply, examples and its classification rule.

use std::collections::BTreeMap;

use super::cross_check::{CrossCheckInput, PathUse};
use super::rules::KindRule;
use super::{Checker, Scope};
use crate::load::Source;
use crate::model::{
    DefKind, Field, FieldPath, Ident, Kind, KindFile, ObjectDef, ObjectFile, SourceFile, Trust,
    TypeRef, WireFormat,
};
use crate::raw;
use crate::sanitize::{Case, sanitize};

/// WeChat Pay's usual schedule: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24h4m).
pub const OFFICIAL_RETRY: [u32; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];

/// A kind file lowered, with what routing still needs.
pub(super) struct LoweredKind {
    pub file: KindFile,
    /// Kinds that must be told apart share a group: (format, event_type or id before `#`).
    pub group: (WireFormat, String),
    pub rule: Option<KindRule>,
}

impl Checker<'_> {
    pub(super) fn lower_kind_file(
        &mut self,
        src: &Source<raw::KindFile>,
        module: Option<Ident>,
        ids: &mut BTreeMap<String, String>,
        shared_objects: &[ObjectFile],
    ) -> Option<LoweredKind> {
        let file = src.path.as_str();
        let body = &src.body;
        let before = self.problems.len();
        let format = match body.format {
            raw::WireFormat::V3Json => WireFormat::V3Json,
            raw::WireFormat::V2Xml => WireFormat::V2Xml,
        };
        let parts = self.kind_id(file, &body.kind, format);
        if let Some(other) = ids.get(&body.kind) {
            self.problem(
                file,
                "kind",
                format!("the kind `{}` is already defined in {other}", body.kind),
            );
        } else {
            ids.insert(body.kind.clone(), file.to_owned());
        }
        let rust_name = match &body.rust_name {
            Some(name) => Some(name.clone()),
            None => {
                let name = sanitize(&body.kind, Case::UpperCamel);
                if name.is_none() {
                    self.problem(file, "kind", "the kind id gives no Rust type name");
                }
                name
            }
        };

        let scope = Scope { file, local: true };
        let (fields, _) = self.lower_fields(scope, "", &body.fields);
        let mut objects = Vec::new();
        for (name, object) in &body.objects.0 {
            let prefix = format!("objects.{name}");
            if let Some(def) =
                self.lower_object(scope, &prefix, name, object.doc.as_deref(), &object.fields)
            {
                objects.push(def);
            }
        }
        let mut enums = Vec::new();
        for (name, e) in &body.enums.0 {
            let prefix = format!("enums.{name}");
            if let Some(def) = self.lower_enum(file, &prefix, name, e.doc.as_deref(), &e.values) {
                enums.push(def);
            }
        }

        if body.title.trim().is_empty() {
            self.problem(file, "title", "the title is empty");
        }
        self.check_docs(file, &body.docs.0);
        let retry = self.retry(file, body.retry.as_ref());
        let facts = FactFields {
            raw: &body.fields,
            lowered: &fields,
        };
        if body.business_key.is_empty() {
            self.problem(file, "business_key", "name at least one field");
        }
        let mut visible: BTreeMap<&str, &ObjectDef> = shared_objects
            .iter()
            .map(|o| (o.def.name.as_str(), &o.def))
            .collect();
        visible.extend(objects.iter().map(|o| (o.name.as_str(), o)));
        let business_key =
            self.fact_fields(file, "business_key", &body.business_key, &facts, &visible);
        let merchant = self.fact_fields(file, "merchant", &body.merchant, &facts, &visible);
        let state = body.state.as_ref().and_then(|s| {
            self.fact_fields(file, "state", std::slice::from_ref(s), &facts, &visible)
                .into_iter()
                .next()
        });
        let cross_check = self.cross_check(
            file,
            &CrossCheckInput {
                listed: body.cross_check.as_deref(),
                facts: &facts,
                merchant: &merchant,
                business_key: &business_key,
                objects: &visible,
            },
        );
        let reply = body.reply.as_ref().and_then(|name| self.reply(scope, name));
        self.check_examples(file, &body.examples);
        let rule = body
            .rule
            .as_ref()
            .and_then(|m| self.kind_rule(file, m, &facts));
        let event_type = parts.as_ref().and_then(|p| p.0.clone());
        let v2 = self.lower_v2(file, body, format, event_type.as_deref(), &fields, &visible);

        if self.problems.len() > before {
            return None;
        }
        let (event_type, variant, group) = parts?;
        let kind = Kind {
            id: body.kind.clone(),
            schema: file.to_owned(),
            format,
            event_type,
            variant,
            title: body.title.trim().to_owned(),
            docs: body.docs.0.clone(),
            original_type: body.original_type.clone(),
            retry,
            trust: match body.trust {
                None | Some(raw::Trust::Authenticated) => Trust::Authenticated,
                Some(raw::Trust::DecryptedUnauthenticated) => Trust::DecryptedUnauthenticated,
            },
            business_key,
            merchant,
            state,
            cross_check,
            reply,
            body: ObjectDef {
                name: Ident(rust_name?),
                doc: body.title.trim().to_owned(),
                fields,
                reply: false,
            },
            v2,
        };
        Some(LoweredKind {
            file: KindFile {
                source: SourceFile {
                    path: file.to_owned(),
                    module: module?,
                },
                kind,
                objects,
                enums,
            },
            group: (format, group),
            rule,
        })
    }

    /// Checks the id against the format; gives (event_type, variant, routing group).
    fn kind_id(
        &mut self,
        file: &str,
        id: &str,
        format: WireFormat,
    ) -> Option<(Option<String>, Option<String>, String)> {
        let (base, variant) = match id.split_once('#') {
            Some((base, variant)) => (base, Some(variant)),
            None => (id, None),
        };
        let event_chars = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
                && !s.starts_with('.')
                && !s.ends_with('.')
                && !s.contains("..")
        };
        let variant_ok = variant.is_none_or(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
        let v2 = base.strip_prefix("v2:");
        let event_type = match (format, v2) {
            (WireFormat::V3Json, None) if event_chars(base) && variant_ok => Some(base.to_owned()),
            (WireFormat::V3Json, None) => {
                let msg = format!(
                    "the kind id `{id}` is not EVENT_TYPE or EVENT_TYPE#VARIANT (capitals, digits, `_`, `.`)"
                );
                self.problem(file, "kind", msg);
                return None;
            }
            (WireFormat::V3Json, Some(_)) => {
                self.problem(
                    file,
                    "kind",
                    format!("`{id}` is an APIv2 id but the format is `v3-json`"),
                );
                return None;
            }
            (WireFormat::V2Xml, None) => {
                self.problem(
                    file,
                    "kind",
                    format!("APIv2 kind ids start with `v2:`, not `{id}`"),
                );
                return None;
            }
            (WireFormat::V2Xml, Some(rest)) => {
                let page = !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
                if !page || !variant_ok {
                    let msg = format!(
                        "the kind id `{id}` is not `v2:` + an event_type or page name (+ `#VARIANT`)"
                    );
                    self.problem(file, "kind", msg);
                    return None;
                }
                // Event-style APIv2 kinds are named by their event_type (capitals), classic
                // ones by their page name (lower case): only the former carry an event_type.
                event_chars(rest).then(|| rest.to_owned())
            }
        };
        let group = event_type.clone().unwrap_or_else(|| base.to_owned());
        Some((event_type, variant.map(str::to_owned), group))
    }

    fn check_docs(&mut self, file: &str, docs: &[String]) {
        if docs.is_empty() {
            self.problem(file, "docs", "give at least one link");
        }
        for (i, link) in docs.iter().enumerate() {
            let ok = (link.starts_with("https://") || link.starts_with("http://"))
                && !link.contains(char::is_whitespace);
            if !ok {
                self.problem(
                    file,
                    format!("docs[{i}]"),
                    format!("`{link}` is not a link"),
                );
            }
        }
    }

    fn retry(&mut self, file: &str, retry: Option<&raw::Retry>) -> Vec<u32> {
        match retry {
            None => OFFICIAL_RETRY.to_vec(),
            Some(raw::Retry::Named(name)) if name == "official" => OFFICIAL_RETRY.to_vec(),
            Some(raw::Retry::Named(name)) if name == "none" => Vec::new(),
            Some(raw::Retry::Named(name)) => {
                let msg = format!(
                    "unknown schedule `{name}`, expected `official`, `none` or a list of intervals"
                );
                self.problem(file, "retry", msg);
                Vec::new()
            }
            Some(raw::Retry::Intervals(list)) => {
                if list.is_empty() {
                    self.problem(file, "retry", "an empty list; write `none` for no retries");
                }
                let mut out = Vec::new();
                for (i, text) in list.iter().enumerate() {
                    match parse_interval(text) {
                        Some(secs) => out.push(secs),
                        None => self.problem(
                            file,
                            format!("retry[{i}]"),
                            format!(
                                "`{text}` is not an interval like `15s`, `3m`, `1h` or `1h30m`"
                            ),
                        ),
                    }
                }
                out
            }
        }
    }

    /// Resolves `business_key`, `merchant` or `state` entries: top-level fields, or paths
    /// through object-typed fields (`pay_information.pay_state`), never into arrays.
    fn fact_fields(
        &mut self,
        file: &str,
        key: &str,
        names: &[String],
        facts: &FactFields<'_>,
        objects: &BTreeMap<&str, &ObjectDef>,
    ) -> Vec<FieldPath> {
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let at = if key == "state" {
                key.to_owned()
            } else {
                format!("{key}[{i}]")
            };
            if let Some(path) = self.field_path(file, &at, name, facts, objects, PathUse::Fact) {
                out.push(path);
            }
        }
        out
    }

    fn reply(&mut self, scope: Scope<'_>, name: &str) -> Option<TypeRef> {
        let ty = self.resolve(scope, name, "reply")?;
        if ty.def != DefKind::Object {
            self.problem(
                scope.file,
                "reply",
                format!("`{name}` is an enum; the reply is an object"),
            );
            return None;
        }
        Some(ty)
    }

    fn check_examples(&mut self, file: &str, examples: &[raw::Example]) {
        if examples.is_empty() {
            self.problem(file, "examples", "give at least one example payload");
        }
        for (i, example) in examples.iter().enumerate() {
            let path = format!("examples[{i}].file");
            let rel = std::path::Path::new(&example.file);
            let inside = rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                let msg = format!("`{}` must be a path inside schema/", example.file);
                self.problem(file, path, msg);
                continue;
            }
            if !self.root.join("schema").join(rel).is_file() {
                self.problem(file, path, format!("no such file: schema/{}", example.file));
            }
            if let Some(plain) = &example.plaintext {
                let path = format!("examples[{i}].plaintext");
                let rel = std::path::Path::new(plain);
                let inside = rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                if !inside || !self.root.join("schema").join(rel).is_file() {
                    self.problem(file, path, format!("no such file: schema/{plain}"));
                }
            }
        }
    }
}

/// A kind's top-level fields, as written and as lowered.
pub(super) struct FactFields<'f> {
    pub raw: &'f raw::Ordered<raw::Field>,
    pub lowered: &'f [Field],
}

impl<'f> FactFields<'f> {
    pub fn get(&self, wire: &str) -> Option<&'f Field> {
        self.lowered.iter().find(|f| f.wire == wire)
    }
}

/// `15s`, `3m`, `1h`, `1h30m` → seconds.
fn parse_interval(text: &str) -> Option<u32> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !digits.is_empty() || text.is_empty() {
        return None;
    }
    u32::try_from(total).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_interval;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("15s"), Some(15));
        assert_eq!(parse_interval("3m"), Some(180));
        assert_eq!(parse_interval("1h30m"), Some(5400));
        assert_eq!(parse_interval("0s"), Some(0));
        assert_eq!(parse_interval("15"), None);
        assert_eq!(parse_interval("s"), None);
        assert_eq!(parse_interval(""), None);
        assert_eq!(parse_interval("1d"), None);
    }
}
