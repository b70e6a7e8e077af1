//! The API's fuzz harness (fuzz/src/api.rs) replayed on stable over every input kept in
//! fuzz/regressions/api_json/ (crashes found by `scripts/fuzz`, fixed) and over the seeds.

#[allow(unreachable_pub)] // the fuzz crate's public harness, used here as a module
#[path = "../../../fuzz/src/api.rs"]
mod harness;

use std::path::PathBuf;

#[test]
fn api_json_regressions_and_seeds() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data_dir = std::env::temp_dir().join(format!("facenet-fuzz-regressions-{}", std::process::id()));
    let api = harness::ApiHarness::new(&repo, &data_dir);
    let mut count = 0;
    for dir in ["fuzz/regressions/api_json", "fuzz/seeds/api_json"] {
        for entry in std::fs::read_dir(repo.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && path.file_name().is_some_and(|n| n != ".gitkeep") {
                api.run(&std::fs::read(&path).unwrap());
                count += 1;
            }
        }
    }
    assert!(count >= 6, "{count} inputs");
    std::fs::remove_dir_all(&data_dir).unwrap();
}
