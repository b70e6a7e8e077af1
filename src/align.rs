//! A detected face → the crop the embedder sees.
//!
//! Two conventions, measured on DeepFace's multi-photo identities (61 photos of 13 people,
//! 140 same-person and 1,690 different-person pairs; models/README.md has the table):
//!
//! - [`Alignment::FivePoint`] (default): the similarity transform (rotation, uniform scale,
//!   shift) that best maps the five landmarks onto a fixed template, so eyes are level and
//!   the face has the same size and place in every crop. `facenet` accuracy 0.998, AUC 0.9999.
//! - [`Alignment::Box`]: the detector's box plus a margin a side, stretched to the input size
//!   (FaceNet's training crops were MTCNN boxes with a margin). With 10 %: 0.994, AUC 0.9995.

use crate::detection::Face;
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

/// The five landmarks' places in a 160×160 crop: the ArcFace 112×112 template
/// (insightface), centred and scaled by 1.3. 1.2–1.5 measured alike (accuracy 0.997–0.998);
/// 1.0 (a looser crop) and below lose accuracy, 0.9 down to 0.954.
pub const TEMPLATE_160: [[f32; 2]; 5] = template(1.3);

const ARCFACE_112: [[f32; 2]; 5] =
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

const fn template(k: f32) -> [[f32; 2]; 5] {
    let mut t = [[0.0; 2]; 5];
    let mut i = 0;
    while i < 5 {
        t[i] = [(ARCFACE_112[i][0] - 56.0) * k + 80.0, (ARCFACE_112[i][1] - 56.0) * k + 80.0];
        i += 1;
    }
    t
}

/// How a face is cut out of its photo for the embedder.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Alignment {
    /// Five-point similarity alignment onto [`TEMPLATE_160`] (scaled to the crop size).
    #[default]
    FivePoint,
    /// The box grown by `margin` × its size on each side, stretched to the crop size.
    Box {
        /// Fraction of the box's width (height) added left and right (top and bottom).
        margin: f32,
    },
}

/// A 2×3 affine map `(x, y) → (a·x + b·y + c, d·x + e·y + f)` in continuous pixel
/// coordinates (pixel centres at +0.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [f32; 6]);

impl Affine {
    /// Applies the map to a point.
    pub fn apply(&self, [x, y]: [f32; 2]) -> [f32; 2] {
        let [a, b, c, d, e, f] = self.0;
        [a * x + b * y + c, d * x + e * y + f]
    }

    /// The inverse map; `None` when it is singular.
    pub fn inverse(&self) -> Option<Affine> {
        let [a, b, c, d, e, f] = self.0;
        let det = a * e - b * d;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Some(Affine([ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)]))
    }

    /// How much the map scales lengths (the square root of its area factor).
    pub fn scale(&self) -> f32 {
        let [a, b, _, d, e, _] = self.0;
        (a * e - b * d).abs().sqrt()
    }
}

