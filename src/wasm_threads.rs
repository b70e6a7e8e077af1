//! The threaded build's bindings (feature `threads`, built by `scripts/build-wasm` with nightly
//! Rust and `+atomics,+bulk-memory,+mutable-globals`): one wasm memory shared by a worker and
//! its rayon threads (Web Workers spawned by `wasm-bindgen-rayon`), so the weights are held once
//! and tract splits each matrix product across the threads.
//!
//! ```js
//! await init({ module_or_path: module });   // the module's memory is a SharedArrayBuffer
//! await initThreadPool(threads);            // spawns the rayon threads (asynchronous)
//! useThreadPool();                          // tract's products now run on them → threads
//! ```

use tract_linalg::multithread::{set_default_executor, Executor};
use wasm_bindgen::prelude::*;

/// `initThreadPool(n)`: starts `n` rayon threads; resolves once they are running.
pub use wasm_bindgen_rayon::init_thread_pool;

/// Routes tract's matrix products to rayon's global pool (after `initThreadPool`) and returns
/// the number of threads they will use.
#[wasm_bindgen(js_name = useThreadPool)]
pub fn use_thread_pool() -> usize {
    set_default_executor(Executor::RayonGlobal);
    rayon::current_num_threads()
}
