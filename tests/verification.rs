//! Same person closer than different people, on real faces, for both model names.
//!
//! Same-person pairs: a crop against its shifted box (tests/faces/*-shifted.jpg), its mirror
//! image, and a JPEG re-encoding at quality 50. Different-person pairs: every two of the
//! fourteen people.

mod common;
use common::*;
use facenet_wasm::{cosine, decode_image, Limits};
use image::codecs::jpeg::JpegEncoder;

fn jpeg_quality_50(image: &image::RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 50).encode_image(image).unwrap();
    bytes
}

fn separates_people(name: &str) {
    let mut embedder = embedder(name);
    let people = people();
    let mut vectors = Vec::new();
    let mut same = Vec::new();
    for id in &people {
        let original = embedder.embed_image(&face(id)).unwrap().vector;
        let pixels = decode_image(&face(id), &Limits::default()).unwrap();
        let variants = [
            embedder.embed_image(&face(&format!("{id}-shifted"))).unwrap().vector,
            embedder.embed_rgb(&image::imageops::flip_horizontal(&pixels)).unwrap().vector,
            embedder.embed_image(&jpeg_quality_50(&pixels)).unwrap().vector,
        ];
        same.extend(variants.iter().map(|v| 1.0 - cosine(&original, v)));
        vectors.push(original);
    }
    let mut different = Vec::new();
    for i in 0..vectors.len() {
        for j in i + 1..vectors.len() {
            different.push(1.0 - cosine(&vectors[i], &vectors[j]));
        }
    }
    let max_same = same.iter().cloned().fold(0.0, f32::max);
    let min_different = different.iter().cloned().fold(2.0, f32::min);
    eprintln!(
        "{name}: {} same-person pairs, cosine distance ≤ {max_same:.3}; {} different-person pairs, ≥ {min_different:.3}",
        same.len(),
        different.len()
    );
    assert_eq!((same.len(), different.len()), (42, 91));
    assert!(
        max_same < min_different,
        "{name}: a same-person pair ({max_same}) is farther than a different-person pair ({min_different})"
    );
}

#[test]
fn facenet_separates_people() {
    separates_people("facenet");
}

#[test]
fn facenet512_separates_people() {
    separates_people("facenet512");
}
