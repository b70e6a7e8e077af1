//! `facenet-embed`: embed face crops, or find and embed the faces of photos, from the command
//! line; one JSON object per image per line.
//!
//! ```text
//! facenet-embed [--model facenet|facenet512|FILE.onnx] [--output FILE] IMAGE...
//! {"status":"success","file":"a.jpg","embedding_model":"facenet","embedding_dimension":128,"embedding":[...],"elapsed_ms":12.3}
//! {"status":"error","file":"b.jpg","error_type":"DecodeError","message":"..."}
//! facenet-embed --detect [--max-side PX] [--min-score S] [--crops DIR] PHOTO...
//! {"status":"success","file":"p.jpg","width":1920,"height":1280,"faces":[{"box":{"x":..,"y":..,"width":..,"height":..},
//!  "score":0.99,"landmarks":[[x,y],...],"embedding_model":"facenet","embedding_dimension":128,"embedding":[...]}],"elapsed_ms":480.1}
//! ```
//! Exit status: 0 when every image succeeded, 1 when any failed, 2 on bad usage.

use clap::Parser;
use facenet_wasm::{
    align_face, decode_image, encode_jpeg, Alignment, Detector, DetectorManifest, DetectorOptions, EmbedError,
    Embedder, ErrorCode, Face, Manifest,
};
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Where `facenet.onnx` and `facenet.json` live when neither `--models-dir` nor
/// `FACENET_MODELS_DIR` says otherwise: the repository's `models/`.
const DEFAULT_MODELS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models");

