//! Shared by the integration tests: paths, the shipped model, golden vectors.
#![allow(dead_code, unreachable_pub, missing_docs)]

use facenet_wasm::{Detector, DetectorManifest, Embedder, Manifest};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The shipped model (models/facenet.onnx) under one of its names.
pub fn embedder(name: &str) -> Embedder {
    Embedder::builder(&read("models/facenet.onnx"), Manifest::facenet()).model(name).build().unwrap()
}

/// The shipped detector (models/retinaface.onnx), default options.
pub fn detector() -> Detector {
    Detector::builder(read("models/retinaface.onnx"), DetectorManifest::retinaface()).build().unwrap()
}

/// An aligned crop's sharpness as a backend reads it at upload
/// (`facenet_attendance::quality::rgb_sharpness`): of the crop as the page sends it, a JPEG at
/// the page's quality 92, decoded.
pub fn crop_sharpness(crop: &image::RgbImage) -> f32 {
    let jpeg = facenet_wasm::encode_jpeg(crop, 92).unwrap();
    let rgb = facenet_wasm::decode_image(&jpeg, &facenet_wasm::Limits::default()).unwrap();
    let (width, height) = rgb.dimensions();
    facenet_attendance::quality::rgb_sharpness(rgb.as_raw(), width as usize, height as usize).unwrap()
}

/// The fourteen people of tests/faces/, by id (s1a, s2a, …), without the shifted copies.
pub fn people() -> Vec<String> {
    golden().keys().filter(|k| !k.ends_with("-shifted")).cloned().collect()
}

/// tests/golden/golden.json: crop id → model name → vector (onnxruntime, f32 model).
pub fn golden() -> BTreeMap<String, BTreeMap<String, Vec<f32>>> {
    let json: serde_json::Value = serde_json::from_slice(&read("tests/golden/golden.json")).unwrap();
    let crops: BTreeMap<String, BTreeMap<String, Vec<f32>>> = serde_json::from_value(json["crops"].clone()).unwrap();
    crops.into_iter().map(|(file, v)| (file.trim_end_matches(".jpg").to_string(), v)).collect()
}

pub fn face(id: &str) -> Vec<u8> {
    read(&format!("tests/faces/{id}.jpg"))
}

pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// DeepFace's unit-test photos (MIT; 61 photos of 13 people), read from `$FACENET_DEEPFACE_DIR`
/// or `../shared/datasets/deepface/` beside the checkout, with tests/golden/deepface-identities.json
/// (its identities and the photos' sha256). `None`, and `test` says it did not run, where neither
/// folder holds them.
pub fn deepface(test: &str) -> Option<(PathBuf, serde_json::Value, Vec<Vec<String>>)> {
    let candidates =
        [std::env::var_os("FACENET_DEEPFACE_DIR").map(PathBuf::from), Some(repo("../shared/datasets/deepface"))];
    let Some(dir) = candidates.into_iter().flatten().find(|p| p.join("img1.jpg").is_file()) else {
        eprintln!(
            "{test}: NOT RUN — the DeepFace photos are not here (set FACENET_DEEPFACE_DIR to its tests/unit/dataset/, \
             or lay it at ../shared/datasets/deepface/)"
        );
        return None;
    };
    let fixture: serde_json::Value = serde_json::from_slice(&read("tests/golden/deepface-identities.json")).unwrap();
    let identities = serde_json::from_value(fixture["identities"].clone()).unwrap();
    Some((dir, fixture, identities))
}
