//! Stage 2, *check and lower*: the loaded files into the [`model`](crate::model), with every
//! problem found reported (located by file and path), not only the first.
//!
//! The checks, in order: the type namespace (objects, enums and kind types share it, kind-local
//! ones included, and each kind's `…Expected` cross-check type; a name is defined once), then
//! each file's definitions (names, types, lengths, counts, formats, enum values), then each
//! kind's own keys (id, docs, retry, business key, merchant, state, cross-check, reply,
//! examples, match), then what spans files: objects that contain themselves, and the
//! classification rules of kinds sharing an event_type.

mod containment;
mod cross_check;
mod fields;
mod kinds;
mod rules;
mod v2;

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Problem;
use crate::load::Loaded;
use crate::model::{Catalogue, DefKind, EnumFile, Home, Ident, ObjectFile, SourceFile, TypeRef};
use crate::sanitize::{Case, RESERVED_TYPE_NAMES, is_type_name, sanitize};

/// Checks the loaded catalogue and lowers it into the model.
///
/// `root` is the repository root: example files are looked up under `root/schema/`.
///
/// # Errors
/// Every problem found, sorted by file (within a file, in the order they were found).
pub fn check(root: &Path, loaded: &Loaded) -> Result<Catalogue, Vec<Problem>> {
    let mut cx = Checker {
        root,
        names: BTreeMap::new(),
        problems: Vec::new(),
    };
    cx.declare_names(loaded);

    let mut catalogue = Catalogue::default();
    let mut enum_modules = Modules::default();
    for src in &loaded.enums {
        let module = enum_modules.claim(&mut cx, &src.path, &src.stem);
        let def = cx.lower_enum(
            &src.path,
            "",
            &src.body.name,
            src.body.doc.as_deref(),
            &src.body.values,
        );
        if let (Some(module), Some(def)) = (module, def) {
            catalogue.enums.push(EnumFile {
                source: SourceFile {
                    path: src.path.clone(),
                    module,
                },
                def,
            });
        }
    }
    let mut object_modules = Modules::default();
    for src in &loaded.objects {
        let module = object_modules.claim(&mut cx, &src.path, &src.stem);
        let scope = Scope {
            file: &src.path,
            local: false,
        };
        let def = cx.lower_object(
            scope,
            "",
            &src.body.object,
            src.body.doc.as_deref(),
            &src.body.fields,
        );
        if let (Some(module), Some(def)) = (module, def) {
            catalogue.objects.push(ObjectFile {
                source: SourceFile {
                    path: src.path.clone(),
                    module,
                },
                def,
            });
        }
    }
    let mut kind_modules = Modules::default();
    let mut ids = BTreeMap::new();
    let mut lowered = Vec::new();
    for src in &loaded.kinds {
        let module = kind_modules.claim(&mut cx, &src.path, &src.stem);
        if let Some(kind) = cx.lower_kind_file(src, module, &mut ids, &catalogue.objects) {
            lowered.push(kind);
        }
    }
    cx.check_containment(&catalogue, &lowered);
    catalogue.routes = cx.route(&lowered);
    catalogue.kinds = lowered.into_iter().map(|k| k.file).collect();
    mark_replies(&mut catalogue);

    if cx.problems.is_empty() {
        Ok(catalogue)
    } else {
        let mut problems = cx.problems;
        problems.sort_by(|a, b| a.file.cmp(&b.file));
        Err(problems)
    }
}

/// The state of one check run.
struct Checker<'a> {
    root: &'a Path,
    /// Every type name: shared and local objects and enums, and kind types.
    names: BTreeMap<String, Declared>,
    problems: Vec<Problem>,
}

/// Where a type name is declared.
#[derive(Clone, Debug)]
struct Declared {
    what: Declaration,
    file: String,
    path: String,
}

/// What a name declares; `Expected` is a kind's cross-check type, `<Kind>Expected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Declaration {
    Enum { local: bool },
    Object { local: bool },
    Kind,
    Expected,
}

