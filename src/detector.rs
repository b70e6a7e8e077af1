//! Photos → faces: RetinaFace on a few cached plan shapes, large photos in fixed tiles.
//!
//! tract optimizes a plan for one input shape (in wasm that costs a fraction of a second to
//! over a second), so the detector never plans per photo:
//!
//! ```text
//! photo (w0 × h0) ── scale s = min(1, max_side / long side) ──▶ detail image (w × h)
//!   long side ≤ 1280   one pass, input padded up to multiples of 32 (a 1280×853 photo runs
//!                      as 1280×864): the photos of one camera share that plan
//!   longer             1280² tiles overlapping by ≥ 256 px (one plan, built with the detector),
//!                      plus one coarse pass of the whole image shrunk to 1280 (padded into
//!                      the same plan) for faces too large for the tiles
//! faces (input pixels) → detail pixels → NMS → photo pixels (÷ s)
//! ```
//!
//! Plans are kept for the [`MAX_PLANS`] shapes used last; a photo of a new shape builds one
//! (measured in the closing figures of models/README.md), photos of a known shape never do.
//!
//! A face near an inner tile edge is dropped there: it may be cut, and the overlap holds it
//! whole, away from the edges, in the neighbouring tile. Tiles keep faces up to 160 px; larger
//! ones are the coarse pass's (which finds faces from ~20 px of its own scale, i.e. 50 px of a
//! 3200-px detail image). Memory stays that of one 1280² tile whatever the photo size.

use crate::decode::{decode_image, rgba_to_rgb};
use crate::detection::{anchors, decode, nms, Face, RawOutputs};
use crate::embedder::{inference_error, model_version, read_onnx};
use crate::manifest::DetectorManifest;
use crate::{EmbedError, Limits};
use image::imageops::{self, FilterType};
use image::RgbImage;
use std::borrow::Cow;
use tract_onnx::prelude::*;

/// Side of the tiles of large photos, in detail-image pixels; also the long side up to which a
/// photo runs in one pass.
pub const TILE: u32 = 1280;
/// Input sides are padded up to a multiple of this (the network's largest stride).
const ALIGN: u32 = 32;
/// Plans kept, by input shape, the last used first.
pub const MAX_PLANS: usize = 6;
/// Least overlap of neighbouring large tiles: any face up to this size lies whole in a tile.
pub const TILE_OVERLAP: u32 = 256;
/// A face whose box comes closer to an inner tile edge than 2 px plus a quarter of its side
/// is taken as cut: the network boxes the visible part of a cut face a little inside the cut.
const EDGE: f32 = 2.0;
const EDGE_FRACTION: f32 = 0.25;
/// Tiles keep faces up to this side (detail px); larger ones are the coarse pass's. With the
/// edge rule above a face of side s is lost by both of two tiles overlapping by o only if
/// o < 1.5·s + 4: 160 keeps that out of reach of the 256-px least overlap.
const TILE_MAX_FACE: f32 = 160.0;
/// Faces with a longer side than this in the detector's input are "large": see
/// [`DetectorOptions::large_min_score`]. In tiles, larger faces are left to the coarse pass.
pub const LARGE_FACE: f32 = 256.0;

/// How photos are searched; see [`DetectorOptions::default`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct DetectorOptions {
    /// Photos whose long side is larger are scaled down to it before detection. The detector
    /// finds faces of about 20 px and more in what it sees (measured: 38 of 40 faces at 20 px,
    /// 20 of 40 at 16 px), so the default 3200 finds faces of 25 px in a 4000×3000 photo. Lower
    /// it for speed when faces are large: the work grows with the square of this side.
    pub max_side: u32,
    /// Lowest face probability kept (default from the manifest: 0.6).
    pub min_score: f32,
    /// Overlap (IoU) above which the weaker of two faces is dropped (default 0.4).
    pub nms_iou: f32,
    /// Lowest score kept for a face larger than [`LARGE_FACE`] px in the detector's input
    /// (default 0.9). Measured on 67 photos (DeepFace's set and face-api's samples): every
    /// real face that large scored ≥ 0.996, while clothes, hair and backgrounds seen at that
    /// scale gave false faces of 0.6–0.94; small real faces do score 0.6–0.9, so `min_score`
    /// stays low for them.
    pub large_min_score: f32,
}

