//! The tract plan, built once, and the one path every image takes through it.

use crate::decode::{decode_image, describe_start, rgba_to_rgb};
use crate::manifest::{InputSpec, Layout, Manifest, OutputSpec, MODEL_VERSION_LEN};
use crate::preprocess::{l2_normalize, to_input};
use crate::{EmbedError, Limits};
use image::RgbImage;
use prost::Message;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use tract_onnx::prelude::*;

/// One face embedding, tagged so a consumer can refuse vectors of another model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Embedding {
    /// Unit-length vector (`dimension` values).
    pub vector: Vec<f32>,
    /// Model name, e.g. `facenet`.
    pub model: String,
    /// First 12 hex digits of the weights file's sha256.
    pub model_version: String,
}

/// Configures and builds an [`Embedder`]; see [`Embedder::builder`].
#[derive(Debug, Clone)]
pub struct EmbedderBuilder<'a> {
    onnx: Cow<'a, [u8]>,
    manifest: Manifest,
    model: Option<String>,
    limits: Limits,
    verify_hash: bool,
}

impl<'a> EmbedderBuilder<'a> {
    /// Which embedding to produce, by name (`facenet`, `facenet512`); default: the manifest's first.
    pub fn model(mut self, name: &str) -> Self {
        self.model = Some(name.into());
        self
    }

    /// Decode limits applied to every image; default: [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether to hash the ONNX bytes against the manifest's sha256 (default: yes). Turn it off
    /// only where the caller has just checked the same bytes (the browser worker does, natively).
    pub fn verify_hash(mut self, verify: bool) -> Self {
        self.verify_hash = verify;
        self
    }

    /// Parses and optimizes the model into a runnable plan (about a second for FaceNet).
    pub fn build(self) -> Result<Embedder, EmbedError> {
        let output = match &self.model {
            Some(name) => self.manifest.output(name)?,
            None => &self.manifest.outputs[0],
        }
        .clone();
        let model_version = model_version(&self.onnx, self.manifest.sha256.as_deref(), self.verify_hash)?;
        let (plan, dimension) = build_plan(self.onnx, &self.manifest.input, &output)?;
        let state = plan.spawn().map_err(|e| EmbedError::ModelLoadError(format!("{e:#}")))?;
        Ok(Embedder {
            state,
            spec: Spec { input: self.manifest.input, output, dimension, model_version },
            limits: self.limits,
            scratch: Vec::new(),
        })
    }
}

/// Turns face crops into embeddings with one model. Build it once and reuse it: the plan and
/// its buffers are kept between images.
///
/// ```no_run
/// use facenet_wasm::{Embedder, Manifest};
///
/// let onnx = std::fs::read("models/facenet.onnx")?;
/// let mut embedder = Embedder::builder(&onnx, Manifest::facenet()).model("facenet").build()?;
/// let embedding = embedder.embed_image(&std::fs::read("tests/faces/s1a.jpg")?)?;
/// assert_eq!(embedding.vector.len(), 128);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Embedder {
    state: TypedSimpleState,
    spec: Spec,
    limits: Limits,
    scratch: Vec<f32>,
}

