//! The `v2:` section of an APIv2 kind, and the field keys only APIv2 kinds may use
//! (`indexed`, `unnumbered`, `encoding`).

use std::collections::BTreeMap;

use super::Checker;
use crate::model::{
    DefKind, Field, FieldType, ObjectDef, Scalar, V2, V2Encryption, V2Recognise, V2SignDefault,
    WireFormat,
};
use crate::raw;

impl Checker<'_> {
    /// Lowers the `v2` section of a kind (and its fields' APIv2 keys); reports one where the
    /// format does not call for it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn lower_v2(
        &mut self,
        file: &str,
        body: &raw::KindFile,
        format: WireFormat,
        event_type: Option<&str>,
        fields: &[Field],
        objects: &BTreeMap<&str, &ObjectDef>,
    ) -> Option<V2> {
        if format == WireFormat::V3Json {
            if body.v2.is_some() {
                self.problem(file, "v2", "a `v2` section is for `v2-xml` kinds");
            }
            for (wire, f) in &body.fields.0 {
                self.refuse_v2_keys(file, &format!("fields.{wire}"), f, "APIv2 kinds");
            }
            return None;
        }
        let Some(section) = &body.v2 else {
            self.problem(file, "v2", "a `v2-xml` kind needs a `v2` section");
            return None;
        };
        let before = self.problems.len();
        let sign = match &section.sign {
            raw::V2SignSpec::Named(n) if n == "none" => None,
            raw::V2SignSpec::Named(n) => {
                let msg = format!("`{n}`: write `none` or `{{algorithm, default}}`");
                self.problem(file, "v2.sign", msg);
                None
            }
            raw::V2SignSpec::Required { algorithm, default } => {
                let default = match default.as_str() {
                    "MD5" => Some(V2SignDefault::Md5),
                    "HMAC-SHA256" => Some(V2SignDefault::HmacSha256),
                    "by-length" => Some(V2SignDefault::ByLength),
                    other => {
                        let msg = format!(
                            "unknown default `{other}`, expected `MD5`, `HMAC-SHA256` or `by-length`"
                        );
                        self.problem(file, "v2.sign.default", msg);
                        None
                    }
                };
                if algorithm.is_empty() {
                    self.problem(file, "v2.sign.algorithm", "name the algorithm's element");
                }
                default.map(|d| (algorithm.clone(), d))
            }
        };
        let encryption = match &section.encrypted {
            None => V2Encryption::None,
            Some(e) => self.v2_encryption(file, e),
        };
        if sign.is_none() && encryption == V2Encryption::None && self.problems.len() == before {
            let msg = "a kind with neither a sign nor encryption proves nothing; give one";
            self.problem(file, "v2", msg);
        }
        let recognise = match (event_type, &section.recognise) {
            (Some(e), None) => V2Recognise::EventType(e.to_owned()),
            (Some(_), Some(_)) => {
                let msg = "an event-style kind is recognised by its event_type; drop `recognise`";
                self.problem(file, "v2.recognise", msg);
                V2Recognise::AnyPresent(Vec::new(), 0)
            }
            (None, None) => {
                let msg = "a kind without an event_type needs `recognise: {any_present, priority}`";
                self.problem(file, "v2.recognise", msg);
                V2Recognise::AnyPresent(Vec::new(), 0)
            }
            (None, Some(r)) => {
                if r.any_present.is_empty() {
                    self.problem(
                        file,
                        "v2.recognise.any_present",
                        "name at least one element",
                    );
                }
                V2Recognise::AnyPresent(r.any_present.clone(), r.priority)
            }
        };
        let code_message_reply = match section.reply.as_str() {
            "return-code" => false,
            "code-message" => true,
            other => {
                let msg = format!("`{other}`: expected `return-code` or `code-message`");
                self.problem(file, "v2.reply", msg);
                false
            }
        };
        if encryption == V2Encryption::None && !section.envelope.is_empty() {
            let msg = "`envelope` is for encrypted kinds (an unencrypted body is all plaintext)";
            self.problem(file, "v2.envelope", msg);
        }
        for (i, name) in section.envelope.iter().enumerate() {
            if !fields.iter().any(|f| f.wire == *name) {
                let msg = format!("`{name}` is not a field of this kind");
                self.problem(file, format!("v2.envelope[{i}]"), msg);
            }
        }
        let mut repeated = Vec::new();
        let mut json = Vec::new();
        for (wire, raw_field) in &body.fields.0 {
            let path = format!("fields.{wire}");
            let Some(field) = fields.iter().find(|f| f.wire == *wire) else {
                continue;
            };
            if raw_field.indexed {
                if let Some(family) = self.family(file, &path, field, raw_field, fields, objects) {
                    repeated.push(family);
                }
            } else if !raw_field.unnumbered.is_empty() {
                self.problem(
                    file,
                    format!("{path}.unnumbered"),
                    "`unnumbered` is for `indexed` fields",
                );
            }
            match raw_field.encoding.as_deref() {
                None => {}
                Some("json") => {
                    let structured = matches!(
                        field.ty,
                        FieldType::Array(_)
                            | FieldType::Scalar(Scalar::Object | Scalar::Json)
                            | FieldType::Named(crate::model::TypeRef {
                                def: DefKind::Object,
                                ..
                            })
                    );
                    if !structured || raw_field.indexed {
                        let msg = "`encoding: json` is for object, array or json fields";
                        self.problem(file, format!("{path}.encoding"), msg);
                    }
                    json.push(wire.clone());
                }
                Some(other) => {
                    let msg = format!("unknown encoding `{other}`, expected `json`");
                    self.problem(file, format!("{path}.encoding"), msg);
                }
            }
        }
        for (key, names) in [
            ("business_key", &body.business_key),
            ("merchant", &body.merchant),
        ] {
            for (i, name) in names.iter().enumerate() {
                if name.contains('.') {
                    let msg = "APIv2 kinds name top-level elements here (the delivery key reads them from the XML)";
                    self.problem(file, format!("{key}[{i}]"), msg);
                }
            }
        }
        if body.state.as_deref().is_some_and(|s| s.contains('.')) {
            let msg = "APIv2 kinds name a top-level element here (the delivery key reads it from the XML)";
            self.problem(file, "state", msg);
        }
        if self.problems.len() > before {
            return None;
        }
        Some(V2 {
            sign,
            encryption,
            recognise,
            code_message_reply,
            envelope: section.envelope.clone(),
            repeated,
            json,
            merchant: body.merchant.clone(),
            state: body.state.clone(),
        })
    }

    fn v2_encryption(&mut self, file: &str, e: &raw::V2Encrypted) -> V2Encryption {
        let gcm_keys = [
            ("nonce", &e.nonce),
            ("associated_data", &e.associated_data),
            ("algorithm", &e.algorithm),
        ];
        match e.cipher.as_str() {
            "aes-256-ecb" => {
                for (key, value) in gcm_keys {
                    if value.is_some() {
                        let msg = format!("`{key}` is for `aead-aes-256-gcm`");
                        self.problem(file, format!("v2.encrypted.{key}"), msg);
                    }
                }
                V2Encryption::Ecb {
                    field: e.field.clone(),
                    root: e.root.clone(),
                }
            }
            "aead-aes-256-gcm" => {
                let (Some(nonce), Some(associated_data)) = (&e.nonce, &e.associated_data) else {
                    let msg = "`aead-aes-256-gcm` needs `nonce` and `associated_data`";
                    self.problem(file, "v2.encrypted", msg);
                    return V2Encryption::None;
                };
                V2Encryption::Gcm {
                    field: e.field.clone(),
                    nonce: nonce.clone(),
                    associated_data: associated_data.clone(),
                    algorithm: e.algorithm.clone(),
                    root: e.root.clone(),
                }
            }
            other => {
                let msg = format!(
                    "unknown cipher `{other}`, expected `aes-256-ecb` or `aead-aes-256-gcm`"
                );
                self.problem(file, "v2.encrypted.cipher", msg);
                V2Encryption::None
            }
        }
    }

    /// An indexed family: an array of objects whose members are the object's fields.
    fn family(
        &mut self,
        file: &str,
        path: &str,
        field: &Field,
        raw_field: &raw::Field,
        fields: &[Field],
        objects: &BTreeMap<&str, &ObjectDef>,
    ) -> Option<(String, Vec<String>, Vec<String>)> {
        let FieldType::Array(item) = &field.ty else {
            self.problem(
                file,
                format!("{path}.indexed"),
                "`indexed` is for arrays of objects",
            );
            return None;
        };
        let FieldType::Named(t) = &**item else {
            self.problem(
                file,
                format!("{path}.indexed"),
                "`indexed` is for arrays of objects",
            );
            return None;
        };
        let Some(object) = objects.get(t.name.as_str()) else {
            self.problem(
                file,
                format!("{path}.indexed"),
                "`indexed` is for arrays of objects",
            );
            return None;
        };
        let members: Vec<String> = object.fields.iter().map(|f| f.wire.clone()).collect();
        for (i, name) in raw_field.unnumbered.iter().enumerate() {
            let at = format!("{path}.unnumbered[{i}]");
            if !members.contains(name) {
                self.problem(
                    file,
                    at,
                    format!("`{name}` is not a member of `{}`", t.name.as_str()),
                );
            } else if fields.iter().any(|f| f.wire == *name) {
                let msg = format!(
                    "`{name}` is also a field of the kind: its unnumbered element is that field"
                );
                self.problem(file, at, msg);
            }
        }
        Some((field.wire.clone(), members, raw_field.unnumbered.clone()))
    }

    /// Reports the APIv2-only keys of a field outside an APIv2 kind's own fields.
    pub(super) fn refuse_v2_keys(&mut self, file: &str, path: &str, f: &raw::Field, what: &str) {
        if f.indexed {
            self.problem(
                file,
                format!("{path}.indexed"),
                format!("`indexed` is only for {what}"),
            );
        }
        if !f.unnumbered.is_empty() {
            let msg = format!("`unnumbered` is only for {what}");
            self.problem(file, format!("{path}.unnumbered"), msg);
        }
        if f.encoding.is_some() {
            let msg = format!("`encoding` is only for {what}");
            self.problem(file, format!("{path}.encoding"), msg);
        }
    }
}
