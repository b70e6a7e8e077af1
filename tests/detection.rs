//! Photos → faces on real group photos (tests/photos/, from @vladmandic/face-api's demo):
//! the 22 faces checked by eye (tests/golden/detections.json, found by onnxruntime with the
//! reference post-processing in tools/detect_reference.py and drawn on the photos), a photo
//! with no face, a 6000×4000 photo, corrupt bytes, and aligned crops that embed as the same
//! person as the hand-cut test crops.

mod common;
use common::*;
use facenet_wasm::{
    align_face, cosine, decode_image, encode_jpeg, Alignment, BoundingBox, Detector, DetectorManifest, DetectorOptions,
    ErrorCode, Face, Limits,
};
use serde_json::Value;

fn photo(name: &str) -> Vec<u8> {
    read(&format!("tests/photos/{name}"))
}

/// The checked faces of one photo: box and landmarks.
fn expected(name: &str) -> Vec<(BoundingBox, [[f32; 2]; 5])> {
    let json: Value = serde_json::from_slice(&read("tests/golden/detections.json")).unwrap();
    json[name]["faces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let b: Vec<f32> = f["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let l: Vec<[f32; 2]> = serde_json::from_value(f["landmarks"].clone()).unwrap();
            (BoundingBox { x: b[0], y: b[1], width: b[2], height: b[3] }, [l[0], l[1], l[2], l[3], l[4]])
        })
        .collect()
}

/// Each expected face matched to the found face of best IoU: (IoU, largest landmark error in
/// units of the box's width).
fn match_faces(found: &[Face], expected: &[(BoundingBox, [[f32; 2]; 5])], scale: f32) -> Vec<(f32, f32)> {
    expected
        .iter()
        .map(|(b, landmarks)| {
            let b = BoundingBox { x: b.x * scale, y: b.y * scale, width: b.width * scale, height: b.height * scale };
            let best = found.iter().max_by(|p, q| p.bbox.iou(&b).total_cmp(&q.bbox.iou(&b))).expect("a face");
            let error = best
                .landmarks
                .iter()
                .zip(landmarks)
                .map(|(p, q)| ((p[0] - q[0] * scale).hypot(p[1] - q[1] * scale)) / b.width)
                .fold(0.0, f32::max);
            (best.bbox.iou(&b), error)
        })
        .collect()
}

#[test]
fn finds_every_face_of_the_sample_photos_and_nothing_else() {
    let mut detector = detector();
    let mut total = 0;
    for i in 1..=6 {
        let name = format!("sample{i}.jpg");
        let faces = detector.detect_image(&photo(&name)).unwrap();
        let expected = expected(&name);
        assert_eq!(faces.len(), expected.len(), "{name}: {faces:#?}");
        for (iou, landmark_error) in match_faces(&faces, &expected, 1.0) {
            assert!(iou >= 0.5, "{name}: IoU {iou}");
            assert!(landmark_error < 0.1, "{name}: a landmark {landmark_error} box widths off");
        }
        assert!(faces.windows(2).all(|w| w[0].score >= w[1].score), "best first");
        total += faces.len();
    }
    assert_eq!(total, 22);
}

#[test]
fn a_photo_without_faces_gives_none() {
    let mut detector = detector();
    // The lower part of sample2: legs, a sofa, a phone; no face.
    let image = decode_image(&photo("sample2.jpg"), &Limits::default()).unwrap();
    let lower = image::imageops::crop_imm(&image, 0, 800, 1920, 567).to_image();
    assert_eq!(detector.detect_rgb(&lower).unwrap(), []);
    let gray = image::RgbImage::from_pixel(800, 600, image::Rgb([128, 128, 128]));
    assert_eq!(detector.detect_rgb(&gray).unwrap(), []);
}

#[test]
fn a_6000_by_4000_photo_is_searched_within_the_limits() {
    let mut detector = detector();
    let small = decode_image(&photo("sample1.jpg"), &Limits::default()).unwrap();
    let large = image::imageops::resize(&small, 6000, 4000, image::imageops::FilterType::Triangle);
    let jpeg = encode_jpeg(&large, 85).unwrap();
    let faces = detector.detect_image(&jpeg).unwrap();
    assert_eq!(faces.len(), 3, "{faces:#?}");
    for (iou, _) in match_faces(&faces, &expected("sample1.jpg"), 6000.0 / 1920.0) {
        assert!(iou >= 0.5, "IoU {iou}");
    }
    // One pixel wider than the limit is refused before decoding.
    let wide = image::RgbImage::new(6001, 16);
    let err = detector.detect_image(&encode_jpeg(&wide, 50).unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge);
}

