#![no_main]
use facenet_wasm_fuzz::api::ApiHarness;
use std::path::Path;
use std::sync::OnceLock;

/// One server for the whole run: a database per input would make each run slow.
static HARNESS: OnceLock<ApiHarness> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let harness = HARNESS.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        ApiHarness::new(&repo, &std::env::temp_dir().join(format!("facenet-fuzz-api-{}", std::process::id())))
    });
    harness.run(data);
});
