//! RetinaFace post-processing, pure and allocation-bounded: anchors, decoding of the raw
//! outputs into faces, and non-maximum suppression. No tract, no images: the detector feeds it
//! tensors, the fuzz target feeds it anything.

use crate::manifest::AnchorSpec;
use crate::EmbedError;
use serde::{Deserialize, Serialize};

/// An axis-aligned box in pixels: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl BoundingBox {
    /// Intersection over union, 0 for disjoint or empty boxes.
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let w = (self.x + self.width).min(other.x + other.width) - self.x.max(other.x);
        let h = (self.y + self.height).min(other.y + other.height) - self.y.max(other.y);
        if w <= 0.0 || h <= 0.0 {
            return 0.0;
        }
        let inter = w * h;
        let union = self.width * self.height + other.width * other.height - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// One detected face, in the pixels of the image it was found in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// The face box.
    #[serde(rename = "box")]
    pub bbox: BoundingBox,
    /// Detector confidence, 0–1.
    pub score: f32,
    /// Five points `[x, y]`: the two eyes (left, right in the image), nose tip, the two mouth
    /// corners (left, right in the image).
    pub landmarks: [[f32; 2]; 5],
}

impl Face {
    /// The same face with every coordinate mapped by `x·sx + dx`, `y·sy + dy`.
    pub fn mapped(&self, sx: f32, sy: f32, dx: f32, dy: f32) -> Face {
        Face {
            bbox: BoundingBox {
                x: self.bbox.x * sx + dx,
                y: self.bbox.y * sy + dy,
                width: self.bbox.width * sx,
                height: self.bbox.height * sy,
            },
            score: self.score,
            landmarks: self.landmarks.map(|[x, y]| [x * sx + dx, y * sy + dy]),
        }
    }
}

/// Anchors `(cx, cy, w, h)` in input pixels for a `height × width` input: for each step, its
/// feature map of `ceil(height / step) × ceil(width / step)` cells in row, column order, and in
/// each cell one anchor per size, centred at `((j + 0.5)·step, (i + 0.5)·step)`.
///
/// 640×640 with steps 8/16/32 and two sizes each: (80² + 40² + 20²)·2 = 16,800 anchors.
pub fn anchors(spec: &AnchorSpec, height: u32, width: u32) -> Vec<[f32; 4]> {
    let mut out = Vec::with_capacity(anchor_count(spec, height, width));
    for (&step, sizes) in spec.steps.iter().zip(&spec.sizes) {
        let (rows, cols) = (height.div_ceil(step), width.div_ceil(step));
        for i in 0..rows {
            for j in 0..cols {
                let (cx, cy) = ((j as f32 + 0.5) * step as f32, (i as f32 + 0.5) * step as f32);
                out.extend(sizes.iter().map(|&s| [cx, cy, s, s]));
            }
        }
    }
    out
}

/// How many anchors [`anchors`] gives, without building them.
pub fn anchor_count(spec: &AnchorSpec, height: u32, width: u32) -> usize {
    spec.steps
        .iter()
        .zip(&spec.sizes)
        .map(|(&step, sizes)| (height.div_ceil(step) as usize) * (width.div_ceil(step) as usize) * sizes.len())
        .sum()
}

/// Raw outputs for `n` anchors: `boxes` `[n, 4]` offsets, `scores` `[n, 2]` softmaxed
/// (column 1 = face), `landmarks` `[n, 10]` offsets, all row-major.
#[derive(Debug, Clone, Copy)]
pub struct RawOutputs<'a> {
    /// Box offsets `(dx, dy, dw, dh)` per anchor.
    pub boxes: &'a [f32],
    /// `(background, face)` probabilities per anchor.
    pub scores: &'a [f32],
    /// Five `(dx, dy)` landmark offsets per anchor.
    pub landmarks: &'a [f32],
}

/// Faces scoring at least `min_score`, decoded against `anchors` (the RetinaFace reference):
/// centre = anchor centre + offset·v₀·anchor size, size = anchor size·exp(offset·v₁),
/// landmark = anchor centre + offset·v₀·anchor size. Not yet suppressed.
///
/// Output lengths that do not match the anchors are an [`EmbedError::InferenceError`];
/// non-finite values never become faces.
pub fn decode(
    spec: &AnchorSpec,
    anchors: &[[f32; 4]],
    raw: RawOutputs<'_>,
    min_score: f32,
) -> Result<Vec<Face>, EmbedError> {
    let n = anchors.len();
    if raw.boxes.len() != n * 4 || raw.scores.len() != n * 2 || raw.landmarks.len() != n * 10 {
        return Err(EmbedError::InferenceError(format!(
            "detector outputs of {}, {} and {} values for {n} anchors; expected {}, {} and {}",
            raw.boxes.len(),
            raw.scores.len(),
            raw.landmarks.len(),
            n * 4,
            n * 2,
            n * 10
        )));
    }
    let [v0, v1] = spec.variances;
    let mut faces = Vec::new();
    for (k, &[acx, acy, aw, ah]) in anchors.iter().enumerate() {
        let score = raw.scores[2 * k + 1];
        // `!(score >= min)` also skips NaN.
        if !(score >= min_score) {
            continue;
        }
        let d = &raw.boxes[4 * k..4 * k + 4];
        let (cx, cy) = (acx + d[0] * v0 * aw, acy + d[1] * v0 * ah);
        let (w, h) = (aw * (d[2] * v1).exp(), ah * (d[3] * v1).exp());
        let l = &raw.landmarks[10 * k..10 * k + 10];
        let landmarks = std::array::from_fn(|p| [acx + l[2 * p] * v0 * aw, acy + l[2 * p + 1] * v0 * ah]);
        let face =
            Face { bbox: BoundingBox { x: cx - w / 2.0, y: cy - h / 2.0, width: w, height: h }, score, landmarks };
        if is_finite(&face) {
            faces.push(face);
        }
    }
    Ok(faces)
}