impl DetectorOptions {
    /// The defaults for a detector manifest: `max_side` 3200 and its score and NMS defaults.
    pub fn for_manifest(manifest: &DetectorManifest) -> DetectorOptions {
        DetectorOptions {
            max_side: 3200,
            min_score: manifest.defaults.min_score,
            nms_iou: manifest.defaults.nms_iou,
            large_min_score: 0.9,
        }
    }

    /// Sets `max_side`.
    pub fn max_side(mut self, px: u32) -> Self {
        self.max_side = px;
        self
    }

    /// Sets `min_score`.
    pub fn min_score(mut self, score: f32) -> Self {
        self.min_score = score;
        self
    }

    fn check(&self) -> Result<(), EmbedError> {
        if self.max_side < 32 {
            return Err(EmbedError::InvalidInput(format!("max_side {} is under 32 px", self.max_side)));
        }
        if [self.min_score, self.nms_iou, self.large_min_score].iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(EmbedError::InvalidInput(format!(
                "min_score {}, large_min_score {} and nms_iou {} must lie in 0–1",
                self.min_score, self.large_min_score, self.nms_iou
            )));
        }
        Ok(())
    }
}

impl Default for DetectorOptions {
    fn default() -> Self {
        DetectorOptions::for_manifest(&DetectorManifest::retinaface())
    }
}

/// Configures and builds a [`Detector`]; see [`Detector::builder`].
#[derive(Debug, Clone)]
pub struct DetectorBuilder<'a> {
    onnx: Cow<'a, [u8]>,
    manifest: DetectorManifest,
    options: DetectorOptions,
    limits: Limits,
    verify_hash: bool,
}

impl<'a> DetectorBuilder<'a> {
    /// Search options; default: [`DetectorOptions::for_manifest`].
    pub fn options(mut self, options: DetectorOptions) -> Self {
        self.options = options;
        self
    }

    /// Decode limits applied to every photo; default: [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether to hash the ONNX bytes against the manifest (default: yes).
    pub fn verify_hash(mut self, verify: bool) -> Self {
        self.verify_hash = verify;
        self
    }

    /// Reads the model and builds the tiles' plan (other shapes are planned on first use).
    pub fn build(self) -> Result<Detector, EmbedError> {
        self.options.check()?;
        let model_version = model_version(&self.onnx, self.manifest.sha256.as_deref(), self.verify_hash)?;
        let model = read_onnx(self.onnx)?;
        let mut detector = Detector {
            model,
            manifest: self.manifest,
            options: self.options,
            limits: self.limits,
            model_version,
            plans: Vec::new(),
        };
        detector.plan((TILE, TILE))?;
        Ok(detector)
    }
}

/// One plan for one input shape `(width, height)`, and its anchors.
#[derive(Debug)]
struct ShapePlan {
    shape: (u32, u32),
    state: TypedSimpleState,
    anchors: Vec<[f32; 4]>,
}

/// Finds faces in photos of any size. Build it once and reuse it: its plans are kept.
///
/// ```no_run
/// use facenet_wasm::{Detector, DetectorManifest};
///
/// let onnx = std::fs::read("models/retinaface.onnx")?;
/// let mut detector = Detector::builder(&onnx, DetectorManifest::retinaface()).build()?;
/// for face in detector.detect_image(&std::fs::read("photo.jpg")?)? {
///     println!("{:?} {:.3}", face.bbox, face.score);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Detector {
    /// Kept to plan the shapes photos bring.
    model: InferenceModel,
    manifest: DetectorManifest,
    options: DetectorOptions,
    limits: Limits,
    model_version: String,
    plans: Vec<ShapePlan>,
}

