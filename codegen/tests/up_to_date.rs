//! The checked-in generated code is what the catalogue gives (as `cargo xtask codegen
//! --check` does in CI): a schema edit without `cargo xtask codegen` fails here.

use std::path::Path;

#[test]
fn generated_code_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    if let Err(e) = codegen::generate(root, codegen::Mode::Check) {
        panic!("{e}");
    }
}
