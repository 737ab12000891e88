//! Project tasks: `cargo xtask codegen [--check]`.
//!
//! `codegen` regenerates `sdk/src/generated/` from `schema/`; with `--check` it changes
//! nothing and fails when the generated code is stale (CI runs this).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask codegen [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mode = match args.as_slice() {
        ["codegen"] => codegen::Mode::Write,
        ["codegen", "--check"] => codegen::Mode::Check,
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    match codegen::generate(&root, mode) {
        Ok(report) => {
            for file in &report.written {
                println!("wrote {file}");
            }
            for file in &report.deleted {
                println!("deleted {file}");
            }
            println!(
                "codegen: {} written, {} deleted, {} up to date",
                report.written.len(),
                report.deleted.len(),
                report.unchanged
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
