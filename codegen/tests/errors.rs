//! Bad catalogues: each catalogue under `tests/errors/<name>/schema/` is refused with exactly
//! the problems listed in `tests/errors/<name>/expected.txt`, one per line.
//!
//! `UPDATE_EXPECT=1 cargo test -p codegen --test errors` rewrites the expected lists.

use std::fs;
use std::path::{Path, PathBuf};

use expect_test::expect_file;

#[test]
fn bad_catalogues_report_every_problem() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    for case in cases {
        let problems = match codegen::generate_files(&case) {
            Err(codegen::Error::Catalogue(problems)) => problems,
            Err(e) => panic!("{}: unexpected error {e}", case.display()),
            Ok(_) => panic!("{}: the catalogue was accepted", case.display()),
        };
        let text: String = problems.iter().map(|p| format!("{p}\n")).collect();
        expect_file![case.join("expected.txt")].assert_eq(&text);
    }
}
