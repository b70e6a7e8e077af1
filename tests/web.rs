//! The wasm bindings in headless Chromium (wasm-bindgen-test): the real model on a real face,
//! errors as JavaScript `Error`s with stable codes, options, batches.
#![cfg(target_arch = "wasm32")]

use facenet_wasm::wasm::{error_codes, FaceDetectorModel, FaceNetModel};
use js_sys::{Array, Reflect, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FACENET: &[u8] = include_bytes!("../models/facenet.onnx");
const FACENET_MANIFEST: &str = include_str!("../models/facenet.json");
const FACE: &[u8] = include_bytes!("faces/s1a.jpg");
const GOLDEN: &str = include_str!("golden/golden.json");
const CHANNEL_MEAN: &[u8] = include_bytes!("models/channel-mean.onnx");
const CHANNEL_MEAN_MANIFEST: &str = include_str!("models/channel-mean.json");
const CONV_BLOCK: &[u8] = include_bytes!("models/conv-block.onnx");
const CONV_BLOCK_EXPECTED: &str = include_str!("models/conv-block-expected.json");
const RETINAFACE: &[u8] = include_bytes!("../models/retinaface.onnx");
const PHOTO: &[u8] = include_bytes!("photos/sample1.jpg");
const DETECTIONS: &str = include_str!("golden/detections.json");

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
        let mut model = FaceNetModel::new(FACENET.to_vec(), options(&format!("{{\"model\":\"{name}\"}}"))).unwrap();
        assert_eq!((model.model_name().as_str(), model.dimension()), (name, dimension));
        let sha256: serde_json::Value = serde_json::from_str(FACENET_MANIFEST).unwrap();
        assert_eq!(model.model_version(), sha256["sha256"].as_str().unwrap()[..facenet_wasm::MODEL_VERSION_LEN]);
        let v = model.embed_image(FACE).unwrap();
        let c = facenet_wasm::cosine(&v, &golden(name));
        assert!(c >= 0.999, "{name}: cosine {c}");
    }
}

#[wasm_bindgen_test]
fn errors_are_js_errors_named_by_their_code() {
    let mut model = FaceNetModel::new(FACENET.to_vec(), JsValue::UNDEFINED).unwrap();
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
    let error = FaceNetModel::new(b"<!DOCTYPE html>".to_vec(), JsValue::UNDEFINED).err().unwrap();
    assert_eq!(code_of(&error), "ModelLoadError");
    let error = FaceNetModel::new(FACENET.to_vec(), options("{\"model\":\"arcface\"}")).err().unwrap();
    assert_eq!(code_of(&error), "UnknownModel");
    assert!(error_codes().contains(&"WorkerCrashed".to_string()));
}