impl Detector {
    /// Starts configuring a detector over ONNX bytes described by `manifest`.
    pub fn builder<'a>(onnx: impl Into<Cow<'a, [u8]>>, manifest: DetectorManifest) -> DetectorBuilder<'a> {
        let options = DetectorOptions::for_manifest(&manifest);
        DetectorBuilder { onnx: onnx.into(), manifest, options, limits: Limits::default(), verify_hash: true }
    }

    /// First 12 hex digits of the detector weights' sha256.
    pub fn model_version(&self) -> &str {
        &self.model_version
    }

    /// The options in force.
    pub fn options(&self) -> &DetectorOptions {
        &self.options
    }

    /// Changes the options (a new `max_side` needs no new plan).
    pub fn set_options(&mut self, options: DetectorOptions) -> Result<(), EmbedError> {
        options.check()?;
        self.options = options;
        Ok(())
    }

    /// The decode limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decodes a photo (EXIF orientation applied) and finds its faces, in its own pixels.
    pub fn detect_image(&mut self, bytes: &[u8]) -> Result<Vec<Face>, EmbedError> {
        let image = decode_image(bytes, &self.limits)?;
        self.detect_rgb(&image)
    }

    /// Finds faces in raw RGBA pixels (`width × height × 4` bytes).
    pub fn detect_rgba(&mut self, pixels: &[u8], width: u32, height: u32) -> Result<Vec<Face>, EmbedError> {
        let image = rgba_to_rgb(pixels, width, height, &self.limits)?;
        self.detect_rgb(&image)
    }

    /// Finds faces in a decoded photo: best score first, boxes clipped to the photo,
    /// landmarks as found.
    pub fn detect_rgb(&mut self, photo: &RgbImage) -> Result<Vec<Face>, EmbedError> {
        let (w0, h0) = photo.dimensions();
        if w0 == 0 || h0 == 0 {
            return Ok(Vec::new());
        }
        let (w, h) = scaled((w0, h0), (self.options.max_side as f64 / w0.max(h0) as f64).min(1.0));
        let detail = resized(photo, w, h);
        let long = w.max(h);
        let mut faces = Vec::new();
        if long <= TILE {
            faces = self.run_tile(&detail, padded((w, h)), (0, 0), f32::INFINITY)?;
        } else {
            for y in tile_starts(h) {
                for x in tile_starts(w) {
                    let found = self.run_tile(&detail, (TILE, TILE), (x, y), TILE_MAX_FACE)?;
                    let inner = InnerEdges { left: x > 0, top: y > 0, right: x + TILE < w, bottom: y + TILE < h };
                    faces.extend(found.into_iter().filter(|f| !inner.cuts(f, x, y)));
                }
            }
            let (cw, ch) = scaled((w, h), TILE as f64 / long as f64);
            let coarse = resized(&detail, cw, ch);
            let (fx, fy) = (w as f32 / cw as f32, h as f32 / ch as f32);
            // In the tiles' plan (padded): large photos of any aspect then need no plan of their own.
            let found = self.run_tile(&coarse, (TILE, TILE), (0, 0), f32::INFINITY)?;
            faces.extend(found.iter().map(|f| f.mapped(fx, fy, 0.0, 0.0)));
        }
        let (sx, sy) = (w0 as f32 / w as f32, h0 as f32 / h as f32);
        let faces = nms(faces, self.options.nms_iou);
        Ok(faces.iter().map(|f| clip(f.mapped(sx, sy, 0.0, 0.0), w0, h0)).collect())
    }

    /// Runs the plan of `shape` (width, height) on the region of `image` at `origin` (zero,
    /// i.e. the mean, past the image's edge) → faces of at most `max_face` px, in `image`'s
    /// pixels.
    fn run_tile(
        &mut self,
        image: &RgbImage,
        shape: (u32, u32),
        origin: (u32, u32),
        max_face: f32,
    ) -> Result<Vec<Face>, EmbedError> {
        let input = self.input_tensor(image, shape, origin)?;
        let index = self.plan(shape)?;
        let plan = &mut self.plans[index];
        let result = plan.state.run(tvec!(input.into())).map_err(inference_error)?;
        if result.len() != 3 {
            return Err(EmbedError::InferenceError(format!("the detector gave {} outputs, expected 3", result.len())));
        }
        let slice = |i: usize| -> Result<&[f32], EmbedError> {
            result[i].try_as_plain_ram().map_err(inference_error)?.as_slice::<f32>().map_err(inference_error)
        };
        let raw = RawOutputs { boxes: slice(0)?, scores: slice(1)?, landmarks: slice(2)? };
        let faces = decode(&self.manifest.anchors, &plan.anchors, raw, self.options.min_score)?;
        let (dx, dy) = (origin.0 as f32, origin.1 as f32);
        let large_min_score = self.options.large_min_score;
        let kept = faces.iter().filter(|f| {
            let side = f.bbox.width.max(f.bbox.height);
            side <= max_face && (side <= LARGE_FACE || f.score >= large_min_score)
        });
        Ok(kept.map(|f| f.mapped(1.0, 1.0, dx, dy)).collect())
    }

    /// `[1, 3, height, width]`: `(pixel − mean) / std` in the manifest's channel order.
    fn input_tensor(&self, image: &RgbImage, (tw, th): (u32, u32), (x0, y0): (u32, u32)) -> Result<Tensor, EmbedError> {
        let spec = &self.manifest.input;
        let order = spec.channels.order();
        let (sw, sh) = (tw as usize, th as usize);
        let mut tensor = Tensor::zero::<f32>(&[1, 3, sh, sw]).map_err(inference_error)?;
        let mut view = tensor.try_as_plain_ram_mut().map_err(inference_error)?;
        let data = view.as_slice_mut::<f32>().map_err(inference_error)?;
        let (w, h) = image.dimensions();
        let (cols, rows) = (w.saturating_sub(x0).min(tw) as usize, h.saturating_sub(y0).min(th) as usize);
        let raw = image.as_raw();
        for c in 0..3 {
            let (mean, scale, source) = (spec.mean[c], 1.0 / spec.std[c], order[c]);
            let plane = &mut data[c * sw * sh..(c + 1) * sw * sh];
            for row in 0..rows {
                let start = ((y0 as usize + row) * w as usize + x0 as usize) * 3;
                let pixels = &raw[start..start + cols * 3];
                let out = &mut plane[row * sw..row * sw + cols];
                for (o, p) in out.iter_mut().zip(pixels.chunks_exact(3)) {
                    *o = (p[source] as f32 - mean) * scale;
                }
            }
        }
        drop(view);
        Ok(tensor)
    }

    /// The index in `plans` of the plan for `shape` (width, height), built on first use; the
    /// least recently used of more than [`MAX_PLANS`] is dropped, except the tiles' plan.
    fn plan(&mut self, shape: (u32, u32)) -> Result<usize, EmbedError> {
        match self.plans.iter().position(|p| p.shape == shape) {
            Some(i) => {
                let plan = self.plans.remove(i);
                self.plans.insert(0, plan);
            }
            None => {
                let state = build_plan(&self.model, &self.manifest, shape)?;
                let anchors = anchors(&self.manifest.anchors, shape.1, shape.0);
                self.plans.insert(0, ShapePlan { shape, state, anchors });
                if self.plans.len() > MAX_PLANS {
                    let evict = self.plans.iter().rposition(|p| p.shape != (TILE, TILE)).unwrap_or(MAX_PLANS);
                    self.plans.remove(evict);
                }
            }
        }
        Ok(0)
    }

    /// The input shapes (width, height) planned so far, the last used first.
    pub fn planned_shapes(&self) -> Vec<(u32, u32)> {
        self.plans.iter().map(|p| p.shape).collect()
    }
}

