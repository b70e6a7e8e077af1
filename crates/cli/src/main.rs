//! `facenet-embed`: embed face crops from the command line, one JSON object per image per line.
//!
//! ```text
//! facenet-embed [--model facenet|facenet512|FILE.onnx] [--output FILE] IMAGE...
//! {"status":"success","file":"a.jpg","embedding_model":"facenet","embedding_dimension":128,"embedding":[...],"elapsed_ms":12.3}
//! {"status":"error","file":"b.jpg","error_type":"DecodeError","message":"..."}
//! ```
//! Exit status: 0 when every image succeeded, 1 when any failed, 2 on bad usage.

use clap::Parser;
use facenet_wasm::{EmbedError, Embedder, ErrorCode, Manifest};
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
    about = "Embed face crops with FaceNet; prints one JSON line per image, in input order.",
    after_help = "Exit status: 0 all succeeded, 1 any image failed, 2 bad usage.\n\
                  Example: facenet-embed --model facenet512 tests/faces/s1a.jpg"
)]
struct Args {
    /// `facenet` (128-d), `facenet512` (512-d), or an .onnx file (its manifest FILE.json is
    /// read when present; otherwise FaceNet's input conventions are assumed)
    #[arg(long, default_value = "facenet")]
    model: String,
    /// Write the JSON lines to this file instead of standard output
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Folder holding facenet.onnx and facenet.json
    #[arg(long, env = "FACENET_MODELS_DIR", default_value = DEFAULT_MODELS_DIR)]
    models_dir: PathBuf,
    /// Face crops: JPEG, PNG, WebP, BMP or GIF
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Line<'a> {
    Success {
        file: &'a str,
        embedding_model: &'a str,
        embedding_dimension: usize,
        embedding: &'a [f32],
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
    let (mut ok, mut failed) = (0usize, 0usize);
    let mut embedder = loaded;
    for path in &args.images {
        let file = path.to_string_lossy();
        let start = Instant::now();
        let result = match &mut embedder {
            Ok(embedder) => read_image(path).and_then(|bytes| embedder.embed_image(&bytes)),
            Err(e) => Err(e.clone()),
        };
        let elapsed_ms = (start.elapsed().as_secs_f64() * 1e4).round() / 10.0;
        let line = match &result {
            Ok(e) => {
                ok += 1;
                Line::Success {
                    file: &file,
                    embedding_model: &e.model,
                    embedding_dimension: e.vector.len(),
                    embedding: &e.vector,
                    elapsed_ms,
                }
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
    match &embedder {
        Ok(e) => eprintln!(
            "facenet-embed: {ok} embedded, {failed} failed; model {} ({}-d, version {}) loaded in {load_seconds:.2} s",
            e.model_name(),
            e.dimension(),
            e.model_version()
        ),
        Err(e) => eprintln!("facenet-embed: {e}"),
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
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
