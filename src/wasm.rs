//! JavaScript bindings: a thin layer that converts types and errors, nothing more.
//!
//! Errors arrive in JavaScript as `Error` objects whose `name` and `code` are the stable
//! [`ErrorCode`] names, so callers branch on `error.code === "DecodeError"`.

use crate::{
    align_face, encode_jpeg, rgba_to_rgb, Alignment, Detector, DetectorManifest, DetectorOptions, EmbedError, Embedder,
    ErrorCode, Limits, Manifest,
};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// Options of [`FaceNetModel::new`], as a plain JavaScript object (all optional).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LoadOptions {
    /// `facenet` (default) or `facenet512`, or any name the manifest offers.
    model: Option<String>,
    /// A manifest object for a model other than the shipped FaceNet.
    manifest: Option<Manifest>,
    /// Hash the bytes against the manifest (default true; the worker checks natively first).
    verify_hash: Option<bool>,
    #[serde(flatten)]
    limits: LimitOptions,
}

/// Decode limits, each optional (defaults: [`Limits::default`]).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LimitOptions {
    max_width: Option<u32>,
    max_height: Option<u32>,
    max_alloc: Option<f64>,
    min_side: Option<u32>,
}

impl LimitOptions {
    fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            max_width: self.max_width.unwrap_or(defaults.max_width),
            max_height: self.max_height.unwrap_or(defaults.max_height),
            max_alloc: self.max_alloc.map_or(defaults.max_alloc, |b| b as u64),
            min_side: self.min_side.unwrap_or(defaults.min_side),
        }
    }
}

/// Options of [`FaceDetectorModel::new`], as a plain JavaScript object (all optional).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DetectorLoadOptions {
    /// A detector manifest other than the shipped RetinaFace's.
    manifest: Option<DetectorManifest>,
    verify_hash: Option<bool>,
    /// Photos are scaled down to this long side before detection (default 3200).
    max_side: Option<u32>,
    /// Lowest face score kept (default 0.6).
    min_score: Option<f32>,
    /// Size of the aligned crops (default 160 × 160, FaceNet's input).
    crop_width: Option<u32>,
    crop_height: Option<u32>,
    /// JPEG quality of the crops (default 92).
    jpeg_quality: Option<u8>,
    #[serde(flatten)]
    limits: LimitOptions,
}

fn options_from<T: for<'de> Deserialize<'de> + Default>(options: JsValue) -> Result<T, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(options)
        .map_err(|e| js_error(ErrorCode::InvalidInput, &format!("invalid options: {e}")))
}

fn js_error(code: ErrorCode, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name(code.as_str());
    // Ignoring the result: setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &code.as_str().into());
    error.into()
}

fn to_js(error: EmbedError) -> JsValue {
    js_error(error.code(), &error.to_string())
}

/// One crop of [`FaceNetModel::embed_batch`]: a `Uint8Array` of an encoded image, or
/// `{rgba, width, height}`.
fn crop_of(item: JsValue, limits: &Limits) -> Result<image::RgbImage, JsValue> {
    if let Some(bytes) = item.dyn_ref::<js_sys::Uint8Array>() {
        return crate::decode_image(&bytes.to_vec(), limits).map_err(to_js);
    }
    let field = |name: &str| js_sys::Reflect::get(&item, &name.into()).ok();
    let pixels = field("rgba").filter(|p| p.is_object()).map(|p| js_sys::Uint8Array::new(&p).to_vec());
    let side = |name: &str| field(name).and_then(|v| v.as_f64()).filter(|v| *v >= 0.0 && *v <= u32::MAX as f64);
    match (pixels, side("width"), side("height")) {
        (Some(pixels), Some(width), Some(height)) => {
            rgba_to_rgb(&pixels, width as u32, height as u32, limits).map_err(to_js)
        }
        _ => Err(js_error(ErrorCode::InvalidInput, "batch items must be a Uint8Array or {rgba, width, height}")),
    }
}

/// A loaded face model: the tract plan is built once, in the constructor.
#[wasm_bindgen]
pub struct FaceNetModel {
    inner: Embedder,
}

