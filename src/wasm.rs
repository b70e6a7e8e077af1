//! JavaScript bindings: a thin layer that converts types and errors, nothing more.
//!
//! Errors arrive in JavaScript as `Error` objects whose `name` and `code` are the stable
//! [`ErrorCode`] names, so callers branch on `error.code === "DecodeError"`.

use crate::{EmbedError, Embedder, ErrorCode, Limits, Manifest};
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
    max_width: Option<u32>,
    max_height: Option<u32>,
    max_alloc: Option<f64>,
    min_side: Option<u32>,
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
        let options: LoadOptions = if options.is_undefined() || options.is_null() {
            LoadOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| js_error(ErrorCode::InvalidInput, &format!("invalid options: {e}")))?
        };
        let defaults = Limits::default();
        let limits = Limits {
            max_width: options.max_width.unwrap_or(defaults.max_width),
            max_height: options.max_height.unwrap_or(defaults.max_height),
            max_alloc: options.max_alloc.map_or(defaults.max_alloc, |b| b as u64),
            min_side: options.min_side.unwrap_or(defaults.min_side),
        };
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

    /// Embeds an array of encoded images; each slot holds a `Float32Array` or an `Error`, so
    /// one bad image fails alone.
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(&mut self, images: js_sys::Array) -> js_sys::Array {
        images
            .iter()
            .map(|item| match item.dyn_into::<js_sys::Uint8Array>() {
                Ok(bytes) => match self.inner.embed_image(&bytes.to_vec()) {
                    Ok(e) => js_sys::Float32Array::from(e.vector.as_slice()).into(),
                    Err(e) => to_js(e),
                },
                Err(_) => js_error(ErrorCode::InvalidInput, "batch items must be Uint8Array"),
            })
            .collect()
    }
}

/// The stable error codes, for clients that want to list or validate them.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect()
}