#[test]
fn small_faces_of_a_large_photo_are_found_by_the_tiles() {
    // sample5 shrunk so its faces are ~35 px, placed in a 4000×3000 canvas: at max_side 3200
    // they are ~28 px for the network, found by the tiles (a single 1280 pass would see 11 px).
    let mut detector = detector();
    let image = decode_image(&photo("sample5.jpg"), &Limits::default()).unwrap();
    let shrunk = image::imageops::resize(&image, 384, 280, image::imageops::FilterType::Triangle);
    let mut canvas = image::RgbImage::from_pixel(4000, 3000, image::Rgb([90, 90, 90]));
    // Across the border of the first two tiles (at 3200 scale: 960–1280 px, here 1200–1600).
    image::imageops::replace(&mut canvas, &shrunk, 1250, 1400);
    let faces = detector.detect_rgb(&canvas).unwrap();
    assert_eq!(faces.len(), 5, "{faces:#?}");
    let coarse = detector.options().max_side(1280);
    detector.set_options(coarse).unwrap();
    assert!(detector.detect_rgb(&canvas).unwrap().len() < 5, "at 1280 these faces are too small");
}

#[test]
fn corrupt_or_foreign_bytes_are_typed_errors() {
    let mut detector = detector();
    let jpeg = photo("sample3.jpg");
    assert_eq!(detector.detect_image(&jpeg[..jpeg.len() / 2]).unwrap_err().code(), ErrorCode::DecodeError);
    assert_eq!(detector.detect_image(b"<!DOCTYPE html>").unwrap_err().code(), ErrorCode::UnsupportedFormat);
    assert_eq!(detector.detect_rgba(&[0; 12], 2, 2).unwrap_err().code(), ErrorCode::InvalidInput);
    // And it still works afterwards.
    assert_eq!(detector.detect_image(&jpeg).unwrap().len(), 3);
}

#[test]
fn bad_options_and_models_are_refused() {
    let options = DetectorOptions::default().max_side(8);
    let err = Detector::builder(read("models/retinaface.onnx"), DetectorManifest::retinaface())
        .options(options)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    let err = Detector::builder(read("models/facenet.onnx"), DetectorManifest::retinaface()).build().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ModelLoadError);
    assert!(err.to_string().contains("sha256"), "{err}");
}

#[test]
fn aligned_crops_embed_as_the_same_people_as_the_hand_cut_crops() {
    // Each hand-cut crop of tests/faces/ (s1a = sample1, …) must be closest to an aligned face
    // of its own photo, and far from the faces of the other photos.
    let mut detector = detector();
    let mut embedder = embedder("facenet");
    let mut aligned = Vec::new();
    for i in 1..=6 {
        let image = decode_image(&photo(&format!("sample{i}.jpg")), &Limits::default()).unwrap();
        for face in detector.detect_rgb(&image).unwrap() {
            let crop = align_face(&image, &face, Alignment::FivePoint, 160, 160).unwrap();
            aligned.push((i, embedder.embed_rgb(&crop).unwrap().vector));
        }
    }
    for id in people() {
        let photo_index: usize = id[1..2].parse().unwrap();
        let crop = embedder.embed_image(&face(&id)).unwrap().vector;
        let (best_photo, best) =
            aligned.iter().map(|(p, v)| (*p, 1.0 - cosine(&crop, v))).min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        assert_eq!(best_photo, photo_index, "{id}: nearest aligned face is in sample{best_photo} ({best:.3})");
        assert!(best < 0.4, "{id}: distance {best} to its own aligned face");
    }
}

#[test]
fn photos_of_one_size_share_one_plan() {
    let mut detector = detector();
    assert_eq!(detector.planned_shapes(), [(1280, 1280)], "the tiles' plan is built with the detector");
    let image = decode_image(&photo("sample4.jpg"), &Limits::default()).unwrap();
    // 1280×965 runs as 1280×992 (multiples of 32).
    let small = image::imageops::resize(&image, 1280, 965, image::imageops::FilterType::Triangle);
    for _ in 0..3 {
        assert_eq!(detector.detect_rgb(&small).unwrap().len(), 4);
    }
    assert_eq!(detector.planned_shapes(), [(1280, 992), (1280, 1280)]);
    // More shapes than MAX_PLANS: the oldest goes, the tiles' plan stays.
    for width in [500, 600, 700, 800, 900, 1000] {
        let resized = image::imageops::resize(&image, width, width * 3 / 4, image::imageops::FilterType::Triangle);
        detector.detect_rgb(&resized).unwrap();
    }
    let shapes = detector.planned_shapes();
    assert_eq!(shapes.len(), facenet_wasm::MAX_PLANS);
    assert!(shapes.contains(&(1280, 1280)) && !shapes.contains(&(1280, 992)), "{shapes:?}");
}