fn is_finite(face: &Face) -> bool {
    let b = &face.bbox;
    [b.x, b.y, b.width, b.height].iter().chain(face.landmarks.iter().flatten()).all(|v| v.is_finite())
        && b.width > 0.0
        && b.height > 0.0
}

/// Greedy non-maximum suppression: best score first, dropping every face whose box overlaps
/// a kept one by more than `iou`. Returns the kept faces, best first; ties keep input order.
pub fn nms(mut faces: Vec<Face>, iou: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for face in faces {
        if kept.iter().all(|k| k.bbox.iou(&face.bbox) <= iou) {
            kept.push(face);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::DetectorManifest;

    fn spec() -> AnchorSpec {
        DetectorManifest::retinaface().anchors
    }

    #[test]
    fn anchors_are_ordered_step_row_column_size() {
        let a = anchors(&spec(), 640, 640);
        assert_eq!(a.len(), 16_800);
        assert_eq!(a.len(), anchor_count(&spec(), 640, 640));
        // Step 8, row 0, column 0: centre (4, 4), sizes 16 then 32.
        assert_eq!(&a[..2], &[[4.0, 4.0, 16.0, 16.0], [4.0, 4.0, 32.0, 32.0]]);
        // Row 0, column 1 follows: centre (12, 4).
        assert_eq!(a[2], [12.0, 4.0, 16.0, 16.0]);
        // Step 8 has 80·80·2 = 12,800 anchors; then step 16 starts at centre (8, 8), size 64.
        assert_eq!(a[12_800], [8.0, 8.0, 64.0, 64.0]);
        // A side that is not a multiple of the step rounds its map up: ceil(100 / 32) = 4.
        assert_eq!(anchor_count(&spec(), 100, 100), (13 * 13 + 7 * 7 + 4 * 4) * 2);
    }

    #[test]
    fn decodes_offsets_as_the_reference_does() {
        let spec = spec();
        let anchors = [[100.0, 50.0, 20.0, 20.0]];
        // dx = 1 → centre x = 100 + 1·0.1·20 = 102; dw = ln(2)/0.2 → width = 20·2 = 40.
        let boxes = [1.0, 0.0, std::f32::consts::LN_2 / 0.2, 0.0];
        let landmarks = [0.0, 0.0, 5.0, 0.0, 0.0, -5.0, 0.0, 0.0, 0.0, 0.0];
        let raw = RawOutputs { boxes: &boxes, scores: &[0.1, 0.9], landmarks: &landmarks };
        let faces = decode(&spec, &anchors, raw, 0.6).unwrap();
        assert_eq!(faces.len(), 1);
        let f = &faces[0];
        assert!((f.bbox.x - 82.0).abs() < 1e-4 && (f.bbox.width - 40.0).abs() < 1e-4, "{f:?}");
        assert_eq!((f.bbox.y, f.bbox.height), (40.0, 20.0));
        // Landmark 1: x = 100 + 5·0.1·20 = 110; landmark 2: y = 50 − 5·0.1·20 = 40.
        assert_eq!((f.landmarks[1], f.landmarks[2]), ([110.0, 50.0], [100.0, 40.0]));
        assert!(decode(&spec, &anchors, raw, 0.95).unwrap().is_empty());
    }

    #[test]
    fn mismatched_or_non_finite_outputs_give_no_face() {
        let spec = spec();
        let anchors = [[0.0, 0.0, 16.0, 16.0]];
        let short = RawOutputs { boxes: &[0.0; 3], scores: &[0.0, 1.0], landmarks: &[0.0; 10] };
        assert_eq!(decode(&spec, &anchors, short, 0.5).unwrap_err().code(), crate::ErrorCode::InferenceError);
        let nan = RawOutputs { boxes: &[f32::NAN, 0.0, 0.0, 0.0], scores: &[0.0, 1.0], landmarks: &[0.0; 10] };
        assert!(decode(&spec, &anchors, nan, 0.5).unwrap().is_empty());
        let nan_score = RawOutputs { boxes: &[0.0; 4], scores: &[0.0, f32::NAN], landmarks: &[0.0; 10] };
        assert!(decode(&spec, &anchors, nan_score, 0.5).unwrap().is_empty());
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let face = |x: f32, score: f32| Face {
            bbox: BoundingBox { x, y: 0.0, width: 10.0, height: 10.0 },
            score,
            landmarks: [[0.0; 2]; 5],
        };
        // x = 0 and x = 2 overlap by 80/(200 − 80) = 0.67 > 0.4: the better (x = 2) stays.
        // x = 7 overlaps x = 2 by 50/150 = 0.33 ≤ 0.4: it stays too.
        let kept = nms(vec![face(0.0, 0.8), face(2.0, 0.9), face(7.0, 0.7), face(30.0, 0.5)], 0.4);
        let xs: Vec<f32> = kept.iter().map(|f| f.bbox.x).collect();
        assert_eq!(xs, [2.0, 7.0, 30.0]);
        assert_eq!(face(0.0, 1.0).bbox.iou(&face(20.0, 1.0).bbox), 0.0);
    }
}
