//! The `facenet-embed` contract of the README ("The CLI"), run as a user runs it.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path).to_string_lossy().into_owned()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facenet-embed")).args(args).output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn vector(line: &Value) -> Vec<f64> {
    line["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f64>().sqrt() * b.iter().map(|x| x * x).sum::<f64>().sqrt())
}

fn golden(file: &str, model: &str) -> Vec<f64> {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("tests/golden/golden.json")).unwrap()).unwrap();
    json["crops"][file][model].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn a_face_gives_a_128_d_unit_vector_by_default() {
    let face = repo("tests/faces/s1a.jpg");
    let out = run(&[&face]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = lines(&out);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["status"], "success");
    assert_eq!(line["file"], face.as_str());
    assert_eq!(line["embedding_model"], "facenet");
    assert_eq!(line["embedding_dimension"], 128);
    let v = vector(line);
    assert_eq!(v.len(), 128);
    assert!((v.iter().map(|x| x * x).sum::<f64>().sqrt() - 1.0).abs() < 1e-5);
    assert!(line["elapsed_ms"].as_f64().unwrap() > 0.0);
    assert!(cosine(&v, &golden("s1a.jpg", "facenet")) >= 0.999);
}

#[test]
fn facenet512_is_within_0_999_of_onnxruntime_f32() {
    let files = ["s2a.jpg", "s5c.jpg", "s6d-shifted.jpg"];
    let paths: Vec<String> = files.iter().map(|f| repo(&format!("tests/faces/{f}"))).collect();
    let args: Vec<&str> = ["--model", "facenet512"].into_iter().chain(paths.iter().map(String::as_str)).collect();
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    for (line, file) in lines(&out).iter().zip(files) {
        assert_eq!(line["embedding_dimension"], 512);
        let c = cosine(&vector(line), &golden(file, "facenet512"));
        assert!(c >= 0.999, "{file}: {c}");
    }
}

