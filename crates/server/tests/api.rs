//! Every endpoint, error type, auth refusal and idempotency rule, against a real SQLite file.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use facenet_server::{app, AppState};
use facenet_wasm::{decode_image, Limits};
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
        Api { state: AppState::open(dir, Some(TOKEN), &root()).unwrap() }
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

    /// A crop of `face` uploaded to `session` with its golden `facenet` vector stored.
    async fn embedded(&self, session: i64, face: &str) -> i64 {
        let crop = self.upload(session, face).await;
        let body = json!({"model_name": "facenet", "model_version": self.version(), "embedding": golden(face)});
        let uri = format!("/api/attendance/face-crops/{crop}/embedding/");
        assert_eq!(self.call("POST", &uri, body).await.0, StatusCode::OK);
        crop
    }

    fn version(&self) -> String {
        self.state.model_version.clone()
    }

    /// Enrols by name as old clients do: a new name answers ConsentRequired with the pupil on
    /// the roster; their guardian's consent is recorded and the call made again.
    async fn enroll(&self, name: &str, crops: &[i64]) -> (StatusCode, Value) {
        let body = json!({"name": name, "crop_ids": crops});
        let first = self.call("POST", "/api/attendance/people/", body.clone()).await;
        if first.1["error_type"] != "ConsentRequired" {
            return first;
        }
        let (_, people) = self.call("GET", "/api/attendance/people/", Value::Null).await;
        let pupil =
            people.as_array().unwrap().iter().find(|p| p["name"] == name).expect("the new pupil is on the roster");
        let consent = json!({"state": "given", "by": "guardian", "purpose": "the register from lesson photos"});
        let (status, _) =
            self.call("PUT", &format!("/api/attendance/people/{}/consent/", pupil["person_id"]), consent).await;
        assert_eq!(status, StatusCode::OK);
        self.call("POST", "/api/attendance/people/", body).await
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
    let (status, _) = api.raw("GET", "/www/client/facenet.js", None, Vec::new()).await;
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
    // Past the cap, the whole batch is refused with a clear error.
    let items: Vec<Value> =
        (0..=facenet_server::MAX_BATCH_ITEMS).map(|_| json!({"crop_id": a, "embedding": golden("s1a")})).collect();
    let body = json!({"model_name": "facenet", "model_version": api.version(), "items": items});
    let out = api.call("POST", "/api/attendance/face-crops/embeddings-batch/", body).await;
    assert_error(&out, StatusCode::BAD_REQUEST, "InvalidRequest");
    assert!(out.1["message"].as_str().unwrap().contains("split it"), "{}", out.1);
}

#[tokio::test]
async fn enrolled_people_are_assigned_and_the_rest_clustered() {
    let api = Api::open(&data_dir("assign"));
    let session = api.session().await;
    let mut ids = std::collections::HashMap::new();
    for face in ["s1a", "s1a-shifted", "s2a", "s2a-shifted", "s3a"] {
        ids.insert(face, api.embedded(session, face).await);
    }
    let not_embedded = api.upload(session, "s4a").await;
    let (status, person) = api.enroll("Ana", &[ids["s1a"]]).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &api.call("POST", "/api/attendance/people/", json!({"name": "Bo", "crop_ids": [999]})).await,
        StatusCode::NOT_FOUND,
        "CropNotFound",
    );
    let (_, people) = api.call("GET", "/api/attendance/people/", Value::Null).await;
    let class = people[0]["class_ids"][0].clone();
    assert_eq!(
        people,
        json!([{"id": person["person_id"], "person_id": person["person_id"], "name": "Ana", "external_id": null, "crops": 1, "class_ids": [class], "consent": "given",
                "reenrol_by": people[0]["reenrol_by"], "reenrol_due": false}]),
        "Bo was rolled back"
    );

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
    let js = get("/www/client/facenet.js".into()).await;
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
    assert_eq!(get("/".into()).await.headers()["location"], "/www/app/index.html");
}