impl Embedder {
    /// Starts configuring an embedder over ONNX bytes described by `manifest`. Given the bytes
    /// by value (`Vec<u8>`), the build frees them as soon as they are decoded, which lowers the
    /// peak memory of a build by their size.
    pub fn builder<'a>(onnx: impl Into<Cow<'a, [u8]>>, manifest: Manifest) -> EmbedderBuilder<'a> {
        EmbedderBuilder { onnx: onnx.into(), manifest, model: None, limits: Limits::default(), verify_hash: true }
    }

    /// The model name this embedder produces, e.g. `facenet`.
    pub fn model_name(&self) -> &str {
        &self.spec.output.model
    }

    /// The crop size the model takes, `(width, height)`: what [`align_face`](crate::align_face)
    /// should produce for it.
    pub fn input_size(&self) -> (u32, u32) {
        (self.spec.input.width, self.spec.input.height)
    }

    /// Length of every vector it returns.
    pub fn dimension(&self) -> usize {
        self.spec.dimension
    }

    /// First 12 hex digits of the weights' sha256.
    pub fn model_version(&self) -> &str {
        &self.spec.model_version
    }

    /// The decode limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Embeds an encoded image (JPEG, PNG, WebP, BMP, GIF).
    pub fn embed_image(&mut self, bytes: &[u8]) -> Result<Embedding, EmbedError> {
        let image = decode_image(bytes, &self.limits)?;
        self.embed_rgb(&image)
    }

    /// Embeds raw RGBA pixels, `width × height × 4` bytes, as a canvas or `ImageBitmap` gives them.
    pub fn embed_rgba(&mut self, pixels: &[u8], width: u32, height: u32) -> Result<Embedding, EmbedError> {
        let image = rgba_to_rgb(pixels, width, height, &self.limits)?;
        self.embed_rgb(&image)
    }

    /// Embeds an already decoded RGB crop.
    pub fn embed_rgb(&mut self, image: &RgbImage) -> Result<Embedding, EmbedError> {
        self.spec.run(&mut self.state, &mut self.scratch, image)
    }

    /// Embeds decoded crops a whole crop per thread, on rayon's pool (feature `threads`): each
    /// thread runs its own session of the one plan (weights shared, activations its own) with
    /// tract's products kept on that thread. For batches, where whole faces side by side keep
    /// every core busier than one face's products split across the cores. One result per crop,
    /// in order.
    #[cfg(feature = "threads")]
    pub fn embed_rgb_parallel(&self, images: &[RgbImage]) -> Vec<Result<Embedding, EmbedError>> {
        use rayon::prelude::*;
        use tract_linalg::multithread::{multithread_tract_scope, Executor};
        let (plan, spec) = (self.state.plan(), &self.spec);
        images
            .par_iter()
            .map_init(
                || (plan.spawn().map_err(inference_error), Vec::new()),
                |(state, scratch), image| {
                    let state = state.as_mut().map_err(|e| e.clone())?;
                    multithread_tract_scope(Executor::SingleThread, || spec.run(state, scratch, image))
                },
            )
            .collect()
    }
    /// Embeds many encoded images; one bad image fails alone, in its own slot.
    pub fn embed_batch<B: AsRef<[u8]>>(&mut self, images: &[B]) -> Vec<Result<Embedding, EmbedError>> {
        images.iter().map(|bytes| self.embed_image(bytes.as_ref())).collect()
    }
}

/// What a run needs besides a session: the model's input and output (shareable across threads,
/// unlike a session).
#[derive(Debug)]
struct Spec {
    input: InputSpec,
    output: OutputSpec,
    dimension: usize,
    model_version: String,
}

impl Spec {
    /// crop → standardized input tensor (`scratch` keeps its buffer) → a session's run → a
    /// checked, L2-normalized vector.
    fn run(
        &self,
        state: &mut TypedSimpleState,
        scratch: &mut Vec<f32>,
        image: &RgbImage,
    ) -> Result<Embedding, EmbedError> {
        to_input(image, &self.input, scratch);
        let shape = input_shape(&self.input);
        let tensor = Tensor::from_shape(&shape, scratch).map_err(inference_error)?;
        let outputs = state.run(tvec!(tensor.into())).map_err(inference_error)?;
        let plain = outputs[0].try_as_plain_ram().map_err(inference_error)?;
        let view = plain.as_slice::<f32>().map_err(inference_error)?;
        if view.len() != self.dimension {
            return Err(EmbedError::InferenceError(format!(
                "output {:?} has {} values, expected {}",
                self.output.output,
                view.len(),
                self.dimension
            )));
        }
        if let Some(bad) = view.iter().find(|x| !x.is_finite()) {
            return Err(EmbedError::InferenceError(format!("output contains {bad}")));
        }
        let mut vector = view.to_vec();
        if self.output.l2_normalize {
            l2_normalize(&mut vector);
        }
        Ok(Embedding { vector, model: self.output.model.clone(), model_version: self.model_version.clone() })
    }
}

pub(crate) fn inference_error(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::InferenceError(format!("{e:#}"))
}

