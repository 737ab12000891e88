//! A kind file: the kind's struct and its `KindType` and conversions, its cross-check type,
//! then its local types.

use proc_macro2::TokenStream;
use quote::quote;

use super::objects::object;
use super::{cross_check::cross_check, doc, enums::enum_def, ident, type_ref};
use crate::model::{FieldPath, Ident, Kind, KindFile};

/// Everything generated for one kind file.
pub(super) fn kind_file(file: &KindFile) -> TokenStream {
    let kind = &file.kind;
    let body = object(&kind.body, &doc(&kind_doc(kind)));
    let kind_type = kind_type(kind);
    let conversions = conversions(kind);
    let cross_check = cross_check(kind);
    let objects = file.objects.iter().map(|o| object(o, &doc(&o.doc)));
    let enums = file.enums.iter().map(enum_def);
    quote! {
        #body
        #kind_type
        #conversions
        #cross_check
        #(#objects)*
        #(#enums)*
    }
}

/// The name of a kind's cross-check type: `TransactionSuccessParkingExpected`.
pub(super) fn expected_name(kind: &Kind) -> Ident {
    Ident(format!("{}Expected", kind.body.name.as_str()))
}

/// The kind struct's documentation: title, id and schema file, links.
fn kind_doc(kind: &Kind) -> String {
    let mut text = format!(
        "{}\n\nKind `{}`, from `{}`.\n\nDocumentation:\n",
        kind.title, kind.id, kind.schema
    );
    for link in &kind.docs {
        text.push_str(&format!("- <{link}>\n"));
    }
    text
}

fn kind_type(kind: &Kind) -> TokenStream {
    let name = ident(&kind.body.name);
    let id = &kind.id;
    let reply = match &kind.reply {
        Some(t) => type_ref(t),
        None => quote!(::wechatpay_notify::catalogue::NoReply),
    };
    let fact = |f: &FieldPath| {
        let value = super::cross_check::access(&f.steps);
        quote!(#value.and_then(::wechatpay_notify::catalogue::FactValue::fact_value))
    };
    let merchant = match kind.merchant.split_first() {
        None => quote!(None),
        Some((first, rest)) => {
            let first = fact(first);
            let rest = rest.iter().map(fact);
            quote!(#first #(.or_else(|| #rest))*)
        }
    };
    let key = kind.business_key.iter().map(fact);
    let state = match &kind.state {
        Some(f) => fact(f),
        None => quote!(None),
    };
    let authenticated = (kind.trust == crate::model::Trust::Authenticated)
        .then(|| quote!(impl ::wechatpay_notify::catalogue::AuthenticatedKind for #name {}));
    quote! {
        #authenticated

        impl ::wechatpay_notify::catalogue::KindType for #name {
            const ID: &'static str = #id;
            type Reply = #reply;

            fn business_fact(&self) -> ::wechatpay_notify::catalogue::BusinessFact {
                ::wechatpay_notify::catalogue::BusinessFact {
                    merchant: #merchant,
                    key: ::std::vec::Vec::from([#(#key.unwrap_or_default()),*]),
                    state: #state,
                }
            }
        }
    }
}

fn conversions(kind: &Kind) -> TokenStream {
    let name = ident(&kind.body.name);
    quote! {
        impl ::core::convert::From<#name> for super::super::Notification {
            fn from(value: #name) -> Self {
                super::super::Notification::#name(value)
            }
        }

        impl ::core::convert::TryFrom<super::super::Notification> for #name {
            type Error = super::super::Notification;

            fn try_from(value: super::super::Notification) -> Result<Self, Self::Error> {
                match value {
                    super::super::Notification::#name(kind) => Ok(kind),
                    other => Err(other),
                }
            }
        }
    }
}
