//! Harness of facenet-server's JSON bodies: any bytes to any call that reads JSON, through the
//! whole router and a real SQLite file. A malformed body is the caller's error (4xx, JSON);
//! a 5xx or a panic is a bug.

use axum::body::Body;
use axum::http::Request;
use facenet_server::{app, AppState, API_BASE};
use http_body_util::BodyExt;
use std::path::Path;
use tower::ServiceExt;

/// The calls that read a JSON body, `{id}` = 1 (a session and crops exist).
const CALLS: [(&str, &str); 6] = [
    ("POST", "/sessions/"),
    ("POST", "/sessions/1/photos/"),
    ("POST", "/sessions/1/assignments/"),
    ("POST", "/face-crops/1/embedding/"),
    ("POST", "/face-crops/embeddings-batch/"),
    ("POST", "/people/"),
];

const TOKEN: &str = "fuzzing-token";

/// A server over a fresh database in `data_dir`, with one session and two crops.
pub struct ApiHarness {
    runtime: tokio::runtime::Runtime,
    state: AppState,
}

impl ApiHarness {
    /// `repo` is the checkout (for models/facenet.json and a test crop).
    pub fn new(repo: &Path, data_dir: &Path) -> ApiHarness {
        let _ = std::fs::remove_dir_all(data_dir);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let state = AppState::open(data_dir, Some(TOKEN), repo).expect("a database");
        let harness = ApiHarness { runtime, state };
        let crop = std::fs::read(repo.join("tests/faces/s1a.jpg")).expect("a test crop");
        assert_eq!(harness.call("POST", "/sessions/", br#"{"name":"fuzz"}"#.to_vec(), "application/json").0, 201);
        for _ in 0..2 {
            assert_eq!(harness.call("POST", "/sessions/1/face-crops/", crop.clone(), "image/jpeg").0, 201);
        }
        harness
    }

    fn call(&self, method: &str, path: &str, body: Vec<u8>, content_type: &str) -> (u16, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(format!("{API_BASE}{path}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", content_type)
            .body(Body::from(body))
            .expect("a request");
        self.runtime.block_on(async {
            let response = app(self.state.clone()).oneshot(request).await.expect("infallible");
            let status = response.status().as_u16();
            (status, response.into_body().collect().await.expect("a body").to_bytes().to_vec())
        })
    }

    /// The first byte picks the call, the rest is its body.
    pub fn run(&self, data: &[u8]) {
        let Some((&pick, body)) = data.split_first() else { return };
        let (method, path) = CALLS[usize::from(pick) % CALLS.len()];
        let (status, answer) = self.call(method, path, body.to_vec(), "application/json");
        assert!(
            status < 500,
            "{method} {path} with {:?} → {status} {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&answer)
        );
        if status >= 400 {
            let error: serde_json::Value = serde_json::from_slice(&answer).expect("an error answer is JSON");
            assert!(error["status"] == "error" && error["error_type"].is_string(), "{error}");
        }
    }
}