fn input_shape(input: &InputSpec) -> [usize; 4] {
    let (h, w) = (input.height as usize, input.width as usize);
    match input.layout {
        Layout::NHWC => [1, h, w, 3],
        Layout::NCHW => [1, 3, h, w],
    }
}

/// The model version (first 12 hex digits of the sha256) of `onnx`, checked against the
/// manifest's `expected` hash when there is one (unless the caller has just checked it).
pub(crate) fn model_version(onnx: &[u8], expected: Option<&str>, verify: bool) -> Result<String, EmbedError> {
    let expected = expected.map(str::to_ascii_lowercase);
    let digest = match (&expected, verify) {
        (Some(hex), false) => hex.clone(),
        _ => Sha256::digest(onnx).iter().map(|b| format!("{b:02x}")).collect(),
    };
    if let Some(expected) = expected.filter(|e| *e != digest) {
        return Err(EmbedError::ModelLoadError(format!(
            "the model bytes ({}) have sha256 {digest}, the manifest says {expected}; \
             the file is corrupt, truncated or another version",
            describe_start(onnx)
        )));
    }
    Ok(digest.chars().take(MODEL_VERSION_LEN).collect())
}

/// ONNX bytes → tract's model, before any input fact is set. The bytes are freed as soon as
/// they are decoded when given by value.
pub(crate) fn read_onnx(onnx: Cow<'_, [u8]>) -> Result<InferenceModel, EmbedError> {
    let start = describe_start(&onnx);
    let unreadable =
        |e: &dyn std::fmt::Display| EmbedError::ModelLoadError(format!("not a readable ONNX model ({start}): {e:#}"));
    // Decoded straight from the bytes: tract's own reader would copy the whole file first.
    let mut proto = tract_onnx::pb::ModelProto::decode(&onnx[..]).map_err(|e| unreadable(&e))?;
    drop(onnx);
    crate::stored_weights::widen_stored_weights(&mut proto);
    tract_onnx::onnx().model_for_proto_model(&proto).map_err(|e| unreadable(&e))
}

/// ONNX bytes → optimized plan with a fixed input shape and the one output asked for.
fn build_plan(
    onnx: Cow<'_, [u8]>,
    input: &InputSpec,
    output: &OutputSpec,
) -> Result<(Arc<TypedSimplePlan>, usize), EmbedError> {
    let load = |e: TractError| EmbedError::ModelLoadError(format!("{e:#}"));
    let mut model = read_onnx(onnx)?;
    if !input.name.is_empty() {
        model = model.with_input_names([input.name.as_str()]).map_err(load)?;
    }
    let fact = f32::fact(input_shape(input));
    model = model.with_input_fact(0, fact.into()).map_err(load)?;
    if !output.output.is_empty() {
        model.select_outputs_by_name([output.output.as_str()]).map_err(load)?;
    } else {
        let first = model.output_outlets().map_err(load)?[0];
        model.select_output_outlets(&[first]).map_err(load)?;
    }
    let mut typed = model.into_typed().map_err(load)?;
    // Straight to codegen, without tract's declutter passes: for FaceNet they are half the
    // plan build (natively 540 → 250 ms; in Chromium ~1.0 → ~0.5 s) and the plan they lead to is
    // no faster (natively 49.7–51.4 vs 47.0–48.2 ms per face, same vector to 1e-7).
    typed.optimize().map_err(load)?;
    let shape = typed.output_fact(0).map_err(load)?.shape.as_concrete().map(|s| s.iter().product::<usize>());
    let dimension = match (shape, output.dimension) {
        (Some(got), Some(want)) if got != want => {
            return Err(EmbedError::ModelLoadError(format!(
                "output {:?} has {got} values, the manifest says {want}",
                output.output
            )))
        }
        (Some(got), _) => got,
        (None, Some(want)) => want,
        (None, None) => {
            return Err(EmbedError::ModelLoadError(
                "output shape is not fixed; state its dimension in the manifest".into(),
            ))
        }
    };
    let plan = typed.into_runnable().map_err(load)?;
    Ok((plan, dimension))
}
