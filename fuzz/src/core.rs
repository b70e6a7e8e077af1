//! Harnesses of the core: decoding, manifests, detection post-processing and alignment.
//! Included by path from tests/fuzz_regressions.rs, so it names the crate `facenet_wasm` only.

use facenet_wasm::{
    anchors, decode_detections, decode_image, face_transform, nms, Alignment, DetectorManifest, Limits, Manifest,
    RawOutputs,
};

/// Any bytes through the bounded decoder: an image or a typed error, never a panic, never more
/// than the limits allow (small limits here, so that each run is quick).
pub fn decode(data: &[u8]) {
    let limits = Limits { max_width: 2048, max_height: 2048, max_alloc: 64 << 20, min_side: 16 };
    if let Ok(image) = decode_image(data, &limits) {
        assert!(image.width() >= limits.min_side && image.height() >= limits.min_side);
        assert!(image.width() <= limits.max_width && image.height() <= limits.max_height);
    }
}

/// Any text as an embedder and a detector manifest: parsed and checked, or a typed error.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(m) = Manifest::from_json(text) {
        let _ = m.model_names();
    }
    if let Ok(m) = DetectorManifest::from_json(text) {
        // A manifest that parses must give anchors for a small input without blowing up.
        let count = facenet_wasm::anchor_count(&m.anchors, 64, 64);
        if count < 1 << 20 {
            assert_eq!(anchors(&m.anchors, 64, 64).len(), count);
        }
    }
}

/// Arbitrary raw detector outputs (NaN, infinities and huge values included) for a small
/// input: decoded, suppressed and aligned, every face finite and every transform finite.
pub fn detections(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let spec = DetectorManifest::retinaface().anchors;
    // A 32–95 × 32–95 input: 42–504 anchors.
    let (h, w) = (32 + u32::from(data[0] % 64), 32 + u32::from(data[1] % 64));
    let min_score = f32::from(data[2]) / 255.0;
    let iou = f32::from(data[3]) / 255.0;
    let anchors = anchors(&spec, h, w);
    let n = anchors.len();
    let values: Vec<f32> = data[4..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let take = |offset: usize, len: usize| -> Vec<f32> {
        (0..len).map(|i| values.get((offset + i) % values.len().max(1)).copied().unwrap_or(0.0)).collect()
    };
    let (boxes, scores, landmarks) = (take(0, n * 4), take(n * 4, n * 2), take(n * 6, n * 10));
    let raw = RawOutputs { boxes: &boxes, scores: &scores, landmarks: &landmarks };
    let faces = decode_detections(&spec, &anchors, raw, min_score).expect("lengths match the anchors");
    for face in nms(faces, iou) {
        let b = face.bbox;
        assert!([b.x, b.y, b.width, b.height].iter().all(|v| v.is_finite()) && b.width > 0.0 && b.height > 0.0);
        if let Some(t) = face_transform(&face, Alignment::FivePoint, 160, 160) {
            let _ = t;
        }
    }
}