#[derive(Parser)]
#[command(
    name = "facenet-embed",
    version,
    about = "Embed face crops with FaceNet, or (--detect) find, align and embed every face of photos; \
             prints one JSON line per image, in input order.",
    after_help = "Exit status: 0 all succeeded, 1 any image failed, 2 bad usage.\n\
                  Examples: facenet-embed --model facenet512 tests/faces/s1a.jpg\n          \
                  facenet-embed --detect --crops crops/ classroom.jpg"
)]
struct Args {
    /// `facenet` (128-d), `facenet512` (512-d), or an .onnx file (its manifest FILE.json is
    /// read when present; otherwise FaceNet's input conventions are assumed)
    #[arg(long, default_value = "facenet")]
    model: String,
    /// Write the JSON lines to this file instead of standard output
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Folder holding facenet.onnx, retinaface.onnx and their manifests
    #[arg(long, env = "FACENET_MODELS_DIR", default_value = DEFAULT_MODELS_DIR)]
    models_dir: PathBuf,
    /// The images are photos: find every face (RetinaFace), align it and embed it
    #[arg(long)]
    detect: bool,
    /// With --detect: photos with a longer side are scaled down to it first (faces of ~20 px
    /// and more are found at that scale)
    #[arg(long, value_name = "PX", default_value_t = 3200, requires = "detect")]
    max_side: u32,
    /// With --detect: lowest face score kept
    #[arg(long, value_name = "S", default_value_t = 0.6, requires = "detect")]
    min_score: f32,
    /// With --detect: write each aligned crop as DIR/<image stem>_<face index>.jpg
    #[arg(long, value_name = "DIR", requires = "detect")]
    crops: Option<PathBuf>,
    /// Face crops (or photos with --detect): JPEG, PNG, WebP, BMP or GIF
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

/// One face of a photo, as printed with --detect.
#[derive(Serialize)]
struct FaceLine {
    #[serde(flatten)]
    face: Face,
    embedding_model: String,
    embedding_dimension: usize,
    embedding: Vec<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crop: Option<String>,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Line<'a> {
    Success {
        file: &'a str,
        embedding_model: String,
        embedding_dimension: usize,
        embedding: Vec<f32>,
        elapsed_ms: f64,
    },
    #[serde(rename = "success")]
    Faces {
        file: &'a str,
        width: u32,
        height: u32,
        faces: Vec<FaceLine>,
        elapsed_ms: f64,
    },
    Error {
        file: &'a str,
        error_type: ErrorCode,
        message: String,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let load_start = Instant::now();
    let loaded = load_embedder(&args);
    let load_seconds = load_start.elapsed().as_secs_f64();
    if let Err(EmbedError::UnknownModel { .. }) = &loaded {
        eprintln!("facenet-embed: {}", loaded.unwrap_err());
        return ExitCode::from(2);
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(BufWriter::new(f)),
            Err(e) => {
                eprintln!("facenet-embed: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let (mut ok, mut failed, mut faces_found) = (0usize, 0usize, 0usize);
    let mut embedder = loaded;
    let mut detector = if args.detect { Some(load_detector(&args)) } else { None };
    if let Some(dir) = &args.crops {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("facenet-embed: cannot create {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    for path in &args.images {
        let file = path.to_string_lossy();
        let start = Instant::now();
        let line = match (&mut embedder, &mut detector) {
            (Err(e), _) | (_, Some(Err(e))) => Err(e.clone()),
            (Ok(embedder), None) => read_image(path).and_then(|bytes| embedder.embed_image(&bytes)).map(|e| {
                let elapsed_ms = elapsed(start);
                Line::Success {
                    file: &file,
                    embedding_dimension: e.vector.len(),
                    embedding_model: e.model,
                    embedding: e.vector,
                    elapsed_ms,
                }
            }),
            (Ok(embedder), Some(Ok(detector))) => {
                faces_of_photo(path, detector, embedder, args.crops.as_deref()).map(|(width, height, faces)| {
                    faces_found += faces.len();
                    Line::Faces { file: &file, width, height, faces, elapsed_ms: elapsed(start) }
                })
            }
        };
        let line = match line {
            Ok(line) => {
                ok += 1;
                line
            }
            Err(e) => {
                failed += 1;
                Line::Error { file: &file, error_type: e.code(), message: e.to_string() }
            }
        };
        // Line by line, so a reader of a long run sees progress.
        let written = serde_json::to_writer(&mut out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            eprintln!("facenet-embed: cannot write output: {e}");
            return ExitCode::from(1);
        }
    }
    let done = if args.detect { format!("{ok} photos, {faces_found} faces") } else { format!("{ok} embedded") };
    match (&embedder, &detector) {
        (Err(e), _) | (_, Some(Err(e))) => eprintln!("facenet-embed: {e}"),
        (Ok(e), _) => eprintln!(
            "facenet-embed: {done}, {failed} failed; model {} ({}-d, version {}) loaded in {load_seconds:.2} s",
            e.model_name(),
            e.dimension(),
            e.model_version()
        ),
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn elapsed(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1e4).round() / 10.0
}

/// Decodes a photo, finds its faces, aligns and embeds each (and writes its crop).
fn faces_of_photo(
    path: &Path,
    detector: &mut Detector,
    embedder: &mut Embedder,
    crops: Option<&Path>,
) -> Result<(u32, u32, Vec<FaceLine>), EmbedError> {
    let photo = decode_image(&read_image(path)?, detector.limits())?;
    let (width, height) = embedder.input_size();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut lines = Vec::new();
    for (index, face) in detector.detect_rgb(&photo)?.into_iter().enumerate() {
        let crop = align_face(&photo, &face, Alignment::FivePoint, width, height).ok_or_else(|| {
            EmbedError::InferenceError(format!("face {index}: its landmarks have no extent; cannot align"))
        })?;
        let embedding = embedder.embed_rgb(&crop)?;
        let crop = match crops {
            Some(dir) => {
                let target = dir.join(format!("{stem}_{index}.jpg"));
                std::fs::write(&target, encode_jpeg(&crop, 92)?)
                    .map_err(|e| EmbedError::InvalidInput(format!("cannot write {}: {e}", target.display())))?;
                Some(target.to_string_lossy().into_owned())
            }
            None => None,
        };
        lines.push(FaceLine {
            face,
            embedding_dimension: embedding.vector.len(),
            embedding_model: embedding.model,
            embedding: embedding.vector,
            crop,
        });
    }
    Ok((photo.width(), photo.height(), lines))
}

fn load_detector(args: &Args) -> Result<Detector, EmbedError> {
    let manifest = DetectorManifest::from_json(&read_text(&args.models_dir.join("retinaface.json"))?)?;
    let onnx_path = args.models_dir.join(&manifest.file);
    let onnx = std::fs::read(&onnx_path)
        .map_err(|e| EmbedError::ModelLoadError(format!("cannot read {}: {e}", onnx_path.display())))?;
    let options = DetectorOptions::for_manifest(&manifest).max_side(args.max_side).min_score(args.min_score);
    Detector::builder(onnx, manifest).options(options).build()
}

fn load_embedder(args: &Args) -> Result<Embedder, EmbedError> {
    let custom = Path::new(&args.model);
    let (onnx_path, manifest, name) = if args.model.ends_with(".onnx") || custom.is_file() {
        let manifest_path = custom.with_extension("json");
        let manifest = if manifest_path.is_file() {
            Manifest::from_json(&read_text(&manifest_path)?)?
        } else {
            let stem = custom.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Manifest::facenet_like(&args.model, &stem)
        };
        (custom.to_path_buf(), manifest, None)
    } else {
        let manifest = Manifest::from_json(&read_text(&args.models_dir.join("facenet.json"))?)?;
        manifest.output(&args.model)?;
        (args.models_dir.join(&manifest.file), manifest, Some(args.model.as_str()))
    };
    let onnx = std::fs::read(&onnx_path)
        .map_err(|e| EmbedError::ModelLoadError(format!("cannot read {}: {e}", onnx_path.display())))?;
    let builder = Embedder::builder(&onnx, manifest);
    match name {
        Some(name) => builder.model(name).build(),
        None => builder.build(),
    }
}

fn read_text(path: &Path) -> Result<String, EmbedError> {
    std::fs::read_to_string(path)
        .map_err(|e| EmbedError::ModelLoadError(format!("cannot read {}: {e}", path.display())))
}

fn read_image(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|e| EmbedError::InvalidInput(format!("cannot read {}: {e}", path.display())))
}
