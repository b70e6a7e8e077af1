//! FaceNet face embeddings: encoded crop → decode → RGB → resize → standardize → tract plan →
//! L2-normalize, one path for every front (the wasm module, the `facenet-embed` CLI, the tests).
//!
//! Nothing here knows about browsers; `wasm.rs` is a thin binding layer over this crate.
//!
//! ```no_run
//! use facenet_wasm::{Embedder, ErrorCode, Manifest};
//!
//! let onnx = std::fs::read("models/facenet.onnx")?;
//! let mut embedder = Embedder::builder(&onnx, Manifest::facenet()).model("facenet512").build()?;
//! for result in embedder.embed_batch(&[std::fs::read("tests/faces/s1a.jpg")?, b"not an image".to_vec()]) {
//!     match result {
//!         Ok(e) => println!("{} {}-d, version {}", e.model, e.vector.len(), e.model_version),
//!         Err(e) => assert_eq!(e.code(), ErrorCode::UnsupportedFormat),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod embedder;
mod error;
mod f16_weights;
mod limits;
pub mod manifest;
mod preprocess;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm_kernel;
/// JavaScript bindings (wasm32 only): `FaceNetModel`, errors with stable `code`s.
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use decode::{decode_image, rgba_to_rgb};
pub use embedder::{Embedder, EmbedderBuilder, Embedding};
pub use error::{EmbedError, ErrorCode};
pub use limits::Limits;
pub use manifest::Manifest;
pub use preprocess::{l2_normalize, to_input};

/// Cosine similarity of two vectors (1 for the same direction); for comparing embeddings.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}
