//! Structs (objects and kinds): the type, its redacting `Debug`, its `Validate`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, ident, int, value_type};
use crate::model::{DefKind, Field, FieldType, Format, ObjectDef, Scalar, TypeRef};

/// The struct, `Debug` and `Validate` of an object; `docs` are its doc attributes.
pub(super) fn object(def: &ObjectDef, docs: &TokenStream) -> TokenStream {
    let definition = struct_def(def, docs);
    let debug = debug_impl(def);
    let validate = validate_impl(def);
    quote! {
        #definition
        #debug
        #validate
    }
}

fn struct_def(def: &ObjectDef, docs: &TokenStream) -> TokenStream {
    let name = ident(&def.name);
    let fields = def.fields.iter().map(field);
    // Reply data is built by handlers, outside the SDK: it must stay constructible.
    let non_exhaustive = (!def.reply).then(|| quote!(#[non_exhaustive]));
    quote! {
        #docs
        #[derive(Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema)]
        #non_exhaustive
        pub struct #name {
            #(#fields,)*
        }
    }
}

fn field(f: &Field) -> TokenStream {
    let docs = doc(&f.doc);
    let name = ident(&f.ident);
    let value = value_type(&f.ty);
    let rename = (f.wire != f.ident.unraw()).then(|| {
        let wire = &f.wire;
        quote!(#[serde(rename = #wire)])
    });
    let (ty, optional) = if f.required {
        (value, None)
    } else {
        let attr = quote!(#[serde(default, skip_serializing_if = "Option::is_none")]);
        (quote!(Option<#value>), Some(attr))
    };
    let is_array = matches!(f.ty, FieldType::Array(_));
    let length = f.length.map(|b| {
        let (min, max) = (int(b.min), int(b.max));
        if is_array {
            quote!(#[schemars(inner(length(min = #min, max = #max)))])
        } else {
            quote!(#[schemars(length(min = #min, max = #max))])
        }
    });
    let count = f.count.map(|b| {
        let (min, max) = (int(b.min), int(b.max));
        quote!(#[schemars(length(min = #min, max = #max))])
    });
    quote! {
        #docs
        #rename
        #optional
        #length
        #count
        pub #name: #ty
    }
}

fn debug_impl(def: &ObjectDef) -> TokenStream {
    let name = ident(&def.name);
    let label = def.name.as_str();
    let fields = def.fields.iter().map(|f| {
        let label = f.ident.unraw();
        let id = ident(&f.ident);
        let value = match (f.sensitive, f.required) {
            (false, _) => quote!(&self.#id),
            (true, true) => quote!(&"<redacted>"),
            (true, false) => quote!(&self.#id.as_ref().map(|_| "<redacted>")),
        };
        quote!(.field(#label, #value))
    });
    quote! {
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#label)
                    #(#fields)*
                    .finish()
            }
        }
    }
}

fn validate_impl(def: &ObjectDef) -> TokenStream {
    let name = ident(&def.name);
    let checks: Vec<TokenStream> = def.fields.iter().filter_map(field_checks).collect();
    let (path, out) = if checks.is_empty() {
        (quote!(_path), quote!(_out))
    } else {
        (quote!(path), quote!(out))
    };
    quote! {
        impl ::wechatpay_notify::validate::Validate for #name {
            fn validate_into(
                &self,
                #path: &mut ::wechatpay_notify::validate::Path,
                #out: &mut ::wechatpay_notify::validate::Violations,
            ) {
                #(#checks)*
            }
        }
    }
}

/// The statement checking one field, if it has anything to check.
fn field_checks(f: &Field) -> Option<TokenStream> {
    let wire = &f.wire;
    let id = ident(&f.ident);
    if f.required {
        let checks = value_checks(f, &quote!(self.#id), &quote!(&self.#id));
        let body = closure_body(checks)?;
        Some(quote!(path.field(#wire, |p| #body);))
    } else {
        let checks = value_checks(f, &quote!(v), &quote!(v));
        let body = closure_body(checks)?;
        Some(quote! {
            if let Some(v) = &self.#id {
                path.field(#wire, |p| #body);
            }
        })
    }
}

/// One expression as is, several as a block.
fn closure_body(exprs: Vec<TokenStream>) -> Option<TokenStream> {
    match exprs.len() {
        0 => None,
        1 => exprs.into_iter().next(),
        _ => Some(quote!({ #(#exprs;)* })),
    }
}

/// The checks of a field's value at path `p`, as expressions: `place` names the value for
/// method calls (`self.x`, `v`), `v` is a reference to it (`&self.x`, `v`).
fn value_checks(f: &Field, place: &TokenStream, v: &TokenStream) -> Vec<TokenStream> {
    let vd = quote!(::wechatpay_notify::validate);
    match &f.ty {
        FieldType::Array(item) => {
            let mut out = Vec::new();
            if let Some(b) = f.count {
                let (min, max) = (int(b.min), int(b.max));
                out.push(quote!(#vd::check_count(p, #place.len(), #min, #max, out)));
            }
            let element = element_checks(item, f, &quote!(item));
            if let Some(body) = closure_body(element) {
                out.push(quote! {
                    for (i, item) in #place.iter().enumerate() {
                        p.index(i, |p| #body);
                    }
                });
            }
            out
        }
        ty => element_checks(ty, f, v),
    }
}

/// The checks of one value of type `ty` (a field, or an array's element).
fn element_checks(ty: &FieldType, f: &Field, v: &TokenStream) -> Vec<TokenStream> {
    let vd = quote!(::wechatpay_notify::validate);
    match ty {
        FieldType::Scalar(Scalar::String) => {
            let mut out = Vec::new();
            if let Some(b) = f.length {
                let (min, max) = (int(b.min), int(b.max));
                out.push(quote!(#vd::check_length(p, #v, #min, #max, out)));
            }
            if let Some(format) = f.format {
                let format = match format {
                    Format::Rfc3339 => quote!(Rfc3339),
                    Format::CompactDateTime => quote!(CompactDateTime),
                    Format::SpacedDateTime => quote!(SpacedDateTime),
                    Format::Digits => quote!(Digits),
                };
                out.push(quote!(#vd::check_format(p, #v, #vd::Format::#format, out)));
            }
            out
        }
        FieldType::Scalar(Scalar::Integer) => vec![quote!(#vd::check_int(p, #v, out))],
        FieldType::Named(TypeRef {
            def: DefKind::Enum, ..
        }) => {
            vec![quote!(#vd::check_known(p, #v, out))]
        }
        FieldType::Named(TypeRef {
            def: DefKind::Object,
            ..
        }) => {
            vec![quote!(#vd::Validate::validate_into(#v, p, out))]
        }
        FieldType::Scalar(_) | FieldType::Array(_) => Vec::new(),
    }
}
