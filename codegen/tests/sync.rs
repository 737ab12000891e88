//! `generate` in both modes on a scratch copy of a fixture: writes only what changed, and in
//! check mode reports stale and orphan files (telling to run `cargo xtask codegen`).

use std::fs;
use std::path::{Path, PathBuf};

use codegen::{Error, Mode};

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn scratch() -> PathBuf {
    let root = std::env::temp_dir().join(format!("codegen-sync-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic/schema");
    copy_dir(&fixture, &root.join("schema"));
    root
}

fn stale(root: &Path) -> Vec<String> {
    match codegen::generate(root, Mode::Check) {
        Err(Error::Stale { files }) => files,
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => Vec::new(),
    }
}

#[test]
fn write_then_check() {
    let root = scratch();
    let generated = root.join(codegen::GENERATED_DIR);

    // Nothing generated yet: everything is stale, and the message says what to run.
    let err = codegen::generate(&root, Mode::Check).unwrap_err();
    assert!(
        err.to_string().contains("run `cargo xtask codegen`"),
        "{err}"
    );
    assert!(!generated.exists(), "check mode wrote something");

    // 14 Rust files, one JSON Schema per kind (7) and docs/catalogue.md.
    let report = codegen::generate(&root, Mode::Write).unwrap();
    assert_eq!(report.written.len(), 22);
    assert!(
        report
            .written
            .contains(&"sdk/src/generated/kinds/pay_success_basic.rs".to_owned())
    );
    assert!(stale(&root).is_empty());

    // A second run writes nothing.
    let report = codegen::generate(&root, Mode::Write).unwrap();
    assert!(report.written.is_empty() && report.deleted.is_empty());
    assert_eq!(report.unchanged, 22);

    // A hand edit is stale.
    let edited = generated.join("enums/trade_type.rs");
    fs::write(&edited, "// edited\n").unwrap();
    assert_eq!(stale(&root), ["sdk/src/generated/enums/trade_type.rs"]);

    // A deleted schema leaves an orphan: check fails, write removes it (and its empty folder).
    fs::remove_file(root.join("schema/kinds/v2-check-success.yaml")).unwrap();
    fs::create_dir_all(generated.join("old")).unwrap();
    fs::write(generated.join("old/stray.rs"), "").unwrap();
    assert_eq!(
        stale(&root),
        [
            "docs/catalogue.md",
            "schema/json/v2-check-success.schema.json",
            "sdk/src/generated/catalogue.rs",
            "sdk/src/generated/enums/trade_type.rs",
            "sdk/src/generated/kinds/mod.rs",
            "sdk/src/generated/kinds/v2_check_success.rs",
            "sdk/src/generated/old/stray.rs",
        ]
    );
    let report = codegen::generate(&root, Mode::Write).unwrap();
    assert_eq!(
        report.deleted,
        [
            "sdk/src/generated/kinds/v2_check_success.rs",
            "sdk/src/generated/old/stray.rs",
            "schema/json/v2-check-success.schema.json",
        ]
    );
    assert!(!generated.join("old").exists());
    assert!(stale(&root).is_empty());

    fs::remove_dir_all(&root).unwrap();
}
