//! The fuzz harnesses: each takes arbitrary bytes and panics only on a bug. Shared by the
//! libFuzzer targets (fuzz_targets/) and the regression tests that replay fuzz/regressions/.

pub mod api;
pub mod core;