/// Which types a definition may use: shared ones, and those local to its own kind file.
#[derive(Clone, Copy, Debug)]
struct Scope<'s> {
    file: &'s str,
    /// `true` in a kind file, whose local types are visible.
    local: bool,
}

/// Module names of one output folder, to catch two files giving the same one.
#[derive(Default)]
struct Modules(BTreeMap<String, String>);

impl Modules {
    fn claim(&mut self, cx: &mut Checker<'_>, file: &str, stem: &str) -> Option<Ident> {
        let Some(module) = sanitize(stem, Case::Snake) else {
            cx.problem(
                file,
                "",
                format!("the file name `{stem}` gives no Rust module name"),
            );
            return None;
        };
        if stem == "mod" {
            cx.problem(
                file,
                "",
                "the file name `mod` is taken by the folder's `mod.rs`",
            );
            return None;
        }
        let unraw = module.trim_start_matches("r#").to_owned();
        if let Some(other) = self.0.get(&unraw) {
            cx.problem(
                file,
                "",
                format!("this file and {other} both give the module `{unraw}`; rename one"),
            );
            return None;
        }
        self.0.insert(unraw, file.to_owned());
        Some(Ident(module))
    }
}

impl Checker<'_> {
    fn problem(&mut self, file: &str, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(file, path, message));
    }

    /// Fills the namespace; reports malformed and duplicate names.
    fn declare_names(&mut self, loaded: &Loaded) {
        for src in &loaded.enums {
            self.declare(
                &src.body.name,
                Declaration::Enum { local: false },
                &src.path,
                "enum",
            );
        }
        for src in &loaded.objects {
            let what = Declaration::Object { local: false };
            self.declare(&src.body.object, what, &src.path, "object");
        }
        for src in &loaded.kinds {
            let body = &src.body;
            match &body.rust_name {
                Some(name) => self.declare(name, Declaration::Kind, &src.path, "rust_name"),
                None => {
                    if let Some(name) = sanitize(&body.kind, Case::UpperCamel) {
                        self.declare(&name, Declaration::Kind, &src.path, "kind");
                    }
                }
            }
            for (name, _) in &body.objects.0 {
                let what = Declaration::Object { local: true };
                self.declare(name, what, &src.path, &format!("objects.{name}"));
            }
            for (name, _) in &body.enums.0 {
                let what = Declaration::Enum { local: true };
                self.declare(name, what, &src.path, &format!("enums.{name}"));
            }
        }
        // Declared last, so a clash names the catalogue type it meets wherever that is.
        for src in &loaded.kinds {
            let body = &src.body;
            let (name, path) = match &body.rust_name {
                Some(name) => (name.clone(), "rust_name"),
                None => match sanitize(&body.kind, Case::UpperCamel) {
                    Some(name) => (name, "kind"),
                    None => continue,
                },
            };
            // A kind whose own name is refused has that problem already.
            let own = self
                .names
                .get(&name)
                .is_some_and(|d| d.file == src.path && matches!(d.what, Declaration::Kind));
            if !own {
                continue;
            }
            let expected = format!("{name}Expected");
            if let Some(prev) = self.names.get(&expected) {
                let at = if prev.file == src.path {
                    format!("at {}", prev.path)
                } else {
                    format!("in {}", prev.file)
                };
                let msg = format!(
                    "the kind's cross-check type `{expected}` is already defined {at}; rename one"
                );
                self.problem(&src.path, path, msg);
                continue;
            }
            let declared = Declared {
                what: Declaration::Expected,
                file: src.path.clone(),
                path: path.to_owned(),
            };
            self.names.insert(expected, declared);
        }
    }

    fn declare(&mut self, name: &str, what: Declaration, file: &str, path: &str) {
        if RESERVED_TYPE_NAMES.contains(&name) {
            self.problem(
                file,
                path,
                format!("`{name}` is reserved: generated code uses it from the Rust prelude"),
            );
            return;
        }
        if !is_type_name(name) {
            self.problem(
                file,
                path,
                format!("`{name}` is not a type name: UpperCamelCase ASCII letters and digits"),
            );
            return;
        }
        if let Some(prev) = self.names.get(name) {
            let at = if prev.file == file {
                format!("at {}", prev.path)
            } else {
                format!("in {}", prev.file)
            };
            self.problem(file, path, format!("`{name}` is already defined {at}"));
            return;
        }
        let declared = Declared {
            what,
            file: file.to_owned(),
            path: path.to_owned(),
        };
        self.names.insert(name.to_owned(), declared);
    }

    /// Resolves a type name used in `scope`; reports unknown names, kinds used as types,
    /// and local types of another kind file.
    fn resolve(&mut self, scope: Scope<'_>, name: &str, path: &str) -> Option<TypeRef> {
        let Some(declared) = self.names.get(name).cloned() else {
            self.problem(scope.file, path, format!("unknown type `{name}`"));
            return None;
        };
        let (def, home) = match declared.what {
            Declaration::Enum { local: false } => (DefKind::Enum, Home::SharedEnums),
            Declaration::Object { local: false } => (DefKind::Object, Home::SharedObjects),
            Declaration::Enum { local: true } => (DefKind::Enum, Home::Local),
            Declaration::Object { local: true } => (DefKind::Object, Home::Local),
            Declaration::Kind => {
                self.problem(
                    scope.file,
                    path,
                    format!("`{name}` is a notification kind, not an object or enum"),
                );
                return None;
            }
            Declaration::Expected => {
                self.problem(
                    scope.file,
                    path,
                    format!("`{name}` is a kind's cross-check type, not an object or enum"),
                );
                return None;
            }
        };
        if home == Home::Local && !(scope.local && declared.file == scope.file) {
            let folder = if def == DefKind::Enum {
                "enums"
            } else {
                "objects"
            };
            self.problem(
                scope.file,
                path,
                format!(
                    "`{name}` is local to {}; move it to schema/{folder}/ to share it",
                    declared.file
                ),
            );
            return None;
        }
        Some(TypeRef {
            name: Ident(name.to_owned()),
            def,
            home,
        })
    }
}

