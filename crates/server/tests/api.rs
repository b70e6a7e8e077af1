//! Every endpoint, error type, auth refusal and idempotency rule, against a real SQLite file.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use facenet_server::{app, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::PathBuf;
use tower::ServiceExt;

const TOKEN: &str = "test-token";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A fresh data directory per test.
fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facenet-server-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Api {
    state: AppState,
}

impl Api {
    fn open(dir: &std::path::Path) -> Api {
        Api { state: AppState::open(dir, TOKEN, &root()).unwrap() }
    }

    async fn raw(&self, method: &str, uri: &str, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = app(self.state.clone()).oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    async fn call(&self, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let (status, out) = self.raw(method, uri, Some(TOKEN), bytes).await;
        (status, serde_json::from_slice(&out).unwrap_or(Value::Null))
    }

    async fn session(&self) -> i64 {
        self.call("POST", "/api/attendance/sessions/", json!({"name": "Monday 9:00"})).await.1["id"].as_i64().unwrap()
    }

    async fn upload(&self, session: i64, face: &str) -> i64 {
        let bytes = std::fs::read(root().join(format!("tests/faces/{face}.jpg"))).unwrap();
        let (status, out) = self
            .raw(
                "POST",
                &format!("/api/attendance/sessions/{session}/face-crops/?filename={face}.jpg"),
                Some(TOKEN),
                bytes,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        serde_json::from_slice::<Value>(&out).unwrap()["crop_id"].as_i64().unwrap()
    }

    fn version(&self) -> String {
        self.state.model_version.clone()
    }
}

fn golden(face: &str) -> Value {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/golden/golden.json")).unwrap()).unwrap();
    json["crops"][format!("{face}.jpg")]["facenet"].clone()
}

fn assert_error(out: &(StatusCode, Value), status: StatusCode, error_type: &str) {
    assert_eq!(out.0, status, "{}", out.1);
    assert_eq!(out.1["status"], "error");
    assert_eq!(out.1["error_type"], error_type, "{}", out.1);
    assert!(out.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn every_api_call_needs_the_token() {
    let api = Api::open(&data_dir("auth"));
    for token in [None, Some("wrong")] {
        let (status, body) = api.raw("GET", "/api/attendance/sessions/", token, Vec::new()).await;
        let out = (status, serde_json::from_slice(&body).unwrap());
        assert_error(&out, StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    // The page and its files need none.
    let (status, _) = api.raw("GET", "/www/facenet.js", None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sessions_and_crops_round_trip() {
    let api = Api::open(&data_dir("crops"));
    let session = api.session().await;
    let crop = api.upload(session, "s1a").await;
    let (status, list) = api.call("GET", &format!("/api/attendance/sessions/{session}/face-crops/"), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["id"], crop);
    assert_eq!((list[0]["filename"].as_str(), list[0]["width"].as_i64()), (Some("s1a.jpg"), Some(256)));
    let (_, sessions) = api.call("GET", "/api/attendance/sessions/", Value::Null).await;
    assert_eq!(sessions[0]["crops"], 1);
    let (status, bytes) =
        api.raw("GET", &format!("/api/attendance/face-crops/{crop}/image/"), Some(TOKEN), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, std::fs::read(root().join("tests/faces/s1a.jpg")).unwrap());
}

#[tokio::test]
async fn bad_requests_get_typed_errors() {
    let api = Api::open(&data_dir("errors"));
    let session = api.session().await;
    assert_error(
        &api.call("POST", "/api/attendance/sessions/", json!({"name": " "})).await,
        StatusCode::BAD_REQUEST,
        "InvalidRequest",
    );
    let (status, body) = api.raw("POST", "/api/attendance/sessions/", Some(TOKEN), b"{not json".to_vec()).await;
    assert_error(&(status, serde_json::from_slice(&body).unwrap()), StatusCode::BAD_REQUEST, "InvalidRequest");
    assert_error(
        &api.call("GET", "/api/attendance/sessions/999/face-crops/", Value::Null).await,
        StatusCode::NOT_FOUND,
        "NotFound",
    );
    assert_error(
        &api.call("GET", "/api/attendance/face-crops/999/image/", Value::Null).await,
        StatusCode::NOT_FOUND,
        "CropNotFound",
    );
    let upload_url = format!("/api/attendance/sessions/{session}/face-crops/");
    let upload = |bytes: Vec<u8>| api.raw("POST", &upload_url, Some(TOKEN), bytes);
    let (status, body) = upload(b"<!DOCTYPE html>".to_vec()).await;
    assert_error(
        &(status, serde_json::from_slice(&body).unwrap()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "UnsupportedFormat",
    );
    let jpeg = std::fs::read(root().join("tests/faces/s2a.jpg")).unwrap();
    let (status, body) = upload(jpeg[..jpeg.len() / 2].to_vec()).await;
    assert_error(&(status, serde_json::from_slice(&body).unwrap()), StatusCode::UNPROCESSABLE_ENTITY, "DecodeError");
    let (_, list) = api.call("GET", &format!("/api/attendance/sessions/{session}/face-crops/"), Value::Null).await;
    assert_eq!(list, json!([]), "nothing bad was stored");
}

#[tokio::test]
async fn embeddings_are_validated_stored_once_and_replaced_only_when_forced() {
    let api = Api::open(&data_dir("embeddings"));
    let session = api.session().await;
    let crop = api.upload(session, "s1a").await;
    let url = format!("/api/attendance/face-crops/{crop}/embedding/");
    let post = |embedding: Value, extra: Value| {
        let mut body = json!({"model_name": "facenet", "model_version": api.version(), "embedding": embedding});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        api.call("POST", &url, body)
    };
    let v = golden("s1a");
    let (status, out) = post(v.clone(), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        out,
        json!({"status": "success", "crop_id": crop, "embedding_model": "facenet", "embedding_dimension": 128, "message": "embedding stored"})
    );
    assert_eq!(post(v.clone(), json!({})).await.1["message"], "embedding already stored (unchanged)");
    let other = golden("s2a");
    assert_error(&post(other.clone(), json!({})).await, StatusCode::CONFLICT, "EmbeddingExists");
    assert_eq!(post(other.clone(), json!({"force_regenerate": true})).await.1["message"], "embedding replaced");

    let short: Vec<f64> = vec![1.0];
    let doubled: Vec<f64> = other.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() * 2.0).collect();
    assert_error(&post(json!(short), json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "InvalidEmbedding");
    assert_error(&post(json!(doubled), json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "InvalidEmbedding");
    assert_error(
        &post(v.clone(), json!({"model_version": "000000000000"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "InvalidEmbedding",
    );
    assert_error(
        &post(v.clone(), json!({"model_name": "arcface"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "InvalidEmbedding",
    );
    // JSON has no NaN or infinity; a number out of f64's range is a malformed body.
    let (status, body) = api
        .raw(
            "POST",
            &url,
            Some(TOKEN),
            format!("{{\"model_name\":\"facenet\",\"model_version\":\"{}\",\"embedding\":[1e999]}}", api.version())
                .into_bytes(),
        )
        .await;
    assert_error(&(status, serde_json::from_slice(&body).unwrap()), StatusCode::BAD_REQUEST, "InvalidRequest");
    let missing = api
        .call(
            "POST",
            "/api/attendance/face-crops/999/embedding/",
            json!({"model_name": "facenet", "model_version": api.version(), "embedding": v}),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "CropNotFound");

    let stored = api.state.model_version.clone();
    drop(api);
    // Rows survive a restart: a new state over the same file.
    let api = Api::open(&data_dir_keep("embeddings"));
    let (_, list) = api.call("GET", &format!("/api/attendance/sessions/{session}/face-crops/"), Value::Null).await;
    assert_eq!(list[0]["embeddings"], json!(["facenet"]));
    assert_eq!(api.version(), stored);
}

/// The same directory as [`data_dir`], without wiping it.
fn data_dir_keep(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("facenet-server-test-{}-{name}", std::process::id()))
}

#[tokio::test]
async fn a_batch_answers_per_item() {
    let api = Api::open(&data_dir("batch"));
    let session = api.session().await;
    let (a, b) = (api.upload(session, "s1a").await, api.upload(session, "s2a").await);
    let body = json!({"model_name": "facenet", "model_version": api.version(), "items": [
        {"crop_id": a, "embedding": golden("s1a")},
        {"crop_id": 999, "embedding": golden("s1a")},
        {"crop_id": b, "embedding": [0.5, 0.5]},
        {"crop_id": b, "embedding": golden("s2a")},
    ]});
    let (status, out) = api.call("POST", "/api/attendance/face-crops/embeddings-batch/", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (out["status"].as_str(), out["stored"].as_i64(), out["failed"].as_i64()),
        (Some("partial"), Some(2), Some(2))
    );
    let kinds: Vec<&str> =
        out["results"].as_array().unwrap().iter().map(|r| r["error_type"].as_str().unwrap_or("ok")).collect();
    assert_eq!(kinds, ["ok", "CropNotFound", "InvalidEmbedding", "ok"]);
}

#[tokio::test]
async fn enrolled_people_are_assigned_and_the_rest_clustered() {
    let api = Api::open(&data_dir("assign"));
    let session = api.session().await;
    let mut ids = std::collections::HashMap::new();
    for face in ["s1a", "s1a-shifted", "s2a", "s2a-shifted", "s3a"] {
        let crop = api.upload(session, face).await;
        let body = json!({"model_name": "facenet", "model_version": api.version(), "embedding": golden(face)});
        assert_eq!(
            api.call("POST", &format!("/api/attendance/face-crops/{crop}/embedding/"), body).await.0,
            StatusCode::OK
        );
        ids.insert(face, crop);
    }
    let not_embedded = api.upload(session, "s4a").await;
    let (status, person) =
        api.call("POST", "/api/attendance/people/", json!({"name": "Ana", "crop_ids": [ids["s1a"]]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &api.call("POST", "/api/attendance/people/", json!({"name": "Bo", "crop_ids": [999]})).await,
        StatusCode::NOT_FOUND,
        "CropNotFound",
    );
    let (_, people) = api.call("GET", "/api/attendance/people/", Value::Null).await;
    assert_eq!(people, json!([{"id": person["person_id"], "name": "Ana", "crops": 1}]), "Bo was rolled back");

    let (status, out) = api.call("POST", &format!("/api/attendance/sessions/{session}/assignments/"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let assigned: Vec<(i64, &str)> = out["assigned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["crop_id"].as_i64().unwrap(), a["person_name"].as_str().unwrap()))
        .collect();
    assert_eq!(assigned, [(ids["s1a"], "Ana"), (ids["s1a-shifted"], "Ana")]);
    let clusters: Vec<Value> = out["clusters"].as_array().unwrap().iter().map(|c| c["crop_ids"].clone()).collect();
    assert_eq!(clusters, [json!([ids["s2a"], ids["s2a-shifted"]]), json!([ids["s3a"]])]);
    assert_eq!(out["not_embedded"], json!([not_embedded]));
    assert_error(
        &api.call("POST", &format!("/api/attendance/sessions/{session}/assignments/"), json!({"threshold": 5})).await,
        StatusCode::BAD_REQUEST,
        "InvalidRequest",
    );
}

#[tokio::test]
async fn static_files_have_types_isolation_headers_and_the_hashed_model_is_immutable() {
    let api = Api::open(&data_dir("static"));
    let state = api.state.clone();
    let get = |uri: String| {
        let state = state.clone();
        async move {
            let request = Request::builder().uri(uri).header("accept-encoding", "gzip").body(Body::empty()).unwrap();
            app(state).oneshot(request).await.unwrap()
        }
    };
    let js = get("/www/facenet.js".into()).await;
    assert_eq!(js.headers()["content-type"], "text/javascript");
    assert_eq!(js.headers()["content-encoding"], "gzip");
    assert_eq!(js.headers()["cross-origin-opener-policy"], "same-origin");
    assert_eq!(js.headers()["cross-origin-embedder-policy"], "require-corp");
    assert_eq!(js.headers()["cache-control"], "no-cache");
    let model = get(format!("/models/facenet.{}.onnx", api.version())).await;
    assert_eq!(model.status(), StatusCode::OK);
    assert_eq!(model.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(model.headers().get("content-encoding").is_none(), "the model is not gzipped");
    let size = model.into_body().collect().await.unwrap().to_bytes().len();
    assert_eq!(size as u64, std::fs::metadata(root().join("models/facenet.onnx")).unwrap().len());
    assert_eq!(get("/".into()).await.headers()["location"], "/www/index.html");
}
