//! The generator of wechatpay-notify: the catalogue in `schema/` becomes the Rust code in
//! `sdk/src/generated/`.
//!
//! Four stages with typed boundaries:
//!
//! 1. [`load`]: every YAML file into its strict [`raw`] struct (unknown keys are errors);
//! 2. [`check`]: the raw files into the [`model`], resolving type names and checking
//!    everything the emitter relies on, with every problem reported at its file and path;
//! 3. [`emit`]: the model into tokens, one function per model node;
//! 4. [`render`]: tokens into formatted text under an `@generated` header.
//!
//! [`generate`] runs them and brings `sdk/src/generated/` in line, or (in [`Mode::Check`])
//! fails when it is not. `cargo xtask codegen [--check]` calls it.
#![deny(missing_docs)]

pub mod check;
pub mod docs;
pub mod emit;
pub mod error;
mod files;
pub mod json_schema;
pub mod load;
pub mod model;
pub mod raw;
pub mod render;
pub mod sanitize;

use std::path::Path;

pub use error::{Error, Problem};

/// Where generated code goes, relative to the repository root.
pub const GENERATED_DIR: &str = "sdk/src/generated";

/// What [`generate`] does with its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write files that changed, delete files no schema gives any more.
    Write,
    /// Change nothing; fail when a file would be written or deleted.
    Check,
}

/// What [`generate`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Files written (relative to the repository root).
    pub written: Vec<String>,
    /// Orphan files deleted.
    pub deleted: Vec<String>,
    /// How many files were already up to date.
    pub unchanged: usize,
}

/// One generated file's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Its path under the generated folder, with `/` separators (`kinds/refund_success.rs`).
    pub path: String,
    /// Its full text, header included.
    pub contents: String,
}

/// Generates the code of the catalogue at `root/schema/` into `root/sdk/src/generated/`, one
/// JSON Schema per kind into `root/schema/json/`, and the readable catalogue into
/// `root/docs/catalogue.md`.
///
/// # Errors
/// [`Error::Catalogue`] with every problem of the catalogue; [`Error::Stale`] in
/// [`Mode::Check`] when an output folder is not what the catalogue gives (every stale file of
/// both); [`Error::Io`].
pub fn generate(root: &Path, mode: Mode) -> Result<Report, Error> {
    let loaded = load::load(root)?;
    let catalogue = check::check(root, &loaded).map_err(Error::Catalogue)?;
    let outputs = [
        (GENERATED_DIR, rust_files(&catalogue)?),
        (
            json_schema::JSON_SCHEMA_DIR,
            json_schema::kind_schemas(&catalogue),
        ),
        (docs::DOCS_DIR, vec![docs::catalogue_md(&catalogue)]),
    ];
    let mut report = Report::default();
    let mut stale = Vec::new();
    for (dir, files) in &outputs {
        match files::sync(root, dir, files, mode) {
            Ok(r) => report.merge(r),
            Err(Error::Stale { files }) => stale.extend(files),
            Err(e) => return Err(e),
        }
    }
    if stale.is_empty() {
        Ok(report)
    } else {
        stale.sort();
        Err(Error::Stale { files: stale })
    }
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.written.extend(other.written);
        self.deleted.extend(other.deleted);
        self.unchanged += other.unchanged;
    }
}

/// The generated files of the catalogue at `root/schema/`, sorted by path, without writing
/// anything.
///
/// # Errors
/// As [`generate`], but never [`Error::Stale`].
pub fn generate_files(root: &Path) -> Result<Vec<GeneratedFile>, Error> {
    let loaded = load::load(root)?;
    let catalogue = check::check(root, &loaded).map_err(Error::Catalogue)?;
    rust_files(&catalogue)
}

/// The Rust files of a checked catalogue.
fn rust_files(catalogue: &model::Catalogue) -> Result<Vec<GeneratedFile>, Error> {
    emit::emit(catalogue)
        .iter()
        .map(|output| {
            Ok(GeneratedFile {
                path: output.path.clone(),
                contents: render::render(output)?,
            })
        })
        .collect()
}