impl Api {
    /// Uploads `face` as a crop of `photo` with its place in the photo, and posts its golden vector.
    async fn crop_of_photo(&self, session: i64, photo: i64, face: &str) -> i64 {
        let bytes = std::fs::read(root().join(format!("tests/faces/{face}.jpg"))).unwrap();
        let uri = format!(
            "/api/attendance/sessions/{session}/face-crops/?filename={face}.jpg&photo_id={photo}\
             &box=10,20,100,120&landmarks=40,60,80,60,60,80,45,100,75,100&score=0.99"
        );
        let (status, out) = self.raw("POST", &uri, Some(TOKEN), bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&out));
        let crop = serde_json::from_slice::<Value>(&out).unwrap()["crop_id"].as_i64().unwrap();
        let body = json!({"model_name": "facenet", "model_version": self.version(), "embedding": golden(face)});
        let posted = self.call("POST", &format!("/api/attendance/face-crops/{crop}/embedding/"), body).await;
        assert_eq!(posted.0, StatusCode::OK, "{}", posted.1);
        crop
    }

    async fn photo(&self, session: i64, name: &str) -> i64 {
        let info = json!({"filename": name, "width": 1920, "height": 1280, "size": 123456});
        let (status, out) = self
            .raw_typed(
                "POST",
                &format!("/api/attendance/sessions/{session}/photos/"),
                info.to_string().into_bytes(),
                "application/json",
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&out));
        serde_json::from_slice::<Value>(&out).unwrap()["photo_id"].as_i64().unwrap()
    }

    async fn raw_typed(&self, method: &str, uri: &str, body: Vec<u8>, content_type: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
    }
}

/// A lesson from real faces (golden vectors of tests/faces/): Ana, Ben and Cy enrolled from one
/// crop each in an enrollment session; the lesson's two photos hold *other* crops of Ana and Cy
/// (their shifted boxes), and two people never enrolled (Dee twice, across photos; Eve once).
#[tokio::test]
async fn the_register_says_who_was_present_from_the_lessons_photos() {
    let api = Api::open(&data_dir("register"));
    let enrollment = api.session().await;
    for (name, face) in [("Ana", "s1a"), ("Ben", "s2a"), ("Cy", "s3a")] {
        let crop = api.crop_of_photo(enrollment, api.photo(enrollment, "enroll.jpg").await, face).await;
        let enrolled = api.enroll(name, &[crop]).await;
        assert_eq!(enrolled.0, StatusCode::OK);
    }
    let lesson = api.session().await;
    let (first, second) = (api.photo(lesson, "front.jpg").await, api.photo(lesson, "back.jpg").await);
    let ana = api.crop_of_photo(lesson, first, "s1a-shifted").await;
    let dee1 = api.crop_of_photo(lesson, first, "s5a").await;
    let cy = api.crop_of_photo(lesson, second, "s3a-shifted").await;
    let dee2 = api.crop_of_photo(lesson, second, "s5a-shifted").await;
    let eve = api.crop_of_photo(lesson, second, "s6b").await;

    let (status, register) =
        api.call("GET", &format!("/api/attendance/sessions/{lesson}/attendance/"), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{register}");
    assert_eq!(register["session_id"], lesson);
    assert_eq!(register["threshold"].as_f64().map(|t| (t * 100.0).round()), Some(40.0), "the manifest's default");
    let people: Vec<(&str, bool, Vec<i64>)> = register["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let crops = p["crops"].as_array().unwrap().iter().map(|c| c["crop_id"].as_i64().unwrap()).collect();
            (p["name"].as_str().unwrap(), p["present"].as_bool().unwrap(), crops)
        })
        .collect();
    assert_eq!(people, [("Ana", true, vec![ana]), ("Ben", false, vec![]), ("Cy", true, vec![cy])]);
    for p in register["people"].as_array().unwrap() {
        assert_eq!(p["unsure"], json!([]), "every face here is large, sharp, frontal and a clear match");
        for c in p["crops"].as_array().unwrap() {
            let (d, m) = (c["distance"].as_f64().unwrap(), c["margin"].as_f64().unwrap());
            assert!((0.0..0.40).contains(&d) && m > 0.0, "{c}");
        }
    }
    let unknown: Vec<Value> = register["unknown"].as_array().unwrap().iter().map(|u| u["crop_ids"].clone()).collect();
    assert_eq!(unknown, [json!([dee1, dee2]), json!([eve])], "one cluster per unknown person");

    // One action enrolls a cluster ("this is Dee"); the register follows at once.
    api.enroll("Dee", &[dee1, dee2]).await;
    let (_, register) = api.call("GET", &format!("/api/attendance/sessions/{lesson}/attendance/"), Value::Null).await;
    assert_eq!(register["unknown"], json!([{"crop_ids": [eve]}]));
    assert!(register["people"].as_array().unwrap().iter().any(|p| p["name"] == "Dee" && p["present"] == true));

    let (status, csv) =
        api.raw("GET", &format!("/api/attendance/sessions/{lesson}/attendance.csv"), Some(TOKEN), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    let csv = csv.strip_prefix('\u{feff}').expect("a UTF-8 BOM first, for spreadsheet programs");
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        ["person_id", "name", "present", "crop_ids", "best_distance", "mark", "by_hand", "unsure_crop_ids"]
    );
    let summary: Vec<(&str, &str, &str)> = rows[1..].iter().map(|r| (r[1], r[2], r[3])).collect();
    let (ana, cy, dees) = (ana.to_string(), cy.to_string(), format!("{dee1} {dee2}"));
    assert_eq!(
        summary,
        [("Ana", "yes", ana.as_str()), ("Ben", "no", ""), ("Cy", "yes", cy.as_str()), ("Dee", "yes", dees.as_str())]
    );

    let (_, photos) = api.call("GET", &format!("/api/attendance/sessions/{lesson}/photos/"), Value::Null).await;
    let counts: Vec<(i64, bool)> = photos
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["crops"].as_i64().unwrap(), p["image_stored"].as_bool().unwrap()))
        .collect();
    assert_eq!(counts, [(2, false), (3, false)], "crops only: the photos' bytes never left the browser");
    let (_, crops) = api.call("GET", &format!("/api/attendance/sessions/{lesson}/face-crops/"), Value::Null).await;
    let first_crop = &crops[0];
    assert_eq!(first_crop["photo_id"], first);
    assert_eq!(first_crop["box"], json!({"x": 10.0, "y": 20.0, "width": 100.0, "height": 120.0}));
    assert_eq!(first_crop["landmarks"].as_array().map(Vec::len), Some(5));
    assert_error(
        &api.call("GET", &format!("/api/attendance/photos/{first}/image/"), Value::Null).await,
        StatusCode::NOT_FOUND,
        "NotFound",
    );
}

