//! Snapshot tests of the generator: each catalogue under `tests/fixtures/<name>/schema/` gives
//! exactly the files under `tests/fixtures/<name>/expected/`.
//!
//! `UPDATE_EXPECT=1 cargo test -p codegen --test snapshots` rewrites the expected files. The
//! workspace's `tests` crate compiles them (`tests/tests/generator_snapshots.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use expect_test::expect_file;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// Every file under `dir`, relative to it, `/`-separated.
fn list(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            list(&entry.path(), &format!("{prefix}{name}/"), out);
        } else {
            out.push(format!("{prefix}{name}"));
        }
    }
}

#[test]
fn fixtures_give_their_expected_files() {
    let fixtures = fixtures();
    assert!(!fixtures.is_empty());
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    for fixture in fixtures {
        let files = codegen::generate_files(&fixture)
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
        let expected = fixture.join("expected");
        for file in &files {
            let path = expected.join(&file.path);
            if update {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
            }
            expect_file![path].assert_eq(&file.contents);
        }
        let mut present = Vec::new();
        list(&expected, "", &mut present);
        for extra in present {
            if files.iter().any(|f| f.path == extra) {
                continue;
            }
            if update {
                fs::remove_file(expected.join(&extra)).unwrap();
            } else {
                panic!(
                    "{}: {extra} is no longer generated (UPDATE_EXPECT=1 removes it)",
                    expected.display()
                );
            }
        }
    }
}

#[test]
fn generation_is_deterministic() {
    for fixture in fixtures() {
        let a = codegen::generate_files(&fixture).unwrap();
        let b = codegen::generate_files(&fixture).unwrap();
        assert_eq!(a, b);
    }
}