#[test]
fn a_corrupt_file_prints_a_decode_error_line_in_order_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("facenet-embed-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let corrupt = dir.join("corrupt.jpg");
    let jpeg = std::fs::read(repo("tests/faces/s1a.jpg")).unwrap();
    std::fs::write(&corrupt, &jpeg[..jpeg.len() / 3]).unwrap();
    let (good, bad) = (repo("tests/faces/s2a.jpg"), corrupt.to_string_lossy().into_owned());
    let missing = dir.join("missing.png").to_string_lossy().into_owned();
    let out = run(&[&good, &bad, &missing, &good]);
    assert_eq!(out.status.code(), Some(1));
    let lines = lines(&out);
    let summary: Vec<(&str, &str)> =
        lines.iter().map(|l| (l["file"].as_str().unwrap(), l["error_type"].as_str().unwrap_or("-"))).collect();
    assert_eq!(
        summary,
        [(good.as_str(), "-"), (bad.as_str(), "DecodeError"), (missing.as_str(), "InvalidInput"), (good.as_str(), "-")]
    );
    assert_eq!(lines[1]["status"], "error");
    assert!(lines[1]["message"].as_str().unwrap().contains("JPEG"));
    assert_eq!(lines[0]["embedding"], lines[3]["embedding"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn output_goes_to_a_file_with_output() {
    let path = std::env::temp_dir().join(format!("facenet-embed-out-{}.jsonl", std::process::id()));
    let out = run(&["--output", path.to_str().unwrap(), &repo("tests/faces/s3a.jpg")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    let line: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["embedding_dimension"], 128);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(run(&[]).status.code(), Some(2), "no images");
    assert_eq!(run(&["--frobnicate", "a.jpg"]).status.code(), Some(2), "unknown flag");
    let out = run(&["--model", "arcface", &repo("tests/faces/s1a.jpg")]);
    assert_eq!(out.status.code(), Some(2), "unknown model");
    assert!(String::from_utf8_lossy(&out.stderr).contains("facenet, facenet512"));
}

#[test]
fn a_missing_model_fails_every_image_with_model_load_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_facenet-embed"))
        .env("FACENET_MODELS_DIR", std::env::temp_dir().join("no-such-models-dir"))
        .args([repo("tests/faces/s1a.jpg"), repo("tests/faces/s2a.jpg")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["error_type"] == "ModelLoadError"));
}

#[test]
fn a_custom_onnx_file_runs_with_its_manifest_or_without() {
    // With a manifest beside it (tests/models/channel-mean.json): its own name and dimension.
    let out = run(&["--model", &repo("tests/models/channel-mean.onnx"), &repo("tests/faces/s1a.jpg")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines(&out)[0]["embedding_model"], "channel-mean");
    assert_eq!(lines(&out)[0]["embedding_dimension"], 3);
    // Without one: FaceNet's conventions, named after the file.
    let out = run(&["--model", &repo("tests/models/facenet-like.onnx"), &repo("tests/faces/s1a.jpg")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines(&out)[0]["embedding_model"], "facenet-like");
}

#[test]
fn detect_finds_aligns_and_embeds_every_face_and_writes_the_crops() {
    let dir = std::env::temp_dir().join(format!("facenet-embed-detect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let corrupt = dir.join("corrupt.jpg");
    std::fs::create_dir_all(&dir).unwrap();
    let jpeg = std::fs::read(repo("tests/photos/sample5.jpg")).unwrap();
    std::fs::write(&corrupt, &jpeg[..jpeg.len() / 2]).unwrap();
    let crops = dir.join("crops");
    let (photo, bad) = (repo("tests/photos/sample5.jpg"), corrupt.to_string_lossy().into_owned());
    let out = run(&["--detect", "--crops", &crops.to_string_lossy(), &photo, &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = lines(&out);
    assert_eq!(lines.len(), 2);
    let (ok, failed) = (&lines[0], &lines[1]);
    assert_eq!(
        (ok["status"].as_str(), ok["width"].as_u64(), ok["height"].as_u64()),
        (Some("success"), Some(1920), Some(1398))
    );
    let faces = ok["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 5);
    for (i, face) in faces.iter().enumerate() {
        assert!(face["box"]["width"].as_f64().unwrap() > 100.0);
        assert!(face["score"].as_f64().unwrap() > 0.9);
        assert_eq!(face["landmarks"].as_array().unwrap().len(), 5);
        assert_eq!(
            (face["embedding_model"].as_str(), face["embedding_dimension"].as_u64()),
            (Some("facenet"), Some(128))
        );
        assert_eq!(vector(face).len(), 128);
        let crop = crops.join(format!("sample5_{i}.jpg"));
        assert_eq!(face["crop"].as_str(), Some(crop.to_string_lossy().as_ref()));
        let bytes = std::fs::read(&crop).unwrap();
        assert_eq!(&bytes[..2], &[0xff, 0xd8], "{} is a JPEG", crop.display());
    }
    assert_eq!((failed["status"].as_str(), failed["error_type"].as_str()), (Some("error"), Some("DecodeError")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 photos, 5 faces, 1 failed"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn detect_on_a_photo_without_faces_succeeds_with_no_faces() {
    let dir = std::env::temp_dir().join(format!("facenet-embed-noface-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bmp = dir.join("gray.bmp");
    std::fs::write(&bmp, gray_bmp(64)).unwrap();
    let out = run(&["--detect", &bmp.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let line = &lines(&out)[0];
    assert_eq!((line["status"].as_str(), line["faces"].as_array().map(Vec::len)), (Some("success"), Some(0)));
    // Detection options without --detect are usage errors.
    assert_eq!(run(&["--max-side", "640", &bmp.to_string_lossy()]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `side`×`side` 24-bit gray BMP, written by hand (the CLI's tests do not link an encoder):
/// a 54-byte header, then bottom-up rows of BGR triplets padded to 4 bytes.
fn gray_bmp(side: u32) -> Vec<u8> {
    let row = (side * 3).div_ceil(4) * 4;
    let size = 54 + row * side;
    let mut b = Vec::with_capacity(size as usize);
    b.extend_from_slice(b"BM");
    for v in [size, 0, 54, 40, side, side] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&1u16.to_le_bytes()); // planes
    b.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
    for v in [0u32, row * side, 2835, 2835, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.resize(size as usize, 128);
    b
}