/// The least-squares similarity (rotation, uniform scale, shift; never a reflection) mapping
/// `src` onto `dst`. With points as complex numbers it is `z ↦ α·z + t`,
/// `α = Σ (w − w̄)·conj(z − z̄) / Σ |z − z̄|²`, `t = w̄ − α·z̄`. `None` when `src` has no extent.
pub fn similarity(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Affine> {
    let n = src.len().min(dst.len()) as f64;
    if n == 0.0 {
        return None;
    }
    let mean = |p: &[[f32; 2]]| {
        let (sx, sy) = p.iter().fold((0.0, 0.0), |(x, y), q| (x + q[0] as f64, y + q[1] as f64));
        (sx / n, sy / n)
    };
    let ((zx, zy), (wx, wy)) = (mean(src), mean(dst));
    let (mut re, mut im, mut norm) = (0.0, 0.0, 0.0);
    for (z, w) in src.iter().zip(dst) {
        let (ax, ay) = (z[0] as f64 - zx, z[1] as f64 - zy);
        let (bx, by) = (w[0] as f64 - wx, w[1] as f64 - wy);
        // (b)·conj(a) = (bx·ax + by·ay) + i(by·ax − bx·ay)
        re += bx * ax + by * ay;
        im += by * ax - bx * ay;
        norm += ax * ax + ay * ay;
    }
    if norm < 1e-9 || !norm.is_finite() {
        return None;
    }
    let (p, q) = (re / norm, im / norm);
    let (tx, ty) = (wx - (p * zx - q * zy), wy - (q * zx + p * zy));
    Some(Affine([p as f32, -q as f32, tx as f32, q as f32, p as f32, ty as f32]))
}

/// The map from photo pixels to crop pixels for `face` under `alignment`, for a crop of
/// `width × height`.
pub fn face_transform(face: &Face, alignment: Alignment, width: u32, height: u32) -> Option<Affine> {
    match alignment {
        Alignment::FivePoint => {
            let (kx, ky) = (width as f32 / 160.0, height as f32 / 160.0);
            let template = TEMPLATE_160.map(|[x, y]| [x * kx, y * ky]);
            similarity(&face.landmarks, &template)
        }
        Alignment::Box { margin } => {
            let b = &face.bbox;
            let (x0, y0) = (b.x - margin * b.width, b.y - margin * b.height);
            let (w, h) = (b.width * (1.0 + 2.0 * margin), b.height * (1.0 + 2.0 * margin));
            if !(w > 0.0 && h > 0.0) {
                return None;
            }
            let (sx, sy) = (width as f32 / w, height as f32 / h);
            Some(Affine([sx, 0.0, -x0 * sx, 0.0, sy, -y0 * sy]))
        }
    }
}

/// Cuts `face` out of `photo` as a `width × height` crop. `None` when the landmarks or box
/// are degenerate (all in one point).
pub fn align_face(photo: &RgbImage, face: &Face, alignment: Alignment, width: u32, height: u32) -> Option<RgbImage> {
    face_transform(face, alignment, width, height).and_then(|t| warp(photo, &t, width, height))
}

/// Resamples `image` through `to_crop` (image pixels → crop pixels) into a `width × height`
/// crop, bilinear, edges repeated past the image's border. A map that shrinks (a large face
/// into a small crop) first shrinks the region concerned with a triangle filter, so the crop
/// is antialiased like the resize of a plain crop.
pub fn warp(image: &RgbImage, to_crop: &Affine, width: u32, height: u32) -> Option<RgbImage> {
    let to_image = to_crop.inverse()?;
    let scale = to_crop.scale();
    if scale < 0.8 {
        // The crop's preimage, a rotated rectangle, and its bounding box in the image.
        let corners = [[0.0, 0.0], [width as f32, 0.0], [0.0, height as f32], [width as f32, height as f32]]
            .map(|p| to_image.apply(p));
        let (iw, ih) = (image.width() as f32, image.height() as f32);
        let lo = |i: usize, max: f32| corners.iter().map(|c| c[i]).fold(f32::MAX, f32::min).floor().clamp(0.0, max);
        let hi = |i: usize, max: f32| corners.iter().map(|c| c[i]).fold(f32::MIN, f32::max).ceil().clamp(0.0, max);
        let (x0, y0, x1, y1) = (lo(0, iw - 1.0), lo(1, ih - 1.0), hi(0, iw), hi(1, ih));
        if x1 - x0 >= 2.0 && y1 - y0 >= 2.0 {
            let region = imageops::crop_imm(image, x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32).to_image();
            let (rw, rh) = (((x1 - x0) * scale).ceil().max(1.0) as u32, ((y1 - y0) * scale).ceil().max(1.0) as u32);
            let small = imageops::resize(&region, rw, rh, FilterType::Triangle);
            // small pixel (u, v) ↔ image pixel (x0 + u·(x1 − x0)/rw, y0 + v·(y1 − y0)/rh).
            let (fx, fy) = ((x1 - x0) / rw as f32, (y1 - y0) / rh as f32);
            let [a, b, c, d, e, f] = to_crop.0;
            let composed = Affine([a * fx, b * fy, a * x0 + b * y0 + c, d * fx, e * fy, d * x0 + e * y0 + f]);
            return sample(&small, &composed.inverse()?, width, height);
        }
    }
    sample(image, &to_image, width, height)
}

/// Bilinear sampling of `image` at `to_image(crop pixel centre)` for every crop pixel.
fn sample(image: &RgbImage, to_image: &Affine, width: u32, height: u32) -> Option<RgbImage> {
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    if iw == 0 || ih == 0 {
        return None;
    }
    let pixel = |x: i64, y: i64| image.get_pixel(x.clamp(0, iw - 1) as u32, y.clamp(0, ih - 1) as u32).0;
    let mut out = RgbImage::new(width, height);
    for (u, v, p) in out.enumerate_pixels_mut() {
        let [x, y] = to_image.apply([u as f32 + 0.5, v as f32 + 0.5]);
        let (x, y) = (x - 0.5, y - 0.5);
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let (xf, yf) = (x.floor(), y.floor());
        let (tx, ty) = (x - xf, y - yf);
        let (xi, yi) = (xf as i64, yf as i64);
        let (p00, p10, p01, p11) = (pixel(xi, yi), pixel(xi + 1, yi), pixel(xi, yi + 1), pixel(xi + 1, yi + 1));
        *p = Rgb(std::array::from_fn(|c| {
            let top = p00[c] as f32 * (1.0 - tx) + p10[c] as f32 * tx;
            let bottom = p01[c] as f32 * (1.0 - tx) + p11[c] as f32 * tx;
            (top * (1.0 - ty) + bottom * ty).round().clamp(0.0, 255.0) as u8
        }));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoundingBox;

    fn close(a: [f32; 2], b: [f32; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3
    }

    #[test]
    fn similarity_recovers_a_known_rotation_scale_and_shift() {
        // 90° rotation, scale 2, shift (10, 20): (x, y) → (−2y + 10, 2x + 20).
        let src = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [3.0, 2.0], [-1.0, 4.0]];
        let dst = src.map(|[x, y]| [-2.0 * y + 10.0, 2.0 * x + 20.0]);
        let t = similarity(&src, &dst).unwrap();
        for (s, d) in src.iter().zip(&dst) {
            assert!(close(t.apply(*s), *d), "{:?} → {:?}, want {d:?}", s, t.apply(*s));
        }
        assert!((t.scale() - 2.0).abs() < 1e-5);
        assert!(similarity(&[[1.0, 1.0]; 5], &dst).is_none());
    }

    #[test]
    fn similarity_never_reflects() {
        // A mirrored template: the best similarity can only shrink it towards its centre.
        let dst = TEMPLATE_160;
        let src = dst.map(|[x, y]| [160.0 - x, y]);
        let [a, b, _, d, e, _] = similarity(&src, &dst).unwrap().0;
        assert!(a * e - b * d >= 0.0);
    }

    #[test]
    fn inverse_undoes_the_map() {
        let t = Affine([0.5, -0.2, 3.0, 0.2, 0.5, -7.0]);
        let p = [12.0, 34.0];
        assert!(close(t.inverse().unwrap().apply(t.apply(p)), p));
        assert!(Affine([1.0, 2.0, 0.0, 2.0, 4.0, 0.0]).inverse().is_none());
    }

    #[test]
    fn the_identity_warp_copies_pixels() {
        let image = RgbImage::from_fn(8, 6, |x, y| Rgb([x as u8 * 30, y as u8 * 40, 7]));
        let same = warp(&image, &Affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), 8, 6).unwrap();
        assert_eq!(same, image);
        // Shifted by one pixel left: column x of the crop is column x + 1 of the image, and
        // the last column repeats the edge.
        let shifted = warp(&image, &Affine([1.0, 0.0, -1.0, 0.0, 1.0, 0.0]), 8, 6).unwrap();
        assert_eq!(shifted.get_pixel(0, 2), image.get_pixel(1, 2));
        assert_eq!(shifted.get_pixel(7, 2), image.get_pixel(7, 2));
    }

    #[test]
    fn landmarks_land_on_the_template() {
        // A face whose landmarks are the template at twice the size, rotated 30°, shifted:
        // five-point alignment must bring them back onto the template.
        let (c, s) = (30f32.to_radians().cos(), 30f32.to_radians().sin());
        let landmarks = TEMPLATE_160.map(|[x, y]| [2.0 * (c * x - s * y) + 300.0, 2.0 * (s * x + c * y) + 50.0]);
        let face = Face { bbox: BoundingBox { x: 0.0, y: 0.0, width: 1.0, height: 1.0 }, score: 1.0, landmarks };
        let t = face_transform(&face, Alignment::FivePoint, 160, 160).unwrap();
        for (l, want) in landmarks.iter().zip(TEMPLATE_160) {
            assert!(close(t.apply(*l), want));
        }
        // The box convention maps the grown box onto the crop: with a 10 % margin, the box
        // (100, 100, 50 × 100) → crop corner (0, 0) at (95, 90).
        let face = Face { bbox: BoundingBox { x: 100.0, y: 100.0, width: 50.0, height: 100.0 }, ..face };
        let t = face_transform(&face, Alignment::Box { margin: 0.1 }, 160, 160).unwrap();
        assert!(close(t.apply([95.0, 90.0]), [0.0, 0.0]) && close(t.apply([155.0, 210.0]), [160.0, 160.0]));
    }

    #[test]
    fn a_large_face_is_shrunk_smoothly() {
        // Stripes of one pixel: a plain bilinear sample at scale 1/8 aliases to whole stripes;
        // the prefiltered warp gives their average, gray.
        let image = RgbImage::from_fn(1280, 1280, |x, _| if x % 2 == 0 { Rgb([0; 3]) } else { Rgb([255; 3]) });
        let t = Affine([0.125, 0.0, 0.0, 0.0, 0.125, 0.0]);
        let crop = warp(&image, &t, 160, 160).unwrap();
        let values: Vec<u8> = crop.pixels().map(|p| p.0[0]).collect();
        assert!(values.iter().all(|&v| (100..=155).contains(&v)), "{:?}", &values[..8]);
    }
}
