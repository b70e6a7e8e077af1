//! The Rust path against onnxruntime on the f32 model (tools/golden.py), on real face crops.

mod common;
use common::*;
use facenet_wasm::{cosine, Manifest};

fn check_against_golden(name: &str, dimension: usize) {
    let mut embedder = embedder(name);
    assert_eq!(embedder.dimension(), dimension);
    let sha = Manifest::facenet().sha256.unwrap();
    assert_eq!(embedder.model_version(), &sha[..12]);
    let golden = golden();
    assert_eq!(golden.len(), 28, "tests/golden/golden.json should cover every crop in tests/faces");
    let mut worst = (1.0f32, String::new());
    for (id, vectors) in &golden {
        let e = embedder.embed_image(&face(id)).unwrap();
        assert_eq!((e.model.as_str(), e.vector.len()), (name, dimension));
        assert!((norm(&e.vector) - 1.0).abs() < 1e-5, "{id}: not unit length");
        let c = cosine(&e.vector, &vectors[name]);
        assert!(c >= 0.999, "{id} {name}: cosine {c} against onnxruntime f32");
        if c < worst.0 {
            worst = (c, id.clone());
        }
    }
    eprintln!(
        "{name}: lowest cosine against onnxruntime f32 over {} crops: {:.6} ({})",
        golden.len(),
        worst.0,
        worst.1
    );
}

#[test]
fn facenet_128_matches_onnxruntime_f32() {
    check_against_golden("facenet", 128);
}

#[test]
fn facenet512_matches_onnxruntime_f32() {
    check_against_golden("facenet512", 512);
}

#[test]
fn same_bytes_give_the_same_vector_every_time() {
    // The plan's buffers are reused between runs: nothing of one image may leak into the next.
    let mut embedder = embedder("facenet");
    let first = embedder.embed_image(&face("s1a")).unwrap();
    embedder.embed_image(&face("s2a")).unwrap();
    assert_eq!(embedder.embed_image(&face("s1a")).unwrap(), first);
}
