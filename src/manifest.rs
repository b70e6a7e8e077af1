//! What the engine needs to know about an ONNX face model, kept beside it as JSON.
//!
//! The engine is model-agnostic: another face model plus its manifest works without code
//! changes. `models/facenet.json` is the manifest of the shipped model.

use crate::EmbedError;
use serde::{Deserialize, Serialize};

/// Hex digits of the weights' sha256 kept as the model version (`model_version` on the wire).
pub const MODEL_VERSION_LEN: usize = 12;

/// The manifest of the shipped FaceNet model (`models/facenet.json`).
pub const FACENET_MANIFEST_JSON: &str = include_str!("../models/facenet.json");

/// The manifest of the shipped face detector (`models/retinaface.json`).
pub const RETINAFACE_MANIFEST_JSON: &str = include_str!("../models/retinaface.json");

/// Describes one ONNX file: its hash, how to feed it, and the embeddings it offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// File name of the ONNX model, relative to the manifest.
    pub file: String,
    /// sha256 of the ONNX file, lowercase hex. When present, loading checks it.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Size of the ONNX file in bytes, for download progress before any byte arrives.
    #[serde(default)]
    pub size: Option<u64>,
    /// The model's image input.
    pub input: InputSpec,
    /// The embeddings this file offers, by model name; the first is the default.
    pub outputs: Vec<OutputSpec>,
}

/// How a crop becomes the model's input tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Name of the ONNX input.
    pub name: String,
    /// Tensor layout: `NHWC` (FaceNet) or `NCHW`.
    pub layout: Layout,
    /// Input width in pixels; the whole crop is resized to it.
    pub width: u32,
    /// Input height in pixels.
    pub height: u32,
    /// Channel order fed to the model.
    #[serde(default)]
    pub channels: Channels,
    /// Per-channel value subtracted from 0–255 pixels.
    pub mean: [f32; 3],
    /// Per-channel divisor applied after subtracting `mean`.
    pub std: [f32; 3],
}

/// Memory layout of the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// `[1, height, width, 3]`
    NHWC,
    /// `[1, 3, height, width]`
    NCHW,
}

/// Channel order of the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Channels {
    /// Red, green, blue (FaceNet).
    #[default]
    RGB,
    /// Blue, green, red (models trained through OpenCV).
    BGR,
}

impl Channels {
    /// For each input channel, the index of the RGB component that feeds it.
    pub fn order(self) -> [usize; 3] {
        match self {
            Channels::RGB => [0, 1, 2],
            Channels::BGR => [2, 1, 0],
        }
    }
}

/// One embedding the file offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// The public model name, e.g. `facenet` or `facenet512`.
    pub model: String,
    /// Name of the ONNX output that holds it.
    pub output: String,
    /// Length of the vector. `None` (custom models) takes whatever the model gives.
    #[serde(default)]
    pub dimension: Option<usize>,
    /// Whether to L2-normalize the output (FaceNet's 128-d projection needs it).
    #[serde(default = "yes")]
    pub l2_normalize: bool,
    /// Cosine distance at or below which two aligned faces are taken as the same person,
    /// measured on different photos of the same people (models/README.md). `None` for
    /// custom models: measure your own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_person_threshold: Option<f32>,
}

fn yes() -> bool {
    true
}

impl Manifest {
    /// The shipped FaceNet manifest: names `facenet` (128-d) and `facenet512` (512-d).
    pub fn facenet() -> Manifest {
        Manifest::from_json(FACENET_MANIFEST_JSON).expect("models/facenet.json is valid: tested")
    }

    /// Parses a manifest; a malformed one is a [`EmbedError::ModelLoadError`].
    pub fn from_json(json: &str) -> Result<Manifest, EmbedError> {
        let manifest: Manifest =
            serde_json::from_str(json).map_err(|e| EmbedError::ModelLoadError(format!("invalid manifest: {e}")))?;
        if manifest.outputs.is_empty() {
            return Err(EmbedError::ModelLoadError("invalid manifest: no outputs".into()));
        }
        Ok(manifest)
    }

    /// A manifest for a bare ONNX file with FaceNet's input conventions (160×160 NHWC RGB,
    /// fixed standardization) and its first output under `name`.
    pub fn facenet_like(file: &str, name: &str) -> Manifest {
        let mut manifest = Manifest::facenet();
        manifest.file = file.into();
        manifest.sha256 = None;
        manifest.size = None;
        manifest.input.name = String::new();
        manifest.outputs = vec![OutputSpec {
            model: name.into(),
            output: String::new(),
            dimension: None,
            l2_normalize: true,
            same_person_threshold: None,
        }];
        manifest
    }

    /// The model names this file offers, default first.
    pub fn model_names(&self) -> Vec<String> {
        self.outputs.iter().map(|o| o.model.clone()).collect()
    }

    /// The output spec for `name`, or [`EmbedError::UnknownModel`].
    pub fn output(&self, name: &str) -> Result<&OutputSpec, EmbedError> {
        self.outputs
            .iter()
            .find(|o| o.model == name)
            .ok_or_else(|| EmbedError::UnknownModel { name: name.into(), available: self.model_names() })
    }
}

