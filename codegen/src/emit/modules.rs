//! The `mod.rs` files: module declarations and re-exports of their children's types.

use proc_macro2::TokenStream;
use quote::quote;

use super::ident;
use super::kinds::expected_name;
use crate::model::{Catalogue, Ident};

/// `generated/mod.rs`.
pub(super) fn root() -> TokenStream {
    quote! {
        //! The catalogue's generated code: one type per notification kind, object and enum,
        //! with validators, the kind table, the classifier and the `Notification` enum.
        //!
        //! Generated from `schema/` by `cargo xtask codegen`; edit the schema, not this code.

        pub mod enums;
        pub mod kinds;
        pub mod objects;

        mod catalogue;

        pub use catalogue::*;
    }
}

/// `generated/enums/mod.rs`.
pub(super) fn enums(c: &Catalogue) -> TokenStream {
    let children = c
        .enums
        .iter()
        .map(|f| (&f.source.module, vec![f.def.name.clone()]));
    folder("Enums shared by several kinds (`schema/enums/`).", children)
}

/// `generated/objects/mod.rs`.
pub(super) fn objects(c: &Catalogue) -> TokenStream {
    let children = c
        .objects
        .iter()
        .map(|f| (&f.source.module, vec![f.def.name.clone()]));
    folder(
        "Object types shared by several kinds (`schema/objects/`).",
        children,
    )
}

/// `generated/kinds/mod.rs`: each kind's type, and the types local to it.
pub(super) fn kinds(c: &Catalogue) -> TokenStream {
    let children = c.kinds.iter().map(|f| {
        let mut names = vec![f.kind.body.name.clone(), expected_name(&f.kind)];
        names.extend(f.objects.iter().map(|o| o.name.clone()));
        names.extend(f.enums.iter().map(|e| e.name.clone()));
        (&f.source.module, names)
    });
    folder(
        "One type per notification kind (`schema/kinds/`), with its cross-check type \
         (`…Expected`) and the types only it uses.",
        children,
    )
}

fn folder<'a>(doc: &str, children: impl Iterator<Item = (&'a Ident, Vec<Ident>)>) -> TokenStream {
    let doc = format!(" {doc}");
    let items = children.map(|(module, names)| {
        let module = ident(module);
        let names: Vec<_> = names.iter().map(ident).collect();
        let uses = match names.as_slice() {
            [one] => quote!(pub use #module::#one;),
            _ => quote!(pub use #module::{#(#names),*};),
        };
        quote! {
            mod #module;
            #uses
        }
    });
    quote! {
        #![doc = #doc]
        #(#items)*
    }
}
