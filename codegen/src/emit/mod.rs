//! Stage 3, *emit*: the model into Rust tokens, one function per model node.
//!
//! The generated code names the runtime by full path (`::wechatpay_notify::types::Int`) and
//! other generated items relatively (`super::super::enums::TradeType`, `super::Kind`), never
//! `crate::`, so the same text compiles inside the SDK and in the generator's snapshot tests.

mod catalogue;
mod cross_check;
mod enums;
mod kinds;
mod modules;
mod objects;

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::model::{Catalogue, FieldType, Home, Ident, Scalar, TypeRef};

/// One generated file, before rendering.
#[derive(Clone, Debug)]
pub struct Output {
    /// The path under the generated folder, with `/` separators (`kinds/refund_success.rs`).
    pub path: String,
    /// What it is generated from, for its header (`schema/kinds/refund-success.yaml`).
    pub source: String,
    /// The code.
    pub tokens: TokenStream,
}

/// Every generated file of the catalogue, sorted by path.
pub fn emit(catalogue: &Catalogue) -> Vec<Output> {
    let mut out = vec![
        Output {
            path: "mod.rs".to_owned(),
            source: "schema/".to_owned(),
            tokens: modules::root(),
        },
        Output {
            path: "catalogue.rs".to_owned(),
            source: "schema/".to_owned(),
            tokens: catalogue::catalogue(catalogue),
        },
        Output {
            path: "enums/mod.rs".to_owned(),
            source: "schema/".to_owned(),
            tokens: modules::enums(catalogue),
        },
        Output {
            path: "objects/mod.rs".to_owned(),
            source: "schema/".to_owned(),
            tokens: modules::objects(catalogue),
        },
        Output {
            path: "kinds/mod.rs".to_owned(),
            source: "schema/".to_owned(),
            tokens: modules::kinds(catalogue),
        },
    ];
    for file in &catalogue.enums {
        out.push(Output {
            path: format!("enums/{}.rs", file.source.module.unraw()),
            source: file.source.path.clone(),
            tokens: enums::enum_def(&file.def),
        });
    }
    for file in &catalogue.objects {
        out.push(Output {
            path: format!("objects/{}.rs", file.source.module.unraw()),
            source: file.source.path.clone(),
            tokens: objects::object(&file.def, &doc(&file.def.doc)),
        });
    }
    for file in &catalogue.kinds {
        out.push(Output {
            path: format!("kinds/{}.rs", file.source.module.unraw()),
            source: file.source.path.clone(),
            tokens: kinds::kind_file(file),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// An identifier token, raw where the model says so.
fn ident(id: &Ident) -> proc_macro2::Ident {
    let span = proc_macro2::Span::call_site();
    match id.as_str().strip_prefix("r#") {
        Some(raw) => proc_macro2::Ident::new_raw(raw, span),
        None => proc_macro2::Ident::new(id.as_str(), span),
    }
}

/// `#[doc]` attributes, one per line of `text`.
fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = if line.trim().is_empty() {
            String::new()
        } else {
            format!(" {}", line.trim_end())
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// An unsuffixed integer literal (`15`, not `15u32`).
fn int(n: u32) -> Literal {
    Literal::u32_unsuffixed(n)
}

/// The Rust type of a catalogue type, as written in a kind or object file.
fn type_ref(t: &TypeRef) -> TokenStream {
    let name = ident(&t.name);
    match t.home {
        Home::SharedEnums => quote!(super::super::enums::#name),
        Home::SharedObjects => quote!(super::super::objects::#name),
        Home::Local => quote!(#name),
    }
}

/// The Rust type of a field's value (without the `Option` of an optional field).
fn value_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Scalar(Scalar::String) => quote!(String),
        FieldType::Scalar(Scalar::Integer) => quote!(::wechatpay_notify::types::Int),
        FieldType::Scalar(Scalar::Number) => quote!(f64),
        FieldType::Scalar(Scalar::Boolean) => quote!(bool),
        FieldType::Scalar(Scalar::Object) => {
            quote!(::serde_json::Map<String, ::serde_json::Value>)
        }
        FieldType::Scalar(Scalar::Json) => quote!(::serde_json::Value),
        FieldType::Named(t) => type_ref(t),
        FieldType::Array(item) => {
            let item = value_type(item);
            quote!(Vec<#item>)
        }
    }
}

/// `Some("text")` or `None`.
fn opt_str(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => quote!(Some(#s)),
        None => quote!(None),
    }
}
