//! A kind's business cross-check: its `…Expected` struct (what the merchant expects, with
//! setters) and its `CrossCheck` impl, which compares every expected value and reports every
//! mismatch.

use proc_macro2::TokenStream;
use quote::quote;

use super::kinds::expected_name;
use super::{doc, ident, type_ref};
use crate::model::{DefKind, FieldPath, FieldType, Kind, Scalar, Step};

/// The `…Expected` struct, its setters and the kind's `CrossCheck` impl.
pub(super) fn cross_check(kind: &Kind) -> TokenStream {
    let name = ident(&kind.body.name);
    let expected = ident(&expected_name(kind));
    let label = kind.body.name.as_str();
    let docs = doc(&format!(
        "What the merchant expects of a [`{label}`] notification ({}), from its own records:\n\
         the values `CrossCheck::cross_check` compares the notification with. `None` is not\n\
         compared.\n\
         \n\
         Build it with `Default::default()` and the setters, or with a struct literal ending in\n\
         `..Default::default()`: a kind may gain cross-check fields, and such code keeps\n\
         compiling.",
        kind.title
    ));
    let fields = kind.cross_check.iter().map(|c| {
        let docs = doc(&format!("`{}`: {}", c.path, c.doc));
        let id = ident(&c.ident);
        let ty = expected_type(&c.ty);
        quote! {
            #docs
            pub #id: Option<#ty>
        }
    });
    let setters = kind.cross_check.iter().map(setter);
    let compares = kind.cross_check.iter().map(|c| {
        let path = &c.path;
        let id = ident(&c.ident);
        let found = access(&c.steps);
        quote! {
            ::wechatpay_notify::cross_check::compare(#path, expected.#id.as_ref(), #found, &mut out);
        }
    });
    let mismatch = quote!(::wechatpay_notify::cross_check::Mismatch);
    quote! {
        #docs
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct #expected {
            #(#fields,)*
        }

        impl #expected {
            #(#setters)*
        }

        impl ::wechatpay_notify::cross_check::CrossCheck for #name {
            type Expected = #expected;

            fn cross_check(&self, expected: &Self::Expected) -> ::std::vec::Vec<#mismatch> {
                let mut out = ::std::vec::Vec::new();
                #(#compares)*
                out
            }
        }
    }
}

/// What the merchant states a value in: `String` for strings, `i64` for integers, the enum
/// itself for enums (compared by wire text).
fn expected_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Scalar(Scalar::Integer) => quote!(i64),
        FieldType::Named(t) if t.def == DefKind::Enum => type_ref(t),
        _ => quote!(String),
    }
}

/// `pub fn amount_total(mut self, value: i64) -> Self`.
fn setter(c: &FieldPath) -> TokenStream {
    let docs = doc(&format!("Expects `{}` to be `value`.", c.path));
    let id = ident(&c.ident);
    let (param, value) = match &c.ty {
        FieldType::Scalar(Scalar::String) => (quote!(impl Into<String>), quote!(value.into())),
        ty => (expected_type(ty), quote!(value)),
    };
    quote! {
        #docs
        #[must_use]
        pub fn #id(mut self, value: #param) -> Self {
            self.#id = Some(#value);
            self
        }
    }
}

/// The value at the end of `steps`, as an `Option<&T>`: `Some(&self.amount.total)`,
/// `self.amount.as_ref().and_then(|v| v.total.as_ref())`.
pub(super) fn access(steps: &[Step]) -> TokenStream {
    // Either a place of the value's type (every field so far required) or an `Option<&T>`.
    enum Access {
        Place(TokenStream),
        Optional(TokenStream),
    }
    let mut access = Access::Place(quote!(self));
    for step in steps {
        let f = ident(&step.ident);
        access = match (access, step.required) {
            (Access::Place(p), true) => Access::Place(quote!(#p.#f)),
            (Access::Place(p), false) => Access::Optional(quote!(#p.#f.as_ref())),
            (Access::Optional(o), true) => Access::Optional(quote!(#o.map(|v| &v.#f))),
            (Access::Optional(o), false) => {
                Access::Optional(quote!(#o.and_then(|v| v.#f.as_ref())))
            }
        };
    }
    match access {
        Access::Place(p) => quote!(Some(&#p)),
        Access::Optional(o) => o,
    }
}
