//! The core's fuzz harnesses (fuzz/src/core.rs) replayed on stable over every input kept in
//! fuzz/regressions/<target>/ (crashes found by `scripts/fuzz`, fixed) and over the seeds.

#[allow(unreachable_pub)] // the fuzz crate's public harness, used here as a module
#[path = "../fuzz/src/core.rs"]
mod harness;

mod common;
use common::repo;

/// Runs `harness` over every file of `dirs`; returns how many.
fn replay(dirs: &[&str], harness: fn(&[u8])) -> usize {
    let mut count = 0;
    for dir in dirs {
        for entry in std::fs::read_dir(repo(dir)).unwrap_or_else(|e| panic!("{dir}: {e}")) {
            let path = entry.unwrap().path();
            if path.is_file() && path.file_name().is_some_and(|n| n != "README.md" && n != ".gitkeep") {
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| harness(&data));
                assert!(outcome.is_ok(), "{} fails the harness again", path.display());
                count += 1;
            }
        }
    }
    count
}

#[test]
fn decode_regressions_and_seeds() {
    assert!(replay(&["fuzz/regressions/decode", "tests/formats", "tests/faces"], harness::decode) >= 28);
}

#[test]
fn manifest_regressions_and_seeds() {
    assert!(replay(&["fuzz/regressions/manifest", "tests/models", "models"], harness::manifest) > 5);
}

#[test]
fn detections_regressions() {
    // No seeds: any bytes are raw outputs. Plus a few of our own: NaN, infinities, huge offsets.
    let mut count = replay(&["fuzz/regressions/detections"], harness::detections);
    for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, 1e30, -1e30, 0.0, 1.0] {
        let mut data = vec![17, 40, 0, 128];
        data.extend(std::iter::repeat_n(value.to_le_bytes(), 600).flatten());
        harness::detections(&data);
        count += 1;
    }
    assert!(count >= 8);
}
