//! Face detection and FaceNet embeddings, one path for every front (the wasm module, the
//! `facenet-embed` CLI, the tests):
//!
//! ```text
//! photo → decode (EXIF) → RGB → Detector (RetinaFace, tiled) → faces: box, score, 5 landmarks
//!       → align_face (five-point similarity) → 160×160 crop
//! crop  → resize → standardize → Embedder (FaceNet plan) → L2-normalized vector
//! ```
//!
//! Nothing here knows about browsers; `wasm.rs` is a thin binding layer over this crate. The
//! feature `engine` (on by default) brings the inference engine, tract: `Embedder`, `Detector`
//! and the wasm bindings. Without it the crate decodes, aligns, reads manifests and names errors,
//! which is all a backend that only stores vectors needs.
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
//!
//! From a photo:
//!
//! ```no_run
//! use facenet_wasm::{align_face, decode_image, Alignment, Detector, DetectorManifest, Embedder, Limits, Manifest};
//!
//! let mut detector = Detector::builder(std::fs::read("models/retinaface.onnx")?, DetectorManifest::retinaface()).build()?;
//! let mut embedder = Embedder::builder(std::fs::read("models/facenet.onnx")?, Manifest::facenet()).build()?;
//! let photo = decode_image(&std::fs::read("classroom.jpg")?, &Limits::default())?;
//! for face in detector.detect_rgb(&photo)? {
//!     let crop = align_face(&photo, &face, Alignment::FivePoint, 160, 160).expect("a real face has extent");
//!     let vector = embedder.embed_rgb(&crop)?.vector;
//!     println!("{:?} {:.3} → {}-d", face.bbox, face.score, vector.len());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod align;
mod decode;
mod detection;
#[cfg(feature = "engine")]
mod detector;
#[cfg(feature = "engine")]
mod embedder;
mod error;
mod limits;
pub mod manifest;
mod preprocess;
#[cfg(feature = "engine")]
mod stored_weights;
/// JavaScript bindings (wasm32 only): `FaceNetModel`, errors with stable `code`s.
#[cfg(all(target_arch = "wasm32", feature = "engine"))]
pub mod wasm;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128", feature = "engine"))]
pub mod wasm_kernel;
/// The threaded build's thread pool (wasm32 with feature `threads` only).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub mod wasm_threads;

pub use align::{align_face, face_transform, similarity, warp, Affine, Alignment, TEMPLATE_160};
pub use decode::{decode_image, encode_jpeg, rgba_to_rgb};
pub use detection::{anchor_count, anchors, decode as decode_detections, nms, BoundingBox, Face, RawOutputs};
#[cfg(feature = "engine")]
pub use detector::{Detector, DetectorBuilder, DetectorOptions, LARGE_FACE, MAX_PLANS, TILE, TILE_OVERLAP};
#[cfg(feature = "engine")]
pub use embedder::{Embedder, EmbedderBuilder, Embedding};
pub use error::{EmbedError, ErrorCode};
pub use limits::Limits;
pub use manifest::{DetectorManifest, Manifest, MODEL_VERSION_LEN};
pub use preprocess::{l2_normalize, to_input};

/// Cosine similarity of two vectors (1 for the same direction); for comparing embeddings.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}
