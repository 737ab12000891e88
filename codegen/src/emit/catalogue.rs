//! `catalogue.rs`: the `Kind` enum and its table, the classifier, the `Notification` enum.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{doc, ident, int, opt_str};
use crate::model::{
    Catalogue, Choice, Condition, Kind, Route, Trust, V2, V2Encryption, V2Recognise, V2SignDefault,
    WireFormat,
};
use crate::sanitize::{Case, sanitize};

/// The whole `catalogue.rs`.
pub(super) fn catalogue(c: &Catalogue) -> TokenStream {
    let kinds = c.kinds_by_id();
    let kind_enum = kind_enum(&kinds);
    let table = kinds_table(&kinds);
    let classify = classify(&c.routes);
    let notification = notification(&kinds);
    quote! {
        #kind_enum
        #table
        #classify
        #notification
    }
}

/// `Kind` and its inherent functions.
fn kind_enum(kinds: &[&Kind]) -> TokenStream {
    let names: Vec<_> = kinds.iter().map(|k| ident(&k.body.name)).collect();
    let ids: Vec<&str> = kinds.iter().map(|k| k.id.as_str()).collect();
    let variants = kinds.iter().map(|k| {
        let docs = doc(&format!("`{}`: {}", k.id, k.title));
        let name = ident(&k.body.name);
        quote!(#docs #name)
    });
    let empty = kinds.is_empty();
    let info = if empty {
        quote!(match self {})
    } else {
        quote!(&KINDS[self as usize])
    };
    let from_id = if empty {
        quote!(let _ = id; None)
    } else {
        quote! {
            match id {
                #(#ids => Some(Kind::#names),)*
                _ => None,
            }
        }
    };
    let (d, deserialize) = if empty {
        (quote!(_d), quote!(match self {}))
    } else {
        let arms = names.iter().map(|name| {
            quote! {
                Kind::#name => <super::kinds::#name as ::serde::Deserialize>::deserialize(d)
                    .map(Notification::#name)
            }
        });
        (quote!(d), quote!(match self { #(#arms,)* }))
    };
    let json_schema = if empty {
        quote!(match self {})
    } else {
        quote! {
            let mut generator = ::schemars::SchemaGenerator::default();
            let mut schema = match self {
                #(Kind::#names => {
                    <super::kinds::#names as ::schemars::JsonSchema>::json_schema(&mut generator)
                })*
            };
            let defs = generator.take_definitions(true);
            if !defs.is_empty() {
                schema.insert("$defs".to_owned(), ::serde_json::Value::Object(defs));
            }
            schema
        }
    };
    quote! {
        /// Every notification kind of the catalogue.
        ///
        /// [`Kind::ALL`] lists them by id; [`Kind::info`] gives what the catalogue says about one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[allow(clippy::enum_variant_names)]
        pub enum Kind {
            #(#variants,)*
        }

        impl Kind {
            /// Every kind, sorted by id.
            pub const ALL: &'static [Kind] = &[#(Kind::#names),*];

            /// What the catalogue says about this kind.
            pub fn info(self) -> &'static ::wechatpay_notify::catalogue::KindInfo {
                #info
            }

            /// The kind id (`TRANSACTION.SUCCESS#PARKING`, `v2:refund-processed`).
            pub fn id(self) -> &'static str {
                self.info().id
            }

            /// The kind with this id, if the catalogue has it.
            pub fn from_id(id: &str) -> Option<Kind> {
                #from_id
            }

            /// Parses a decrypted plaintext as this kind's type.
            ///
            /// # Errors
            /// The deserializer's error when the plaintext does not fit the type: a missing
            /// required field, `null` in one, or a JSON value of the wrong type.
            pub fn deserialize<'de, D: ::serde::Deserializer<'de>>(
                self,
                #d: D,
            ) -> Result<Notification, D::Error> {
                #deserialize
            }

            /// The JSON Schema schemars derives from this kind's type (the catalogue also
            /// writes one per kind into `schema/json/`, from the same model). It calls each
            /// type's `JsonSchema` impl directly: `schema_for!` here would instantiate
            /// schemars' generic generator once per kind and triple the crate's build time.
            pub fn json_schema(self) -> ::schemars::Schema {
                #json_schema
            }
        }
    }
}

/// `KINDS`, one `KindInfo` per kind, in `Kind::ALL` order.
fn kinds_table(kinds: &[&Kind]) -> TokenStream {
    let cat = quote!(::wechatpay_notify::catalogue);
    let n = int(u32::try_from(kinds.len()).unwrap_or(u32::MAX));
    let infos = kinds.iter().map(|k| {
        let id = &k.id;
        let event_type = opt_str(k.event_type.as_deref());
        let variant = opt_str(k.variant.as_deref());
        let format = match k.format {
            WireFormat::V3Json => quote!(V3Json),
            WireFormat::V2Xml => quote!(V2Xml),
        };
        let title = &k.title;
        let rust_type = k.body.name.as_str();
        let schema = &k.schema;
        let docs = &k.docs;
        let original_type = opt_str(k.original_type.as_deref());
        let retry = k.retry.iter().map(|s| int(*s));
        let business_key = k.business_key.iter().map(|f| &f.path);
        let cross_check = k.cross_check.iter().map(|c| &c.path);
        let trust = match k.trust {
            Trust::Authenticated => quote!(Authenticated),
            Trust::DecryptedUnauthenticated => quote!(DecryptedUnauthenticated),
        };
        let v2 = match &k.v2 {
            None => quote!(None),
            Some(v2) => {
                let spec = v2_spec(v2);
                quote!(Some(&#spec))
            }
        };
        quote! {
            #cat::KindInfo {
                id: #id,
                event_type: #event_type,
                variant: #variant,
                format: #cat::WireFormat::#format,
                title: #title,
                rust_type: #rust_type,
                schema: #schema,
                docs: &[#(#docs),*],
                original_type: #original_type,
                retry_schedule: &[#(#retry),*],
                business_key: &[#(#business_key),*],
                cross_check: &[#(#cross_check),*],
                trust: #cat::Trust::#trust,
                v2: #v2,
            }
        }
    });
    quote! {
        /// What the catalogue says about every kind, in [`Kind::ALL`] order.
        pub static KINDS: [#cat::KindInfo; #n] = [#(#infos),*];
    }
}

/// The `V2Spec` literal of an APIv2 kind.
fn v2_spec(v2: &V2) -> TokenStream {
    let cat = quote!(::wechatpay_notify::catalogue);
    let sign = match &v2.sign {
        None => quote!(#cat::V2Sign::Absent),
        Some((field, default)) => {
            let default = match default {
                V2SignDefault::Md5 => quote!(Md5),
                V2SignDefault::HmacSha256 => quote!(HmacSha256),
                V2SignDefault::ByLength => quote!(ByLength),
            };
            quote!(#cat::V2Sign::Required {
                algorithm_field: #field,
                default: #cat::V2SignDefault::#default,
            })
        }
    };
    let encryption = match &v2.encryption {
        V2Encryption::None => quote!(#cat::V2Encryption::None),
        V2Encryption::Ecb { field, root } => {
            quote!(#cat::V2Encryption::ApiV2KeyEcb { field: #field, root: #root })
        }
        V2Encryption::Gcm {
            field,
            nonce,
            associated_data,
            algorithm,
            root,
        } => {
            let algorithm = opt_str(algorithm.as_deref());
            quote!(#cat::V2Encryption::ApiV3KeyGcm {
                field: #field,
                nonce: #nonce,
                associated_data: #associated_data,
                algorithm: #algorithm,
                root: #root,
            })
        }
    };
    let recognise = match &v2.recognise {
        V2Recognise::EventType(e) => quote!(#cat::V2Recognise::EventType(#e)),
        V2Recognise::AnyPresent(fields, priority) => {
            let priority = proc_macro2::Literal::i64_unsuffixed(*priority);
            quote!(#cat::V2Recognise::AnyPresent { fields: &[#(#fields),*], priority: #priority })
        }
    };
    let reply = if v2.code_message_reply {
        quote!(CodeMessage)
    } else {
        quote!(ReturnCode)
    };
    let envelope = &v2.envelope;
    let repeated = v2.repeated.iter().map(|(field, members, unnumbered)| {
        quote!(#cat::V2Repeated {
            field: #field,
            members: &[#(#members),*],
            unnumbered: &[#(#unnumbered),*],
        })
    });
    let json = &v2.json;
    let merchant = &v2.merchant;
    let state = opt_str(v2.state.as_deref());
    quote! {
        #cat::V2Spec {
            sign: #sign,
            encryption: #encryption,
            recognise: #recognise,
            reply: #cat::V2ReplyStyle::#reply,
            envelope: &[#(#envelope),*],
            repeated: &[#(#repeated),*],
            json: &[#(#json),*],
            merchant: &[#(#merchant),*],
            state: #state,
        }
    }
}

/// `Classified` and `classify`, with one private function per event_type whose kinds must
/// be told apart.
fn classify(routes: &[Route]) -> TokenStream {
    let mut used = BTreeSet::new();
    let mut arms = Vec::new();
    let mut helpers = Vec::new();
    for route in routes {
        let event_type = &route.event_type;
        match &route.choice {
            Choice::Single(kind) => {
                let kind = ident(kind);
                arms.push(quote!(#event_type => Ok(Classified::Kind(Kind::#kind))));
            }
            Choice::Rules { .. } => {
                let base = sanitize(event_type, Case::Snake).unwrap_or_default();
                let base = base.trim_start_matches("r#");
                let mut name = format!("classify_{base}");
                let mut n = 2;
                while !used.insert(name.clone()) {
                    name = format!("classify_{base}_{n}");
                    n += 1;
                }
                let helper = format_ident!("{}", name);
                arms.push(quote!(#event_type => #helper(original_type, plaintext)));
                helpers.push(rules_fn(&helper, route));
            }
        }
    }
    let body = if arms.is_empty() {
        quote! {
            let _ = (event_type, original_type, plaintext);
            Ok(Classified::UnknownEventType)
        }
    } else {
        let unused = helpers
            .is_empty()
            .then(|| quote!(let _ = (original_type, plaintext);));
        quote! {
            #unused
            match event_type {
                #(#arms,)*
                _ => Ok(Classified::UnknownEventType),
            }
        }
    };
    quote! {
        /// What [`classify`] made of an APIv3 notification.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Classified {
            /// The notification is of this kind.
            Kind(Kind),
            /// The catalogue has no APIv3 kind of this event_type: hand it to the fallback.
            UnknownEventType,
            /// The event_type is known, but no rule of its kinds matched and none is the
            /// default.
            NoVariant,
        }

        /// Names the kind of an APIv3 notification from its envelope's `event_type` and
        /// `resource.original_type` and, where kinds share the event_type, the decrypted
        /// plaintext's discriminating fields.
        ///
        /// Rules are tried by priority, highest first; then the event_type's default kind.
        /// An event_type with one kind gives that kind without reading the plaintext.
        ///
        /// # Errors
        /// When the plaintext has to be read and is not a JSON object, or a field that a rule
        /// compares is not a string (the error names it).
        pub fn classify(
            event_type: &str,
            original_type: Option<&str>,
            plaintext: &[u8],
        ) -> Result<Classified, ::wechatpay_notify::probe::ProbeError> {
            classify_with(event_type, original_type, plaintext)
        }

        /// [`classify`], reading the plaintext's fields from `plaintext`: a
        /// [`Source`](::wechatpay_notify::probe::Source) may parse the plaintext as the
        /// event_type's default kind while it reads them, so that kind is read once.
        ///
        /// # Errors
        /// As [`classify`].
        pub fn classify_with<'a>(
            event_type: &str,
            original_type: Option<&str>,
            plaintext: impl ::wechatpay_notify::probe::Source<'a, Kind>,
        ) -> Result<Classified, ::wechatpay_notify::probe::ProbeError> {
            #body
        }

        #(#helpers)*
    }
}

/// The classifier of one event_type with several kinds.
fn rules_fn(name: &proc_macro2::Ident, route: &Route) -> TokenStream {
    let Choice::Rules { rules, default } = &route.choice else {
        return TokenStream::new();
    };
    // The top-level fields the rules read, found in one pass over the plaintext.
    let mut fields = BTreeSet::new();
    let mut reads_original_type = false;
    for c in rules.iter().flat_map(|r| &r.conditions) {
        match c {
            Condition::Equals(f, _) | Condition::Present(f, _) => {
                fields.insert(f.wire.clone());
            }
            Condition::OriginalType(_) => reads_original_type = true,
        }
    }
    let local = |wire: &str| {
        format_ident!(
            "f_{}",
            sanitize(wire, Case::Snake)
                .unwrap_or_default()
                .trim_start_matches("r#")
        )
    };
    let locals = fields.iter().map(|w| local(w));
    let wires = fields.iter();
    let likely = match default {
        Some(kind) => {
            let kind = ident(kind);
            quote!(Some(Kind::#kind))
        }
        None => quote!(None),
    };
    let probe = (!fields.is_empty()).then(|| {
        quote! {
            let [#(#locals),*] = plaintext.top_level(#likely, [#(#wires),*])?;
        }
    });
    let tries = rules.iter().map(|rule| {
        let kind = ident(&rule.kind);
        let conditions = rule.conditions.iter().map(|c| match c {
            Condition::Equals(f, value) => {
                let id = local(&f.wire);
                quote!(#id.equals(#value)?)
            }
            Condition::Present(f, true) => {
                let id = local(&f.wire);
                quote!(#id.is_present())
            }
            Condition::Present(f, false) => {
                let id = local(&f.wire);
                quote!(!#id.is_present())
            }
            Condition::OriginalType(value) => quote!(original_type == Some(#value)),
        });
        quote! {
            if #(#conditions)&&* {
                return Ok(Classified::Kind(Kind::#kind));
            }
        }
    });
    let fallback = match default {
        Some(kind) => {
            let kind = ident(kind);
            quote!(Ok(Classified::Kind(Kind::#kind)))
        }
        None => quote!(Ok(Classified::NoVariant)),
    };
    let original_type = if reads_original_type {
        quote!(original_type)
    } else {
        quote!(_original_type)
    };
    let plaintext = if fields.is_empty() {
        quote!(_plaintext)
    } else {
        quote!(mut plaintext)
    };
    let docs = doc(&format!(
        "Tells apart the kinds of event_type `{}`.",
        route.event_type
    ));
    quote! {
        #docs
        fn #name<'a>(
            #original_type: Option<&str>,
            #plaintext: impl ::wechatpay_notify::probe::Source<'a, Kind>,
        ) -> Result<Classified, ::wechatpay_notify::probe::ProbeError> {
            #probe
            #(#tries)*
            #fallback
        }
    }
}

/// `Notification` and its functions and impls.
fn notification(kinds: &[&Kind]) -> TokenStream {
    let names: Vec<_> = kinds.iter().map(|k| ident(&k.body.name)).collect();
    let variants = kinds.iter().map(|k| {
        let docs = doc(&format!("`{}`: {}", k.id, k.title));
        let name = ident(&k.body.name);
        quote!(#docs #name(super::kinds::#name))
    });
    let labels: Vec<&str> = kinds.iter().map(|k| k.body.name.as_str()).collect();
    let cat = quote!(::wechatpay_notify::catalogue);
    let vd = quote!(::wechatpay_notify::validate);
    let (path, out) = if kinds.is_empty() {
        (quote!(_path), quote!(_out))
    } else {
        (quote!(path), quote!(out))
    };
    quote! {
        /// A notification, parsed into its kind's type; [`Notification::Unknown`] for an
        /// event_type the catalogue does not know.
        #[derive(Clone, PartialEq)]
        #[non_exhaustive]
        #[allow(clippy::large_enum_variant)]
        pub enum Notification {
            #(#variants,)*
            /// A notification of an event_type the catalogue does not know, kept as raw JSON.
            Unknown(#cat::UnknownNotification),
        }

        impl Notification {
            /// The kind, or `None` for [`Notification::Unknown`].
            pub fn kind(&self) -> Option<Kind> {
                match self {
                    #(Notification::#names(_) => Some(Kind::#names),)*
                    Notification::Unknown(_) => None,
                }
            }

            /// The kind id, or `None` for [`Notification::Unknown`].
            pub fn id(&self) -> Option<&'static str> {
                self.kind().map(Kind::id)
            }

            /// The business fact the notification reports, or `None` for
            /// [`Notification::Unknown`].
            pub fn business_fact(&self) -> Option<#cat::BusinessFact> {
                match self {
                    #(Notification::#names(v) => Some(#cat::KindType::business_fact(v)),)*
                    Notification::Unknown(_) => None,
                }
            }
        }

        impl #vd::Validate for Notification {
            fn validate_into(&self, #path: &mut #vd::Path, #out: &mut #vd::Violations) {
                match self {
                    #(Notification::#names(v) => #vd::Validate::validate_into(v, path, out),)*
                    Notification::Unknown(_) => {}
                }
            }
        }

        /// Serializes the plaintext: the kind's value, or the raw JSON of an unknown one.
        impl ::serde::Serialize for Notification {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    #(Notification::#names(v) => ::serde::Serialize::serialize(v, s),)*
                    Notification::Unknown(v) => ::serde::Serialize::serialize(&v.resource, s),
                }
            }
        }

        impl ::core::fmt::Debug for Notification {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    #(Notification::#names(v) => f.debug_tuple(#labels).field(v).finish(),)*
                    Notification::Unknown(v) => f.debug_tuple("Unknown").field(v).finish(),
                }
            }
        }
    }
}
