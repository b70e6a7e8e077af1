//! The wasm bindings in headless Chromium (wasm-bindgen-test): the real model on a real face,
//! errors as JavaScript `Error`s with stable codes, options, batches.
#![cfg(target_arch = "wasm32")]

use facenet_wasm::wasm::{error_codes, FaceNetModel};
use js_sys::{Array, Reflect, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FACENET: &[u8] = include_bytes!("../models/facenet.onnx");
const FACE: &[u8] = include_bytes!("faces/s1a.jpg");
const GOLDEN: &str = include_str!("golden/golden.json");
const CHANNEL_MEAN: &[u8] = include_bytes!("models/channel-mean.onnx");
const CHANNEL_MEAN_MANIFEST: &str = include_str!("models/channel-mean.json");

fn code_of(error: &JsValue) -> String {
    Reflect::get(error, &"code".into()).unwrap().as_string().unwrap_or_default()
}

fn golden(model: &str) -> Vec<f32> {
    let json: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    json["crops"]["s1a.jpg"][model].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn options(json: &str) -> JsValue {
    JSON::parse(json).unwrap()
}

#[wasm_bindgen_test]
fn a_real_face_matches_onnxruntime_f32_for_both_names() {
    for (name, dimension) in [("facenet", 128), ("facenet512", 512)] {
        let mut model = FaceNetModel::new(FACENET, options(&format!("{{\"model\":\"{name}\"}}"))).unwrap();
        assert_eq!((model.model_name().as_str(), model.dimension()), (name, dimension));
        assert_eq!(model.model_version(), "eb3cf339de35");
        let v = model.embed_image(FACE).unwrap();
        let c = facenet_wasm::cosine(&v, &golden(name));
        assert!(c >= 0.999, "{name}: cosine {c}");
    }
}

#[wasm_bindgen_test]
fn errors_are_js_errors_named_by_their_code() {
    let mut model = FaceNetModel::new(FACENET, JsValue::UNDEFINED).unwrap();
    let cases: [(&[u8], &str); 3] =
        [(b"", "DecodeError"), (b"<!DOCTYPE html>", "UnsupportedFormat"), (&FACE[..FACE.len() / 2], "DecodeError")];
    for (bytes, code) in cases {
        let error = model.embed_image(bytes).unwrap_err();
        let error: js_sys::Error = error.dyn_into().expect("an Error object");
        assert_eq!(String::from(error.name()), code);
        assert_eq!(code_of(&error), code);
    }
    assert_eq!(code_of(&model.embed_rgba(&[0; 16], 2, 2).unwrap_err()), "ImageTooSmall");
    assert_eq!(code_of(&model.embed_rgba(&[0; 11], 2, 2).unwrap_err()), "InvalidInput");
    let error = FaceNetModel::new(b"<!DOCTYPE html>", JsValue::UNDEFINED).err().unwrap();
    assert_eq!(code_of(&error), "ModelLoadError");
    let error = FaceNetModel::new(FACENET, options("{\"model\":\"arcface\"}")).err().unwrap();
    assert_eq!(code_of(&error), "UnknownModel");
    assert!(error_codes().contains(&"WorkerCrashed".to_string()));
}

#[wasm_bindgen_test]
fn a_custom_model_comes_with_its_manifest_and_rgba_pixels() {
    let opts = options(&format!("{{\"manifest\":{CHANNEL_MEAN_MANIFEST},\"minSide\":1}}"));
    let mut model = FaceNetModel::new(CHANNEL_MEAN, opts).unwrap();
    assert_eq!((model.model_name().as_str(), model.dimension()), ("channel-mean", 3));
    // One RGBA pixel (255, 0, 51, 255); BGR order, / 255: [0.2, 0, 1].
    let v = model.embed_rgba(&[255, 0, 51, 255], 1, 1).unwrap();
    assert!(v.iter().zip([0.2, 0.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?}");
}

#[wasm_bindgen_test]
fn a_batch_fails_bad_items_alone() {
    let mut model = FaceNetModel::new(FACENET, JsValue::UNDEFINED).unwrap();
    let items = Array::new();
    items.push(&Uint8Array::from(FACE));
    items.push(&Uint8Array::from(&b"text"[..]));
    items.push(&JsValue::from_str("not bytes"));
    let results = model.embed_batch(items);
    assert_eq!(results.length(), 3);
    assert!(results.get(0).is_instance_of::<js_sys::Float32Array>());
    assert_eq!(code_of(&results.get(1)), "UnsupportedFormat");
    assert_eq!(code_of(&results.get(2)), "InvalidInput");
}