/// Describes a RetinaFace-style detector: `[1, 3, H, W]` input of any size, and per anchor a
/// box, a face probability and five landmarks (`models/retinaface.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorManifest {
    /// File name of the ONNX model, relative to the manifest.
    pub file: String,
    /// sha256 of the ONNX file, lowercase hex. When present, loading checks it.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Size of the ONNX file in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// How pixels become the input tensor (always NCHW).
    pub input: DetectorInput,
    /// Names of the three ONNX outputs.
    pub outputs: DetectorOutputs,
    /// The anchor layout the outputs refer to.
    pub anchors: AnchorSpec,
    /// Post-processing defaults.
    pub defaults: DetectorDefaults,
}

/// The detector's input: `[1, 3, H, W]`, `(pixel − mean) / std` per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorInput {
    /// Name of the ONNX input.
    pub name: String,
    /// Channel order fed to the model (`BGR` for RetinaFace).
    #[serde(default)]
    pub channels: Channels,
    /// Per-channel value subtracted from 0–255 pixels, in the order fed.
    pub mean: [f32; 3],
    /// Per-channel divisor applied after subtracting `mean`.
    pub std: [f32; 3],
}

/// Names of the detector's outputs: `[1, N, 4]` box offsets, `[1, N, 2]` softmaxed scores,
/// `[1, N, 10]` landmark offsets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorOutputs {
    /// Box offsets output.
    pub boxes: String,
    /// Scores output (column 1 = face).
    pub scores: String,
    /// Landmark offsets output.
    pub landmarks: String,
}

/// Anchors per feature map: one map per step, `sizes[k]` anchors (square, in input pixels)
/// per cell of map `k`; offsets are decoded with `variances` (centre, size).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnchorSpec {
    /// Stride of each feature map, in input pixels.
    pub steps: Vec<u32>,
    /// Anchor sides per feature map, in input pixels.
    pub sizes: Vec<Vec<f32>>,
    /// Decoding variances: centre offsets, log sizes.
    pub variances: [f32; 2],
}

/// Post-processing defaults of a detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectorDefaults {
    /// Lowest face probability kept.
    pub min_score: f32,
    /// Non-maximum suppression: overlap (IoU) above which the weaker face is dropped.
    pub nms_iou: f32,
}

impl DetectorManifest {
    /// The shipped RetinaFace manifest.
    pub fn retinaface() -> DetectorManifest {
        DetectorManifest::from_json(RETINAFACE_MANIFEST_JSON).expect("models/retinaface.json is valid: tested")
    }

    /// Parses a detector manifest; a malformed one is a [`EmbedError::ModelLoadError`].
    pub fn from_json(json: &str) -> Result<DetectorManifest, EmbedError> {
        let manifest: DetectorManifest = serde_json::from_str(json)
            .map_err(|e| EmbedError::ModelLoadError(format!("invalid detector manifest: {e}")))?;
        let a = &manifest.anchors;
        let problem = if a.steps.is_empty() || a.steps.len() != a.sizes.len() {
            Some("anchors need one list of sizes per step")
        } else if a.steps.iter().any(|&s| s == 0) || a.sizes.iter().flatten().any(|s| !(*s > 0.0 && s.is_finite())) {
            Some("anchor steps and sizes must be positive")
        } else if manifest.input.std.iter().any(|s| *s == 0.0) {
            Some("input std must not be 0")
        } else {
            None
        };
        match problem {
            Some(p) => Err(EmbedError::ModelLoadError(format!("invalid detector manifest: {p}"))),
            None => Ok(manifest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_manifest_offers_both_names() {
        let m = Manifest::facenet();
        assert_eq!(m.model_names(), ["facenet", "facenet512"]);
        assert_eq!(m.output("facenet").unwrap().dimension, Some(128));
        assert_eq!(m.output("facenet512").unwrap().dimension, Some(512));
        assert_eq!((m.input.width, m.input.height, m.input.layout), (160, 160, Layout::NHWC));
        assert_eq!(m.input.mean, [127.5; 3]);
        assert_eq!(m.input.std, [128.0; 3]);
        assert_eq!(m.sha256.as_deref().map(str::len), Some(64));
    }

    #[test]
    fn unknown_name_lists_the_available_ones() {
        let err = Manifest::facenet().output("arcface").unwrap_err();
        assert_eq!(err.to_string(), "unknown model \"arcface\"; this model file offers: facenet, facenet512");
    }

    #[test]
    fn shipped_detector_manifest_is_retinaface() {
        let m = DetectorManifest::retinaface();
        assert_eq!((m.input.channels, m.input.mean), (Channels::BGR, [104.0, 117.0, 123.0]));
        assert_eq!(m.anchors.steps, [8, 16, 32]);
        assert_eq!((m.defaults.min_score, m.defaults.nms_iou), (0.6, 0.4));
        assert_eq!(m.sha256.as_deref().map(str::len), Some(64));
        let broken = RETINAFACE_MANIFEST_JSON.replace("\"steps\": [", "\"steps\": [0, ");
        assert_eq!(DetectorManifest::from_json(&broken).unwrap_err().code(), crate::ErrorCode::ModelLoadError);
    }

    #[test]
    fn malformed_manifest_is_a_model_load_error() {
        let err = Manifest::from_json("{\"file\": 3}").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::ModelLoadError);
    }
}