#[wasm_bindgen]
impl FaceNetModel {
    /// Builds the plan from ONNX bytes. `options`: `{model, manifest, verifyHash, maxWidth,
    /// maxHeight, maxAlloc, minSide}`, all optional. Throws `ModelLoadError` / `UnknownModel`.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: Vec<u8>, options: JsValue) -> Result<FaceNetModel, JsValue> {
        console_error_panic_hook::set_once();
        let options: LoadOptions = options_from(options)?;
        let limits = options.limits.limits();
        let mut builder = Embedder::builder(onnx, options.manifest.unwrap_or_else(Manifest::facenet))
            .limits(limits)
            .verify_hash(options.verify_hash.unwrap_or(true));
        if let Some(name) = &options.model {
            builder = builder.model(name);
        }
        builder.build().map(|inner| FaceNetModel { inner }).map_err(to_js)
    }

    /// The model name vectors are tagged with, e.g. `facenet`.
    #[wasm_bindgen(getter, js_name = modelName)]
    pub fn model_name(&self) -> String {
        self.inner.model_name().to_string()
    }

    /// First 12 hex digits of the weights' sha256.
    #[wasm_bindgen(getter, js_name = modelVersion)]
    pub fn model_version(&self) -> String {
        self.inner.model_version().to_string()
    }

    /// Length of every vector.
    #[wasm_bindgen(getter)]
    pub fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    /// Embeds encoded image bytes (JPEG, PNG, WebP, BMP, GIF) → unit-length `Float32Array`.
    #[wasm_bindgen(js_name = embedImage)]
    pub fn embed_image(&mut self, bytes: &[u8]) -> Result<Vec<f32>, JsValue> {
        self.inner.embed_image(bytes).map(|e| e.vector).map_err(to_js)
    }

    /// Embeds RGBA pixels (`ImageData.data`, width × height × 4 bytes) → `Float32Array`.
    #[wasm_bindgen(js_name = embedRgba)]
    pub fn embed_rgba(&mut self, pixels: &[u8], width: u32, height: u32) -> Result<Vec<f32>, JsValue> {
        self.inner.embed_rgba(pixels, width, height).map(|e| e.vector).map_err(to_js)
    }

    /// Embeds an array of crops, each an encoded image (`Uint8Array`) or `{rgba, width,
    /// height}` (RGBA pixels); each slot of the answer holds a `Float32Array` or an `Error`, so
    /// one bad crop fails alone. In the threaded build the crops run side by side, a whole crop
    /// per thread ([`Embedder::embed_rgb_parallel`]); otherwise one after another.
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(&mut self, items: js_sys::Array) -> js_sys::Array {
        let limits = *self.inner.limits();
        // Decoded here, one after another (they are JS values); each slot: its crop or its error.
        let mut crops = Vec::new();
        let slots: Vec<Result<(), JsValue>> =
            items.iter().map(|item| crop_of(item, &limits).map(|crop| crops.push(crop))).collect();
        #[cfg(feature = "threads")]
        let mut embedded = self.inner.embed_rgb_parallel(&crops).into_iter();
        #[cfg(not(feature = "threads"))]
        let mut embedded = crops.iter().map(|crop| self.inner.embed_rgb(crop)).collect::<Vec<_>>().into_iter();
        slots
            .into_iter()
            .map(|slot| match slot.map(|()| embedded.next()) {
                Ok(Some(Ok(e))) => js_sys::Float32Array::from(e.vector.as_slice()).into(),
                Ok(Some(Err(e))) => to_js(e),
                Ok(None) => js_error(ErrorCode::InferenceError, "a crop had no result"),
                Err(e) => e,
            })
            .collect()
    }
}

/// A loaded face detector: photos → faces with their aligned crops. Its plan is built once,
/// in the constructor (a second, for small photos, on first use).
#[wasm_bindgen]
pub struct FaceDetectorModel {
    inner: Detector,
    crop: (u32, u32),
    jpeg_quality: u8,
}

