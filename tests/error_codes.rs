//! The error codes are defined once, in Rust (`ErrorCode` in src/error.rs); www/client/error-codes.js
//! is generated from them and checked in. This test fails when the two differ.
//!
//! Regenerate: FACENET_BLESS=1 cargo test --release --test error_codes

mod common;
use common::repo;
use facenet_wasm::ErrorCode;

/// The JavaScript module for the current `ErrorCode::ALL`.
fn generated() -> String {
    let names: Vec<String> = ErrorCode::ALL.iter().map(|c| format!("'{}'", c.as_str())).collect();
    let lines = |per: usize, sep: &str| -> String {
        names.chunks(per).map(|chunk| chunk.join(sep)).collect::<Vec<_>>().join(&format!("{}\n", sep.trim_end()))
    };
    format!(
        "// Generated from src/error.rs (ErrorCode::ALL) by tests/error_codes.rs: do not edit.\n\
         // Regenerate: FACENET_BLESS=1 cargo test --release --test error_codes\n\
         \n\
         /**\n \
         * The stable error codes of the Rust core, the JavaScript client (`error.code`) and the\n \
         * HTTP API (`error_type`).\n \
         * @typedef {{{typedef}}} ErrorCode\n \
         */\n\
         \n\
         /** @type {{readonly ErrorCode[]}} */\n\
         export const ERROR_CODES = Object.freeze([\n  {list},\n]);\n",
        typedef = lines(5, "|").replace('\n', "\n *   "),
        list = lines(5, ", ").replace('\n', "\n  "),
    )
}

#[test]
fn the_javascript_error_codes_are_generated_from_the_rust_enum() {
    let path = repo("www/client/error-codes.js");
    let want = generated();
    if std::env::var_os("FACENET_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "www/client/error-codes.js is not what src/error.rs gives; regenerate it: FACENET_BLESS=1 cargo test --release --test error_codes\n\
         --- expected ---\n{want}"
    );
}