#[tokio::test]
async fn photos_and_crop_origins_are_checked() {
    let api = Api::open(&data_dir("photos"));
    let session = api.session().await;
    let other = api.session().await;
    // A whole photo as the body: decoded once, stored without its metadata (the phone's EXIF,
    // ICC), served back.
    let jpeg = std::fs::read(root().join("tests/photos/sample1.jpg")).unwrap();
    let (status, out) = api
        .raw("POST", &format!("/api/attendance/sessions/{session}/photos/?filename=s1.jpg"), Some(TOKEN), jpeg.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let photo: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!((photo["width"].as_u64(), photo["image_stored"].as_bool()), (Some(1920), Some(true)));
    let id = photo["photo_id"].as_i64().unwrap();
    let stored = api.raw("GET", &format!("/api/attendance/photos/{id}/image/"), Some(TOKEN), vec![]).await.1;
    assert!(!facenet_attendance::stored_image::keeps_as_is(&jpeg), "the test photo carries EXIF");
    assert!(facenet_attendance::stored_image::keeps_as_is(&stored), "stored as a plain JPEG");
    let (a, b) = (decode_image(&jpeg, &Limits::default()).unwrap(), decode_image(&stored, &Limits::default()).unwrap());
    assert_eq!(a.dimensions(), b.dimensions());
    let not_image =
        api.raw("POST", &format!("/api/attendance/sessions/{session}/photos/"), Some(TOKEN), b"<html>".to_vec()).await;
    assert_eq!(not_image.0, StatusCode::UNPROCESSABLE_ENTITY);

    let crop = std::fs::read(root().join("tests/faces/s1a.jpg")).unwrap();
    let upload = |query: String| {
        let uri = format!("/api/attendance/sessions/{session}/face-crops/?{query}");
        let (api, crop) = (&api, crop.clone());
        async move { api.raw("POST", &uri, Some(TOKEN), crop).await }
    };
    let code = |out: (StatusCode, Vec<u8>)| {
        (out.0, serde_json::from_slice::<Value>(&out.1).unwrap()["error_type"].as_str().map(str::to_string))
    };
    assert_eq!(code(upload("box=1,2,3".into()).await), (StatusCode::BAD_REQUEST, Some("InvalidRequest".into())));
    assert_eq!(code(upload("box=1,2,NaN,4".into()).await), (StatusCode::BAD_REQUEST, Some("InvalidRequest".into())));
    assert_eq!(code(upload("landmarks=1,2".into()).await), (StatusCode::BAD_REQUEST, Some("InvalidRequest".into())));
    assert_eq!(code(upload("score=1.5".into()).await), (StatusCode::BAD_REQUEST, Some("InvalidRequest".into())));
    let foreign = api.photo(other, "elsewhere.jpg").await;
    assert_eq!(code(upload(format!("photo_id={foreign}")).await), (StatusCode::NOT_FOUND, Some("NotFound".into())));
    assert_eq!(upload(format!("photo_id={id}&box=1,2,3,4&score=0.9")).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn the_old_urls_and_unknown_paths_answer_typed_json() {
    let api = Api::open(&data_dir("old-urls"));
    for (uri, body) in [
        (
            "/api/attendance/face-crops/253/generate-embedding/",
            json!({"model_name": "facenet", "force_regenerate": true}),
        ),
        (
            "/api/attendance/face-crops/generate-embeddings-batch/",
            json!({"face_crop_ids": [253, 254], "model_name": "facenet"}),
        ),
    ] {
        for token in [Some(TOKEN), None] {
            let (status, out) = api.raw("POST", uri, token, body.to_string().into_bytes()).await;
            let out: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!((status, out["error_type"].as_str()), (StatusCode::GONE, Some("EndpointMoved")), "{uri}");
            let message = out["message"].as_str().unwrap();
            assert!(
                message.starts_with(uri)
                    && message.contains("computed in the browser")
                    && message.contains("/face-crops/{id}/embedding/"),
                "{message}"
            );
        }
    }
    for uri in ["/api/attendance/nothing-here/", "/api/attendance/sessions/1/nothing/"] {
        let (status, out) = api.raw("GET", uri, Some(TOKEN), vec![]).await;
        let out: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        assert_eq!((status, out["error_type"].as_str()), (StatusCode::NOT_FOUND, Some("NotFound")), "{uri}");
        assert!(out["message"].as_str().unwrap_or("").contains(uri), "the whole path is named: {out}");
    }
}

#[tokio::test]
async fn the_token_scheme_is_case_insensitive_and_short_tokens_are_refused() {
    let api = Api::open(&data_dir("scheme"));
    for header in [format!("bearer {TOKEN}"), format!("BEARER  {TOKEN}"), format!("Bearer {TOKEN}")] {
        let request = Request::builder().uri("/api/attendance/sessions/").header("authorization", header.clone());
        let response = app(api.state.clone()).oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{header}");
    }
    for token in ["", "short"] {
        let err = AppState::open(&data_dir("short-token"), Some(token), &root()).err().expect("refused");
        assert!(err.to_string().contains("at least 8"), "{err}");
    }
}

#[tokio::test]
async fn every_error_is_json_nosniff_is_set_and_models_serves_only_models() {
    let api = Api::open(&data_dir("hardening"));
    let out = api.call("GET", "/api/attendance/face-crops/abc/image/", Value::Null).await;
    assert_error(&out, StatusCode::BAD_REQUEST, "InvalidRequest");
    let big = vec![0u8; facenet_server::MAX_JSON_BODY + 1];
    let (status, body) = api.raw("POST", "/api/attendance/sessions/", Some(TOKEN), big).await;
    let out = (status, serde_json::from_slice(&body).unwrap());
    assert_error(&out, StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");
    let session = api.session().await;
    // An image between the two limits is read (and refused as no image), one above is not.
    let uri = format!("/api/attendance/sessions/{session}/face-crops/");
    let (status, _) = api.raw("POST", &uri, Some(TOKEN), vec![0u8; facenet_server::MAX_JSON_BODY + 1]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api.raw("POST", &uri, Some(TOKEN), vec![0u8; facenet_server::MAX_IMAGE_BODY + 1]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let crop = api.upload(session, "s1a").await;
    let request = Request::builder()
        .uri(format!("/api/attendance/face-crops/{crop}/image/"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = app(api.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    for (path, status) in [
        ("/models/facenet.json", StatusCode::OK),
        ("/models/retinaface.json", StatusCode::OK),
        ("/tools/convert.py", StatusCode::NOT_FOUND),
        ("/tests/faces/s1a.jpg", StatusCode::NOT_FOUND),
        ("/models/README.md", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(api.raw("GET", path, None, vec![]).await.0, status, "{path}");
    }
}

#[tokio::test]
async fn names_and_filenames_are_bounded() {
    let api = Api::open(&data_dir("names"));
    let long = "x".repeat(facenet_server::MAX_NAME_LEN + 1);
    let out = api.call("POST", "/api/attendance/sessions/", json!({"name": long})).await;
    assert_error(&out, StatusCode::BAD_REQUEST, "InvalidRequest");
    let session = api.session().await;
    let crop = std::fs::read(root().join("tests/faces/s1a.jpg")).unwrap();
    let (status, _) = api
        .raw("POST", &format!("/api/attendance/sessions/{session}/face-crops/?filename={long}"), Some(TOKEN), crop)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let crop_id = api.upload(session, "s1a").await;
    let out = api.call("POST", "/api/attendance/people/", json!({"name": long, "crop_ids": [crop_id]})).await;
    assert_error(&out, StatusCode::BAD_REQUEST, "InvalidRequest");
}

/// Erasing a pupil leaves none of their vectors' bytes in the database file or its WAL: the
/// rows are deleted with secure_delete on, and the WAL is checkpointed and truncated.
#[tokio::test]
async fn an_erased_pupils_vectors_are_gone_from_the_database_file_and_its_wal() {
    let dir = data_dir("erasure");
    let api = Api::open(&dir);
    let session = api.session().await;
    let mut patterns = Vec::new();
    let mut crops = Vec::new();
    for face in ["s1a", "s1a-shifted"] {
        let crop = api.upload(session, face).await;
        let vector = golden(face);
        let body = json!({"model_name": "facenet", "model_version": api.version(), "embedding": vector});
        assert_eq!(
            api.call("POST", &format!("/api/attendance/face-crops/{crop}/embedding/"), body).await.0,
            StatusCode::OK
        );
        // The stored bytes: the vector as f32 little-endian; 32 of them are far past chance.
        let bytes: Vec<u8> =
            vector.as_array().unwrap().iter().flat_map(|x| (x.as_f64().unwrap() as f32).to_le_bytes()).collect();
        patterns.push(bytes[..32].to_vec());
        crops.push(crop);
    }
    let (status, ana) = api.enroll("Ana", &crops).await;
    assert_eq!(status, StatusCode::OK, "{ana}");
    let files = || {
        ["facenet.sqlite3", "facenet.sqlite3-wal"]
            .iter()
            .filter_map(|f| std::fs::read(dir.join(f)).ok())
            .collect::<Vec<Vec<u8>>>()
    };
    let found = |haystacks: &[Vec<u8>]| {
        patterns.iter().filter(|p| haystacks.iter().any(|h| h.windows(p.len()).any(|w| w == p.as_slice()))).count()
    };
    assert_eq!(found(&files()), 2, "the vectors are stored (the test finds what it looks for)");
    let person = ana["person_id"].as_i64().unwrap();
    let (status, erased) = api.call("DELETE", &format!("/api/attendance/people/{person}/"), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["crops"], 2);
    assert_eq!(found(&files()), 0, "no byte pattern of an erased vector left in the file or the WAL");
    let (_, people) = api.call("GET", "/api/attendance/people/", Value::Null).await;
    assert_eq!(people, json!([]), "an erased pupil is not listed");
}

/// The retention schedule, enforced: lesson faces past 30 days are counted by a dry run and
/// erased by the purge, a pupil's reference faces are not (they have their own rule), and the
/// purge is in the audit log.
#[tokio::test]
async fn the_purge_erases_what_the_schedule_says_is_due_and_a_dry_run_only_counts() {
    let dir = data_dir("purge");
    let api = Api::open(&dir);
    let session = api.session().await;
    let old = api.upload(session, "s1a").await;
    let new = api.upload(session, "s2a").await;
    let reference = api.upload(session, "s3a").await;
    assert_eq!(api.enroll("Cy", &[reference]).await.0, StatusCode::OK);
    let db = rusqlite::Connection::open(dir.join("facenet.sqlite3")).unwrap();
    db.execute("UPDATE face_crops SET created_at = datetime('now', '-40 days') WHERE id IN (?1, ?2)", [old, reference])
        .unwrap();
    let counts = |out: &Value| -> Vec<(String, i64)> {
        out["erased"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].as_str().unwrap().into(), e["count"].as_i64().unwrap()))
            .collect()
    };
    let due = vec![("lesson_faces".into(), 1), ("photos".into(), 0), ("leavers".into(), 0), ("templates".into(), 0)];
    let (status, dry) = api.call("POST", "/api/attendance/retention/purge/", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!((dry["dry_run"].as_bool(), counts(&dry)), (Some(true), due.clone()));
    let remaining = |db: &rusqlite::Connection| -> Vec<i64> {
        let mut stmt = db.prepare("SELECT id FROM face_crops ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(remaining(&db), vec![old, new, reference], "a dry run erases nothing");
    let (_, done) = api.call("POST", "/api/attendance/retention/purge/?dry_run=false", Value::Null).await;
    assert_eq!((done["dry_run"].as_bool(), counts(&done)), (Some(false), due));
    assert_eq!(remaining(&db), vec![new, reference], "the old lesson face is gone; the reference face stays");
    let (_, audit) = api.call("GET", "/api/attendance/audit/", Value::Null).await;
    let purge = audit.as_array().unwrap().iter().find(|e| e["action"] == "purge").expect("the purge is audited");
    assert_eq!(purge["detail"]["lesson_faces"], 1);
    // The audit log refuses to be rewritten, even by someone with the file.
    assert!(db.execute("DELETE FROM audit", []).is_err(), "append-only");
}

/// Failed sign-ins are audited and, past the limit in a minute, answered 429 with Retry-After;
/// a good token still works.
#[tokio::test]
async fn failed_sign_ins_are_audited_and_limited() {
    let api = Api::open(&data_dir("sign-ins"));
    let limit = facenet_server::FAILED_SIGN_INS_PER_MINUTE;
    for i in 0..limit {
        let (status, _) = api.raw("GET", "/api/attendance/me/", Some("wrong-token-123"), vec![]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (status, body) = api.raw("GET", "/api/attendance/me/", Some("wrong-token-123"), vec![]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["error_type"], "TooManyRequests");
    assert_eq!(api.call("GET", "/api/attendance/me/", Value::Null).await.0, StatusCode::OK, "a good token still works");
    let (_, audit) = api.call("GET", "/api/attendance/audit/", Value::Null).await;
    let failed = audit.as_array().unwrap().iter().filter(|e| e["action"] == "sign_in_failed").count();
    assert_eq!(failed, limit as usize, "each failure under the limit audited, none past it");
}

#[tokio::test]
async fn vectors_of_another_model_version_match_nothing_and_are_posted_again() {
    // A model upgrade changes the vector space (model e9b31c60432e replaced the 128-d random
    // projection): a stored vector of the old version must not be compared with the new ones.
    let dir = data_dir("old-version");
    let api = Api::open(&dir);
    let session = api.session().await;
    let mut ids = std::collections::HashMap::new();
    for face in ["s1a", "s1a-shifted"] {
        ids.insert(face, api.embedded(session, face).await);
    }
    assert_eq!(api.enroll("Ana", &[ids["s1a"]]).await.0, StatusCode::OK);
    let assignments = format!("/api/attendance/sessions/{session}/assignments/");
    let assign = || api.call("POST", &assignments, json!({}));
    let (_, out) = assign().await;
    assert_eq!(out["assigned"].as_array().unwrap().len(), 2, "{out}");

    // The lesson face's vector becomes one of an older model, as an upgrade leaves it.
    let db = rusqlite::Connection::open(dir.join("facenet.sqlite3")).unwrap();
    db.execute("UPDATE embeddings SET model_version = 'f9c6e228eb51' WHERE crop_id = ?1", [ids["s1a-shifted"]])
        .unwrap();
    let (_, out) = assign().await;
    let assigned: Vec<i64> =
        out["assigned"].as_array().unwrap().iter().map(|a| a["crop_id"].as_i64().unwrap()).collect();
    assert_eq!(assigned, [ids["s1a"]], "the old vector is not matched: {out}");
    assert_eq!(out["not_embedded"], json!([ids["s1a-shifted"]]), "its crop waits for a new vector");

    // Ana's reference of the old version: she is matched by nothing, and her face is not embedded.
    db.execute("UPDATE embeddings SET model_version = 'f9c6e228eb51'", []).unwrap();
    let (_, out) = assign().await;
    assert_eq!(out["not_embedded"], json!([ids["s1a"], ids["s1a-shifted"]]), "{out}");
    assert!(out["assigned"].as_array().unwrap().iter().all(|a| a["enrolled"] == true), "{out}");

    // A new vector replaces an old-version one without force_regenerate.
    let body = json!({"model_name": "facenet", "model_version": api.version(), "embedding": golden("s1a-shifted")});
    let (status, stored) =
        api.call("POST", &format!("/api/attendance/face-crops/{}/embedding/", ids["s1a-shifted"]), body).await;
    assert_eq!((status, stored["message"].as_str()), (StatusCode::OK, Some("embedding stored")), "{stored}");
    let _ = std::fs::remove_dir_all(&dir);
}
