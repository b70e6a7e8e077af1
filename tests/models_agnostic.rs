//! Another ONNX model plus its manifest runs without code changes (tests/models/).

mod common;
use common::*;
use facenet_wasm::{Embedder, Manifest};
use image::RgbImage;

#[test]
fn an_nchw_bgr_model_gets_its_layout_channels_and_scaling_from_the_manifest() {
    let manifest = Manifest::from_json(&String::from_utf8(read("tests/models/channel-mean.json")).unwrap()).unwrap();
    let mut embedder = Embedder::builder(&read("tests/models/channel-mean.onnx"), manifest).build().unwrap();
    assert_eq!((embedder.model_name(), embedder.dimension()), ("channel-mean", 3));
    // A flat colour survives any resize; BGR order, (x - 0) / 255, no normalization:
    // R 255 → 1.0, G 0 → 0.0, B 51 → 0.2, emitted as [B, G, R].
    let orange = RgbImage::from_pixel(90, 40, image::Rgb([255, 0, 51]));
    let v = embedder.embed_rgb(&orange).unwrap().vector;
    let expected = [0.2, 0.0, 1.0];
    assert!(v.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?}");
    // Its version is the hash of its own bytes, as the manifest carries none.
    assert_eq!(embedder.model_version().len(), 12);
}

#[test]
fn a_bare_onnx_file_runs_with_facenet_conventions() {
    let onnx = read("tests/models/facenet-like.onnx");
    let mut embedder =
        Embedder::builder(&onnx, Manifest::facenet_like("facenet-like.onnx", "facenet-like")).build().unwrap();
    assert_eq!(embedder.dimension(), 3);
    // Mean of (x - 127.5) / 128 over a flat (255, 127.5±0.5, 0) image, normalized: the green
    // channel is (127 - 127.5) / 128 ≈ -0.0039, red +0.996, blue -0.996.
    let v = embedder.embed_rgb(&RgbImage::from_pixel(160, 160, image::Rgb([255, 127, 0]))).unwrap().vector;
    let n = (0.99609375f32.powi(2) * 2.0 + 0.00390625f32.powi(2)).sqrt();
    let expected = [0.99609375 / n, -0.00390625 / n, -0.99609375 / n];
    assert!(v.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?}");
}
