//! The log lines a person reads: one per request with its error type, one per stored vector,
//! one per assignment. In a test binary of its own: tracing's per-thread subscriber is not
//! reliable while other tests run on other threads of the same process.

use axum::body::Body;
use axum::http::Request;
use facenet_server::{app, AppState};
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn requests_vectors_and_assignments_are_logged() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).init();

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let dir = std::env::temp_dir().join(format!("facenet-server-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = AppState::open(&dir, Some("log-test-token"), &root).unwrap();
    let call = |method: &str, uri: &str, body: Vec<u8>, json: bool| {
        let mut request = Request::builder().method(method).uri(uri).header("authorization", "Bearer log-test-token");
        if json {
            request = request.header("content-type", "application/json");
        }
        app(state.clone()).oneshot(request.body(Body::from(body)).unwrap())
    };
    call("POST", "/api/attendance/sessions/", json!({"name": "L"}).to_string().into_bytes(), true).await.unwrap();
    let photo = json!({"filename": "p.jpg", "width": 10, "height": 10}).to_string().into_bytes();
    call("POST", "/api/attendance/sessions/1/photos/", photo, true).await.unwrap();
    let crop = std::fs::read(root.join("tests/faces/s1a.jpg")).unwrap();
    call("POST", "/api/attendance/sessions/1/face-crops/?photo_id=1", crop, false).await.unwrap();
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("tests/golden/golden.json")).unwrap()).unwrap();
    let vector = json!({"model_name": "facenet", "model_version": state.model_version, "embedding": golden["crops"]["s1a.jpg"]["facenet"]});
    call("POST", "/api/attendance/face-crops/1/embedding/", vector.to_string().into_bytes(), true).await.unwrap();
    let bad = json!({"model_name": "facenet", "model_version": "x", "embedding": [1.0]});
    call("POST", "/api/attendance/face-crops/1/embedding/", bad.to_string().into_bytes(), true).await.unwrap();
    call("POST", "/api/attendance/sessions/1/assignments/", b"{}".to_vec(), true).await.unwrap();

    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for line in [
        "POST /api/attendance/sessions/1/photos/ → 201",
        "crop 1: facenet 128-d embedding stored",
        "POST /api/attendance/face-crops/1/embedding/ → 422 InvalidEmbedding",
        "session 1: 1 crops, 0 assigned, 0 unsure, 1 unknown in 1 clusters",
    ] {
        assert!(log.contains(line), "no line {line:?} in:\n{log}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