/// Which edges of a tile lie inside the image (a face touching one of those is cut).
struct InnerEdges {
    left: bool,
    top: bool,
    right: bool,
    bottom: bool,
}

impl InnerEdges {
    /// `face` is in image pixels; the tile starts at (`x`, `y`).
    fn cuts(&self, face: &Face, x: u32, y: u32) -> bool {
        let b = &face.bbox;
        let (left, top) = (b.x - x as f32, b.y - y as f32);
        let (right, bottom) = (left + b.width, top + b.height);
        let edge = EDGE + EDGE_FRACTION * b.width.max(b.height);
        let far = TILE as f32 - edge;
        (self.left && left < edge)
            || (self.top && top < edge)
            || (self.right && right > far)
            || (self.bottom && bottom > far)
    }
}

/// Starts of the large tiles along a side of `len` px (> TILE): evenly spread, the first at 0,
/// the last flush with the end, neighbours overlapping by at least [`TILE_OVERLAP`].
///
/// 3200 px: ceil((3200 − 256) / 1024) = 3 tiles, at 0, 960, 1920 (overlap 320).
fn tile_starts(len: u32) -> Vec<u32> {
    if len <= TILE {
        return vec![0];
    }
    let n = (len - TILE_OVERLAP).div_ceil(TILE - TILE_OVERLAP);
    let span = (len - TILE) as u64;
    (0..n as u64).map(|i| ((i * span + (n as u64 - 1) / 2) / (n as u64 - 1)) as u32).collect()
}

