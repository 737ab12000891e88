//! Bringing the generated folder in line with the catalogue: write what changed (or, in
//! check mode, report it), and remove what no schema file gives any more.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::error::Error;
use crate::{GeneratedFile, Mode, Report};

/// Makes `root/dir` hold exactly `files` (paths relative to it).
pub(crate) fn sync(
    root: &Path,
    dir: &str,
    files: &[GeneratedFile],
    mode: Mode,
) -> Result<Report, Error> {
    let mut report = Report::default();
    let mut stale = Vec::new();
    for file in files {
        let rel = format!("{dir}/{}", file.path);
        match ensure_file_contents(&root.join(&rel), &file.contents, mode)? {
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Written => report.written.push(rel),
            Outcome::Stale => stale.push(rel),
        }
    }
    let wanted: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut existing = Vec::new();
    list_files(&root.join(dir), "", &mut existing)?;
    for path in existing {
        if wanted.contains(path.as_str()) {
            continue;
        }
        let rel = format!("{dir}/{path}");
        match mode {
            Mode::Check => stale.push(rel),
            Mode::Write => {
                let full = root.join(&rel);
                fs::remove_file(&full).map_err(|e| Error::io(&full, e))?;
                report.deleted.push(rel);
            }
        }
    }
    if mode == Mode::Write {
        remove_empty_dirs(&root.join(dir))?;
    }
    if stale.is_empty() {
        Ok(report)
    } else {
        stale.sort();
        Err(Error::Stale { files: stale })
    }
}

enum Outcome {
    Unchanged,
    Written,
    Stale,
}

/// Writes `contents` to `path` only when they differ; in check mode, reports the difference
/// instead (the caller's error tells to run `cargo xtask codegen`).
fn ensure_file_contents(path: &Path, contents: &str, mode: Mode) -> Result<Outcome, Error> {
    match fs::read_to_string(path) {
        Ok(old) if old == contents => return Ok(Outcome::Unchanged),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    if mode == Mode::Check {
        return Ok(Outcome::Stale);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    fs::write(path, contents).map_err(|e| Error::io(path, e))?;
    Ok(Outcome::Written)
}

/// Every file under `dir` (recursively), as `/`-separated paths relative to it, sorted.
fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| Error::io(entry.path(), e))?
            .is_dir();
        names.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    names.sort();
    for (name, is_dir) in names {
        let rel = format!("{prefix}{name}");
        if is_dir {
            list_files(&dir.join(&name), &format!("{rel}/"), out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Removes the folders under `dir` that are left empty (not `dir` itself).
fn remove_empty_dirs(dir: &Path) -> Result<(), Error> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            remove_empty_dirs(&path)?;
            let empty = fs::read_dir(&path)
                .map_err(|e| Error::io(&path, e))?
                .next()
                .is_none();
            if empty {
                fs::remove_dir(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    Ok(())
}
