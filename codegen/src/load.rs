//! Stage 1, *load*: every schema file into its strict [`raw`](crate::raw) struct.
//!
//! Each file is parsed on its own; a structural problem (unknown key, wrong YAML type, missing
//! key) is reported with the file and the path inside it, and the other files are still read,
//! so one run lists the structural problems of the whole catalogue.

use std::fs;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Problem};
use crate::raw;

/// One parsed schema file.
#[derive(Debug)]
pub struct Source<T> {
    /// The file, relative to the repository root, with `/` separators (`schema/kinds/x.yaml`).
    pub path: String,
    /// The file name without `.yaml` (`x`).
    pub stem: String,
    /// What the file says.
    pub body: T,
}

/// The whole catalogue as written, each list sorted by file name.
#[derive(Debug, Default)]
pub struct Loaded {
    /// `schema/enums/*.yaml`.
    pub enums: Vec<Source<raw::EnumFile>>,
    /// `schema/objects/*.yaml`.
    pub objects: Vec<Source<raw::ObjectFile>>,
    /// `schema/kinds/*.yaml`.
    pub kinds: Vec<Source<raw::KindFile>>,
}

/// Reads `root/schema/{enums,objects,kinds}/*.yaml`. A missing folder is an empty one.
///
/// # Errors
/// [`Error::Io`] when a file cannot be read; [`Error::Catalogue`] listing every file that does
/// not parse into its format.
pub fn load(root: &Path) -> Result<Loaded, Error> {
    let mut problems = Vec::new();
    let loaded = Loaded {
        enums: load_dir(root, "enums", &mut problems)?,
        objects: load_dir(root, "objects", &mut problems)?,
        kinds: load_dir(root, "kinds", &mut problems)?,
    };
    if problems.is_empty() {
        Ok(loaded)
    } else {
        problems.sort_by(|a, b| a.file.cmp(&b.file));
        Err(Error::Catalogue(problems))
    }
}

fn load_dir<T: DeserializeOwned>(
    root: &Path,
    folder: &str,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Source<T>>, Error> {
    let dir = root.join("schema").join(folder);
    let mut names = Vec::new();
    match fs::read_dir(&dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(&dir, e))?;
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_owned());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
    }
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let rel = format!("schema/{folder}/{name}");
        let Some(stem) = name.strip_suffix(".yaml") else {
            if name.ends_with(".yml") {
                problems.push(Problem::new(&rel, "", "schema files end in `.yaml`"));
            }
            continue;
        };
        let file = dir.join(&name);
        let text = fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        match parse::<T>(&text) {
            Ok(body) => out.push(Source {
                path: rel,
                stem: stem.to_owned(),
                body,
            }),
            Err((path, message)) => problems.push(Problem::new(&rel, path, message)),
        }
    }
    Ok(out)
}

/// Parses one file; on failure, the path of the offending value and the message.
fn parse<T: DeserializeOwned>(text: &str) -> Result<T, (String, String)> {
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // `?` stands for a segment serde could not name (a YAML syntax error mid-mapping).
        let path = e.path().to_string();
        let path = path.trim_end_matches('?').trim_end_matches('.');
        let path = if path == "." {
            String::new()
        } else {
            path.to_owned()
        };
        let message = e.into_inner().to_string();
        // serde_norway prefixes its own (shorter) path; ours is the precise one.
        let message = match message.split_once(": ") {
            Some((prefix, rest)) if !prefix.contains(' ') && path.starts_with(prefix) => {
                rest.to_owned()
            }
            _ => message,
        };
        (path, message)
    })
}