/// Marks the objects that make up reply data (reply types and the objects they hold).
fn mark_replies(catalogue: &mut Catalogue) {
    use crate::model::{FieldType, ObjectDef};

    fn held(def: &ObjectDef) -> impl Iterator<Item = &Ident> {
        def.fields.iter().filter_map(|f| {
            let mut ty = &f.ty;
            if let FieldType::Array(item) = ty {
                ty = item;
            }
            match ty {
                FieldType::Named(t) if t.def == DefKind::Object => Some(&t.name),
                _ => None,
            }
        })
    }

    let mut reply: std::collections::BTreeSet<Ident> = catalogue
        .kinds
        .iter()
        .filter_map(|k| k.kind.reply.as_ref().map(|t| t.name.clone()))
        .collect();
    loop {
        let objects = catalogue
            .objects
            .iter()
            .map(|o| &o.def)
            .chain(catalogue.kinds.iter().flat_map(|k| &k.objects));
        let more: Vec<Ident> = objects
            .filter(|o| reply.contains(&o.name))
            .flat_map(held)
            .filter(|name| !reply.contains(*name))
            .cloned()
            .collect();
        if more.is_empty() {
            break;
        }
        reply.extend(more);
    }
    let objects = catalogue
        .objects
        .iter_mut()
        .map(|o| &mut o.def)
        .chain(catalogue.kinds.iter_mut().flat_map(|k| &mut k.objects));
    for object in objects {
        object.reply = reply.contains(&object.name);
    }
}

/// `prefix.rest`, or `rest` at the top level.
fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_owned()
    } else {
        format!("{prefix}.{rest}")
    }
}
