//! The complete example in `schema/README.md` is a valid catalogue: its kind file, with the
//! shared object it names, loads, checks and generates.

use std::fs;
use std::path::Path;

/// The `yaml` code blocks of the schema language's documentation, in order.
fn yaml_blocks() -> Vec<String> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/README.md");
    let text = fs::read_to_string(readme).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_complete_example_generates() {
    let blocks = yaml_blocks();
    let kind = blocks
        .iter()
        .find(|b| b.contains("kind: TRANSACTION.SUCCESS#PARKING"))
        .expect("the complete example");
    let object = blocks
        .iter()
        .find(|b| b.starts_with("# schema/objects/promotion-detail.yaml"))
        .expect("the shared object example");
    let enum_block = blocks
        .iter()
        .find(|b| b.starts_with("# schema/enums/trade-type.yaml"))
        .expect("the shared enum example");

    let root = std::env::temp_dir().join(format!("codegen-readme-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    for (path, text) in [
        (
            "schema/kinds/transaction-success-parking.yaml",
            kind.as_str(),
        ),
        // The documentation elides the shared files' `sources`; a real file names them.
        (
            "schema/objects/promotion-detail.yaml",
            &object.replace("[ … ]", "[documentation example]"),
        ),
        (
            "schema/enums/trade-type.yaml",
            &enum_block.replace("[ … ]", "[documentation example]"),
        ),
        (
            "schema/examples/transaction-success-parking.json",
            r#"{"appid":"wx1","out_trade_no":"T1","trade_state":"SUCCESS","amount":{"total":1}}"#,
        ),
    ] {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let files = codegen::generate_files(&root).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        files
            .iter()
            .any(|f| f.path.ends_with("kinds/transaction_success_parking.rs"))
    );
    let _ = fs::remove_dir_all(&root);
}