#[wasm_bindgen_test]
fn a_custom_model_comes_with_its_manifest_and_rgba_pixels() {
    let opts = options(&format!("{{\"manifest\":{CHANNEL_MEAN_MANIFEST},\"minSide\":1}}"));
    let mut model = FaceNetModel::new(CHANNEL_MEAN.to_vec(), opts).unwrap();
    assert_eq!((model.model_name().as_str(), model.dimension()), ("channel-mean", 3));
    // One RGBA pixel (255, 0, 51, 255); BGR order, / 255: [0.2, 0, 1].
    let v = model.embed_rgba(&[255, 0, 51, 255], 1, 1).unwrap();
    assert!(v.iter().zip([0.2, 0.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?}");
}

#[wasm_bindgen_test]
fn a_batch_fails_bad_items_alone() {
    let mut model = FaceNetModel::new(FACENET.to_vec(), JsValue::UNDEFINED).unwrap();
    let items = Array::new();
    items.push(&Uint8Array::from(FACE));
    items.push(&Uint8Array::from(&b"text"[..]));
    items.push(&JsValue::from_str("not bytes"));
    // Pixels as `{rgba, width, height}`: a grey 160 × 160 crop, and one of the wrong length.
    let pixels = |len: usize, side: u32| {
        let item = js_sys::Object::new();
        Reflect::set(&item, &"rgba".into(), &Uint8Array::from(vec![128u8; len].as_slice())).unwrap();
        Reflect::set(&item, &"width".into(), &side.into()).unwrap();
        Reflect::set(&item, &"height".into(), &side.into()).unwrap();
        item
    };
    items.push(&pixels(160 * 160 * 4, 160));
    items.push(&pixels(10, 160));
    let results = model.embed_batch(items);
    assert_eq!(results.length(), 5);
    let first: js_sys::Float32Array = results.get(0).dyn_into().unwrap();
    let alone = model.embed_image(FACE).unwrap();
    assert_eq!(first.to_vec(), alone, "a batch gives the vector a single call gives");
    assert_eq!(code_of(&results.get(1)), "UnsupportedFormat");
    assert_eq!(code_of(&results.get(2)), "InvalidInput");
    assert!(results.get(3).is_instance_of::<js_sys::Float32Array>());
    assert_eq!(code_of(&results.get(4)), "InvalidInput");
}

/// tract runs our 4×8 kernel for FaceNet's convolutions (f32, many columns) and keeps its own
/// kernels for matrix-vector products.
#[wasm_bindgen_test]
fn tract_dispatches_gemm_to_our_kernel() {
    use facenet_wasm::wasm_kernel::KERNEL_NAME;
    use tract_onnx::prelude::DatumType;
    use tract_onnx::tract_core::tract_linalg::mmm::{MmmDispatch, Query};
    let dispatch = MmmDispatch::native();
    let pick = |m, k, n| dispatch.pick(&Query::plain(DatumType::F32, Some(m), Some(k), Some(n))).unwrap().0;
    for (m, k, n) in [(32, 27, 6241), (192, 576, 289), (13, 45, 143), (128, 1792, 9)] {
        assert_eq!(pick(m, k, n).name(), KERNEL_NAME, "m={m} k={k} n={n}");
    }
    assert_ne!(pick(512, 1792, 1).name(), KERNEL_NAME);
}

/// A residual block with ragged tiles (13 channels, 11×13 map) through tract and our kernel
/// gives onnxruntime's numbers: bias, ReLU, scale and residual add fused into the tile.
#[wasm_bindgen_test]
fn a_conv_block_with_ragged_tiles_matches_onnxruntime() {
    use tract_onnx::prelude::*;
    let expected: serde_json::Value = serde_json::from_str(CONV_BLOCK_EXPECTED).unwrap();
    let floats = |key: &str| -> Vec<f32> {
        expected[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
    };
    let shape = |key: &str| -> Vec<usize> {
        expected[key].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()
    };
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &CONV_BLOCK[..])
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let input = Tensor::from_shape(&shape("input_shape"), &floats("input")).unwrap();
    let output = plan.run(tvec!(input.into_tvalue())).unwrap().remove(0);
    assert_eq!(output.shape(), shape("output_shape").as_slice());
    let plain = output.try_as_plain_ram().unwrap();
    let got = plain.as_slice::<f32>().unwrap();
    let worst = got.iter().zip(floats("output")).map(|(g, e)| (g - e).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-4, "largest difference from onnxruntime: {worst}");
}

/// The detector in the browser: sample1's three faces where onnxruntime found them, each with
/// a 160×160 aligned crop as RGBA pixels and a JPEG; errors as coded `Error`s.
#[wasm_bindgen_test]
fn the_detector_finds_the_faces_of_a_photo_with_their_crops() {
    let get = |v: &JsValue, key: &str| Reflect::get(v, &key.into()).unwrap();
    let num = |v: &JsValue, key: &str| get(v, key).as_f64().unwrap() as f32;
    let mut detector = FaceDetectorModel::new(RETINAFACE.to_vec(), JsValue::UNDEFINED).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(include_str!("../models/retinaface.json")).unwrap();
    assert_eq!(detector.model_version(), manifest["sha256"].as_str().unwrap()[..12]);
    let found = detector.detect_image(PHOTO).unwrap();
    assert_eq!((num(&found, "width"), num(&found, "height")), (1920.0, 1280.0));
    let faces: Array = get(&found, "faces").dyn_into().unwrap();
    let golden: serde_json::Value = serde_json::from_str(DETECTIONS).unwrap();
    let expected = golden["sample1.jpg"]["faces"].as_array().unwrap();
    assert_eq!(faces.length() as usize, expected.len());
    for (face, want) in faces.iter().zip(expected) {
        let b = get(&face, "box");
        let got = facenet_wasm::BoundingBox {
            x: num(&b, "x"),
            y: num(&b, "y"),
            width: num(&b, "width"),
            height: num(&b, "height"),
        };
        let w: Vec<f32> = want["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let iou = got.iou(&facenet_wasm::BoundingBox { x: w[0], y: w[1], width: w[2], height: w[3] });
        assert!(iou >= 0.5, "IoU {iou}");
        let crop = get(&face, "crop");
        assert_eq!((num(&crop, "width"), num(&crop, "height")), (160.0, 160.0));
        assert_eq!(get(&crop, "rgba").dyn_into::<Uint8Array>().unwrap().length(), 160 * 160 * 4);
        let jpeg = get(&crop, "jpeg").dyn_into::<Uint8Array>().unwrap().to_vec();
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        assert_eq!(Array::from(&get(&face, "landmarks")).length(), 5);
    }
    assert_eq!(code_of(&detector.detect_image(&PHOTO[..PHOTO.len() / 2]).unwrap_err()), "DecodeError");
    assert_eq!(code_of(&detector.detect_rgba(&[0; 10], 2, 2).unwrap_err()), "InvalidInput");
    let empty = detector.detect_rgba(&vec![128; 64 * 64 * 4], 64, 64).unwrap();
    assert_eq!(Array::from(&get(&empty, "faces")).length(), 0);
    assert_eq!(code_of(&FaceDetectorModel::new(FACE.to_vec(), JsValue::UNDEFINED).err().unwrap()), "ModelLoadError");
    let bad = FaceDetectorModel::new(RETINAFACE.to_vec(), options("{\"maxSide\": 4}")).err().unwrap();
    assert_eq!(code_of(&bad), "InvalidInput");
}