#[wasm_bindgen]
impl FaceDetectorModel {
    /// Builds the detector from ONNX bytes. `options`: `{manifest, verifyHash, maxSide, minScore,
    /// cropWidth, cropHeight, jpegQuality, maxWidth, maxHeight, maxAlloc, minSide}`, all optional.
    /// Throws `ModelLoadError` or `InvalidInput`.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: Vec<u8>, options: JsValue) -> Result<FaceDetectorModel, JsValue> {
        console_error_panic_hook::set_once();
        let o: DetectorLoadOptions = options_from(options)?;
        let manifest = o.manifest.unwrap_or_else(DetectorManifest::retinaface);
        let mut search = DetectorOptions::for_manifest(&manifest);
        if let Some(px) = o.max_side {
            search = search.max_side(px);
        }
        if let Some(score) = o.min_score {
            search = search.min_score(score);
        }
        let crop = (o.crop_width.unwrap_or(160), o.crop_height.unwrap_or(160));
        if crop.0 == 0 || crop.1 == 0 || crop.0 > 1024 || crop.1 > 1024 {
            return Err(js_error(
                ErrorCode::InvalidInput,
                &format!("crop size {}×{} must lie in 1–1024", crop.0, crop.1),
            ));
        }
        let inner = Detector::builder(onnx, manifest)
            .options(search)
            .limits(o.limits.limits())
            .verify_hash(o.verify_hash.unwrap_or(true))
            .build()
            .map_err(to_js)?;
        Ok(FaceDetectorModel { inner, crop, jpeg_quality: o.jpeg_quality.unwrap_or(92) })
    }

    /// First 12 hex digits of the detector weights' sha256.
    #[wasm_bindgen(getter, js_name = modelVersion)]
    pub fn model_version(&self) -> String {
        self.inner.model_version().to_string()
    }

    /// Finds the faces of an encoded photo (EXIF orientation applied) →
    /// `{width, height, faces: [{box: {x, y, width, height}, score, landmarks: [[x, y] × 5],
    /// crop: {width, height, rgba: Uint8Array, jpeg: Uint8Array}}]}`, best score first.
    #[wasm_bindgen(js_name = detectImage)]
    pub fn detect_image(&mut self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let photo = crate::decode_image(bytes, self.inner.limits()).map_err(to_js)?;
        self.faces_of(&photo)
    }

    /// The same for RGBA pixels (`ImageData.data`, width × height × 4 bytes).
    #[wasm_bindgen(js_name = detectRgba)]
    pub fn detect_rgba(&mut self, pixels: &[u8], width: u32, height: u32) -> Result<JsValue, JsValue> {
        let photo = rgba_to_rgb(pixels, width, height, self.inner.limits()).map_err(to_js)?;
        self.faces_of(&photo)
    }

    fn faces_of(&mut self, photo: &image::RgbImage) -> Result<JsValue, JsValue> {
        let faces = self.inner.detect_rgb(photo).map_err(to_js)?;
        let list = js_sys::Array::new();
        let set = |target: &JsValue, key: &str, value: &JsValue| {
            // Ignoring the result: setting a property on a fresh plain object cannot fail.
            let _ = js_sys::Reflect::set(target, &key.into(), value);
        };
        for face in &faces {
            let (w, h) = self.crop;
            let Some(crop) = align_face(photo, face, Alignment::FivePoint, w, h) else { continue };
            let rgba: Vec<u8> = crop.pixels().flat_map(|p| [p.0[0], p.0[1], p.0[2], 255]).collect();
            let jpeg = encode_jpeg(&crop, self.jpeg_quality).map_err(to_js)?;
            let value = serde_wasm_bindgen::to_value(face)
                .map_err(|e| js_error(ErrorCode::InferenceError, &format!("cannot convert a face: {e}")))?;
            let crop_value: JsValue = js_sys::Object::new().into();
            set(&crop_value, "width", &w.into());
            set(&crop_value, "height", &h.into());
            set(&crop_value, "rgba", &js_sys::Uint8Array::from(rgba.as_slice()).into());
            set(&crop_value, "jpeg", &js_sys::Uint8Array::from(jpeg.as_slice()).into());
            set(&value, "crop", &crop_value);
            list.push(&value);
        }
        let result: JsValue = js_sys::Object::new().into();
        set(&result, "width", &photo.width().into());
        set(&result, "height", &photo.height().into());
        set(&result, "faces", &list);
        Ok(result)
    }
}

/// The core's stable error codes (www/client/contract.js lists them first, then the HTTP API's).
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect()
}