/// (w, h) times `scale`, rounded, at least 1 px a side.
fn scaled((w, h): (u32, u32), scale: f64) -> (u32, u32) {
    (((w as f64 * scale).round() as u32).max(1), ((h as f64 * scale).round() as u32).max(1))
}

/// (w, h) rounded up to multiples of 32: 1280×853 → 1280×864.
fn padded((w, h): (u32, u32)) -> (u32, u32) {
    (w.div_ceil(ALIGN) * ALIGN, h.div_ceil(ALIGN) * ALIGN)
}

fn resized(image: &RgbImage, w: u32, h: u32) -> Cow<'_, RgbImage> {
    if image.dimensions() == (w, h) {
        Cow::Borrowed(image)
    } else {
        Cow::Owned(imageops::resize(image, w, h, FilterType::Triangle))
    }
}

/// The box cut to the photo; the landmarks stay as found.
fn clip(mut face: Face, w: u32, h: u32) -> Face {
    let b = &mut face.bbox;
    let (x1, y1) = ((b.x + b.width).min(w as f32), (b.y + b.height).min(h as f32));
    (b.x, b.y) = (b.x.max(0.0), b.y.max(0.0));
    (b.width, b.height) = ((x1 - b.x).max(0.0), (y1 - b.y).max(0.0));
    face
}

/// The model with a fixed `[1, 3, height, width]` input and the three outputs, optimized.
fn build_plan(
    model: &InferenceModel,
    manifest: &DetectorManifest,
    (w, h): (u32, u32),
) -> Result<TypedSimpleState, EmbedError> {
    let load = |e: TractError| EmbedError::ModelLoadError(format!("detector, {w}×{h} plan: {e:#}"));
    let mut model = model.clone();
    if !manifest.input.name.is_empty() {
        model = model.with_input_names([manifest.input.name.as_str()]).map_err(load)?;
    }
    model = model.with_input_fact(0, f32::fact([1, 3, h as usize, w as usize]).into()).map_err(load)?;
    let o = &manifest.outputs;
    model.select_outputs_by_name([o.boxes.as_str(), o.scores.as_str(), o.landmarks.as_str()]).map_err(load)?;
    // Straight to codegen, as for the embedder: declutter is half the build and no faster to run.
    let mut typed = model.into_typed().map_err(load)?;
    typed.optimize().map_err(load)?;
    let plan = typed.into_runnable().map_err(load)?;
    plan.spawn().map_err(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_side_with_the_promised_overlap() {
        assert_eq!(tile_starts(1280), [0]);
        assert_eq!(tile_starts(3200), [0, 960, 1920]);
        for len in [1281, 1500, 2304, 2305, 3199, 3200, 6000] {
            let starts = tile_starts(len);
            assert_eq!(starts[0], 0);
            assert_eq!(starts.last().unwrap() + TILE, len, "{len}: {starts:?}");
            for pair in starts.windows(2) {
                assert!(pair[0] + TILE >= pair[1] + TILE_OVERLAP, "{len}: {starts:?}");
            }
        }
    }

    #[test]
    fn a_face_on_an_inner_edge_is_cut() {
        let face = |x: f32| Face {
            bbox: crate::BoundingBox { x, y: 100.0, width: 50.0, height: 50.0 },
            score: 1.0,
            landmarks: [[0.0; 2]; 5],
        };
        let inner = InnerEdges { left: true, top: false, right: true, bottom: false };
        // Tile at x = 960, its left edge inner: a 50-px face closer to it than 2 + 12.5 px is
        // cut (at 970), one at 975 is not; one ending past 960 + 1280 − 14.5 is cut on the right.
        assert!(inner.cuts(&face(970.0), 960, 0));
        assert!(!inner.cuts(&face(975.0), 960, 0));
        assert!(inner.cuts(&face(2176.0), 960, 0));
        assert!(!inner.cuts(&face(2170.0), 960, 0));
        let outer = InnerEdges { left: false, top: false, right: false, bottom: false };
        assert!(!outer.cuts(&face(0.0), 0, 0));
    }
}
