//! Native benchmark: tract (this crate) against onnxruntime on the same ONNX file, same crops,
//! same run. `cargo bench --workspace --profile release --bench native` (add `-- --runs 100` for more
//! samples; the tests' profile and features, so no second tract build).
//!
//! onnxruntime runs through Python (`tools/bench_ort.py`, interpreter from `FACENET_PYTHON`,
//! default `python3`) with 1 and with 2 intra-op threads; tract runs on 1 thread.

use facenet_wasm::{decode_image, Embedder, Limits, Manifest};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn median_p95(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[(ms.len() - 1) * 95 / 100])
}

fn time_ms(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e3
}

fn onnxruntime(
    repo: &Path,
    model: &Path,
    threads: usize,
    runs: usize,
    images: &[PathBuf],
) -> Result<serde_json::Value, String> {
    let python = std::env::var("FACENET_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(repo.join("tools/bench_ort.py"))
        .arg(model)
        .arg(threads.to_string())
        .arg(runs.to_string())
        .args(images)
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(stderr.lines().last().unwrap_or("failed").to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model_path = repo.join("models/facenet.onnx");
    let onnx = std::fs::read(&model_path).expect("models/facenet.onnx");
    // The crops only: the folder also holds its README.
    let mut images: Vec<PathBuf> = std::fs::read_dir(repo.join("tests/faces"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    images.sort();
    let bytes: Vec<Vec<u8>> = images.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let pixels: Vec<_> = bytes.iter().map(|b| decode_image(b, &Limits::default()).unwrap()).collect();

    let mut builds = Vec::new();
    let mut embedder = None;
    for _ in 0..3 {
        builds.push(time_ms(|| embedder = Some(Embedder::builder(&onnx, Manifest::facenet()).build().unwrap())));
    }
    let mut embedder = embedder.unwrap();
    for p in pixels.iter().take(5) {
        embedder.embed_rgb(p).unwrap();
    }
    let infer: Vec<f64> =
        (0..runs).map(|i| time_ms(|| drop(embedder.embed_rgb(&pixels[i % pixels.len()]).unwrap()))).collect();
    let full: Vec<f64> =
        (0..runs).map(|i| time_ms(|| drop(embedder.embed_image(&bytes[i % bytes.len()]).unwrap()))).collect();
    let (build, _) = median_p95(builds);
    let (infer_med, infer_p95) = median_p95(infer);
    let (full_med, full_p95) = median_p95(full);

    println!(
        "native benchmark: {} crops, {runs} timed runs each after 5 warm-up, model {} ({:.1} MB)",
        images.len(),
        model_path.display(),
        onnx.len() as f64 / 1e6
    );
    println!("| engine | build | median | p95 | tract time ÷ this time |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!("| tract-onnx 0.23.9, 1 thread: inference (pixels decoded beforehand) | {build:.0} ms | {infer_med:.1} ms | {infer_p95:.1} ms | 1.00 |");
    println!(
        "| tract-onnx 0.23.9, 1 thread: decode + preprocess + inference | | {full_med:.1} ms | {full_p95:.1} ms | |"
    );
    let mut report = serde_json::json!({
        "crops": images.len(), "runs": runs,
        "tract": {"build_ms": build, "inference_median_ms": infer_med, "inference_p95_ms": infer_p95,
                  "full_median_ms": full_med, "full_p95_ms": full_p95},
        "onnxruntime": [],
    });
    for threads in [1, 2] {
        match onnxruntime(&repo, &model_path, threads, runs, &images) {
            Ok(ort) => {
                let med = ort["median_ms"].as_f64().unwrap();
                println!(
                    "| {} | {:.0} ms | {med:.1} ms | {:.1} ms | {:.2} |",
                    ort["engine"].as_str().unwrap(),
                    ort["build_s"].as_f64().unwrap() * 1e3,
                    ort["p95_ms"].as_f64().unwrap(),
                    infer_med / med
                );
                report["onnxruntime"].as_array_mut().unwrap().push(ort);
            }
            Err(e) => println!("| onnxruntime, {threads} thread(s): skipped ({e}; set FACENET_PYTHON to a Python with onnxruntime) | | | | |"),
        }
    }
    let out = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join("target"))
        .join("bench-native.json");
    if std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).is_ok() {
        println!("(also written to {})", out.display());
    }
}
