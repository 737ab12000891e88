//! Open enums: the type, `OpenEnum`, `as_str`, `Display`, `FromStr`, serde and JSON Schema.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, ident};
use crate::model::EnumDef;

/// Everything generated for one enum.
pub(super) fn enum_def(def: &EnumDef) -> TokenStream {
    let name = ident(&def.name);
    let name_str = def.name.as_str();
    let docs = doc(&def.doc);
    let variants = def.values.iter().map(|v| {
        let variant = ident(&v.variant);
        let docs = doc(v.doc.as_deref().unwrap_or(&format!("`{}`", v.wire)));
        quote!(#docs #variant)
    });
    let wires: Vec<&str> = def.values.iter().map(|v| v.wire.as_str()).collect();
    let idents: Vec<_> = def.values.iter().map(|v| ident(&v.variant)).collect();
    let ot = quote!(::wechatpay_notify::types::OpenEnum);
    quote! {
        #docs
        #[non_exhaustive]
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        pub enum #name {
            #(#variants,)*
            /// A value the catalogue does not list, kept as received.
            Unknown(String),
        }

        impl #name {
            /// The wire text of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#idents => #wires,)*
                    Self::Unknown(raw) => raw,
                }
            }
        }

        impl #ot for #name {
            const VALUES: &'static [&'static str] = &[#(#wires),*];

            fn parse(raw: &str) -> Self {
                match raw {
                    #(#wires => Self::#idents,)*
                    _ => Self::Unknown(raw.to_owned()),
                }
            }

            fn as_str(&self) -> &str {
                Self::as_str(self)
            }

            fn unknown_value(&self) -> Option<&str> {
                match self {
                    Self::Unknown(raw) => Some(raw),
                    _ => None,
                }
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for #name {
            type Err = ::core::convert::Infallible;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(<Self as #ot>::parse(s))
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                ::wechatpay_notify::types::deserialize_open_enum(d)
            }
        }

        impl ::schemars::JsonSchema for #name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(#name_str)
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::wechatpay_notify::types::open_enum_schema::<Self>()
            }
        }
    }
}
