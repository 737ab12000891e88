//! Embeds every kind's first schema example in the binary (`send` without `--data`, `demo`):
//! a table from schema file to `include_str!` of the example (and, for encrypted APIv2 kinds,
//! its plaintext), written to `$OUT_DIR/examples.rs`. The schema folder is the single source:
//! nothing is copied into the CLI's tree.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let schema = Path::new(&manifest).join("../schema");
    println!("cargo:rerun-if-changed={}", schema.display());
    let mut kinds: Vec<_> = std::fs::read_dir(schema.join("kinds"))
        .expect("schema/kinds")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    kinds.sort();
    let mut out = String::from(
        "/// Schema file → (first example, plaintext of an encrypted APIv2 example).\n\
         pub static EXAMPLES: &[(&str, &str, Option<&str>)] = &[\n",
    );
    for path in kinds {
        println!("cargo:rerun-if-changed={}", path.display());
        let yaml = std::fs::read_to_string(&path).expect("a schema file");
        let value = |key: &str| {
            yaml.lines()
                .skip_while(|l| !l.starts_with("examples:"))
                .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix(key))
                .map(|v| v.trim().trim_matches('"').to_owned())
        };
        let Some(file) = value("file:") else { continue };
        let abs = |rel: &str| schema.join(rel).display().to_string();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let plaintext = match value("plaintext:") {
            Some(p) => format!("Some(include_str!({:?}))", abs(&p)),
            None => "None".to_owned(),
        };
        let _ = writeln!(
            out,
            "    ({:?}, include_str!({:?}), {plaintext}),",
            format!("schema/kinds/{name}"),
            abs(&file)
        );
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("examples.rs");
    std::fs::write(dest, out).expect("write examples.rs");
}
