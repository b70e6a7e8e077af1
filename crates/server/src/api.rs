//! The HTTP API of DESIGN.md: crops in, vectors validated and stored, assignment and clusters out.

use crate::db::{self, vector_to_blob};
use crate::error::AppError;
use crate::register;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use facenet_wasm::{decode_image, Limits};
use rusqlite::{params, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

/// Every `/api` route; all of them need the bearer token.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/sessions/", get(list_sessions).post(create_session))
        // Images may be large; every other body is JSON and gets the smaller app-wide limit.
        .route("/sessions/{id}/face-crops/", get(list_crops).post(upload_crop).layer(image_limit()))
        .route("/sessions/{id}/photos/", get(list_photos).post(upload_photo).layer(image_limit()))
        .route("/sessions/{id}/assignments/", post(register::assign))
        .route("/sessions/{id}/attendance/", get(register::attendance))
        .route("/sessions/{id}/attendance.csv", get(register::attendance_csv))
        .route("/photos/{id}/image/", get(photo_image))
        .route("/face-crops/{id}/image/", get(crop_image))
        .route("/face-crops/{id}/embedding/", post(post_embedding))
        .route("/face-crops/embeddings-batch/", post(post_embeddings_batch))
        .route("/people/", get(list_people).post(enroll))
        .route_layer(axum::middleware::from_fn_with_state(state, require_token))
        // The old system's calls, answered for anyone: where vectors come from now.
        .route("/face-crops/{id}/generate-embedding/", axum::routing::any(old_embedding_url))
        .route("/face-crops/generate-embeddings-batch/", axum::routing::any(old_embedding_url))
        .fallback(unknown_path)
}

/// Largest image body (a crop or a whole photo) accepted.
pub const MAX_IMAGE_BODY: usize = 16 << 20;
/// Largest JSON body accepted: a full batch of 1,000 vectors of 512 values fits.
pub const MAX_JSON_BODY: usize = 8 << 20;

fn image_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(MAX_IMAGE_BODY)
}

/// The old `generate-embedding(s)` URLs: the server no longer runs a model.
async fn old_embedding_url(request: Request) -> AppError {
    AppError::EndpointMoved(request.uri().path().to_string())
}

/// Any other `/api/attendance/…` path: JSON, never an empty 404.
async fn unknown_path(request: Request) -> AppError {
    AppError::NotFound(format!("no API call {} {}; see the README's API table", request.method(), request.uri().path()))
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, AppError> {
    let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer);
    // Compared in constant time: how much of a guess matches must not show in the answer's timing.
    match given {
        Some(token) if bool::from(token.as_bytes().ct_eq(state.token.as_bytes())) => Ok(next.run(request).await),
        _ => Err(AppError::Unauthorized),
    }
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
/// (RFC 9110 §11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// JSON bodies parsed here rather than by axum's extractor, so a malformed body gets our
/// error shape (`InvalidRequest`) instead of a bare text answer.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::InvalidRequest(format!("invalid JSON body: {e}")))
}

/// The longest name (of a session, a person, a file) stored: names show in every list.
pub const MAX_NAME_LEN: usize = 200;

/// `text` trimmed, or an `InvalidRequest` when it is empty or longer than [`MAX_NAME_LEN`].
fn checked_name<'a>(text: &'a str, what: &str) -> Result<&'a str, AppError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(AppError::InvalidRequest(format!("{what} must not be empty")));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(AppError::InvalidRequest(format!(
            "{what} has {} characters; at most {MAX_NAME_LEN}",
            name.chars().count()
        )));
    }
    Ok(name)
}

pub(crate) fn session_exists(state: &AppState, id: i64) -> Result<(), AppError> {
    let found: Option<i64> =
        state.db().query_row("SELECT id FROM sessions WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| AppError::NotFound(format!("no session {id}")))
}

#[derive(Deserialize)]
struct NewSession {
    name: String,
}

async fn create_session(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, AppError> {
    let new: NewSession = parse(&body)?;
    let name = checked_name(&new.name, "a session's name")?;
    let db = state.db();
    db.execute("INSERT INTO sessions (name) VALUES (?1)", [name])?;
    Ok(Json(json!({"status": "success", "id": db.last_insert_rowid(), "name": name})))
}

async fn list_sessions(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let db = state.db();
    let mut stmt = db.prepare(
        "SELECT s.id, s.name, s.created_at, COUNT(c.id) FROM sessions s LEFT JOIN face_crops c ON c.session_id = s.id
         GROUP BY s.id ORDER BY s.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(json!({"id": r.get::<_, i64>(0)?, "name": r.get::<_, String>(1)?, "created_at": r.get::<_, String>(2)?, "crops": r.get::<_, i64>(3)?}))
    })?;
    Ok(Json(Value::Array(rows.collect::<Result<_, _>>()?)))
}

#[derive(Deserialize)]
struct UploadQuery {
    filename: Option<String>,
    /// The photo the crop was cut from (same session).
    photo_id: Option<i64>,
    /// Where in the photo: `x,y,width,height` in its pixels.
    #[serde(rename = "box")]
    bbox: Option<String>,
    /// The five landmarks: `x1,y1,…,x5,y5`.
    landmarks: Option<String>,
    /// The detector's score, 0–1.
    score: Option<f64>,
}

/// `count` finite numbers separated by commas, or an `InvalidRequest` naming `what`.
fn numbers(text: &str, count: usize, what: &str) -> Result<Vec<f64>, AppError> {
    let values: Vec<f64> =
        text.split(',').map(|v| v.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| {
            AppError::InvalidRequest(format!("{what} must be {count} comma-separated numbers, got {text:?}"))
        })?;
    if values.len() != count || !values.iter().all(|v| v.is_finite()) {
        return Err(AppError::InvalidRequest(format!("{what} must be {count} finite numbers, got {text:?}")));
    }
    Ok(values)
}

/// Where a crop was found, checked: its photo in the same session, box, landmarks and score
/// well-formed. Stored as JSON text.
fn crop_origin(state: &AppState, session: i64, q: &UploadQuery) -> Result<(Option<String>, Option<String>), AppError> {
    if let Some(photo) = q.photo_id {
        let found: Option<i64> =
            state.db().query_row("SELECT session_id FROM photos WHERE id = ?1", [photo], |r| r.get(0)).optional()?;
        if found != Some(session) {
            return Err(AppError::NotFound(format!("no photo {photo} in session {session}")));
        }
    }
    if let Some(score) = q.score {
        if !(0.0..=1.0).contains(&score) {
            return Err(AppError::InvalidRequest(format!("score must lie in 0–1, got {score}")));
        }
    }
    let bbox = q.bbox.as_deref().map(|b| numbers(b, 4, "box")).transpose()?;
    if bbox.as_ref().is_some_and(|b| b[2] < 0.0 || b[3] < 0.0) {
        return Err(AppError::InvalidRequest("box width and height must not be negative".into()));
    }
    let landmarks = q.landmarks.as_deref().map(|l| numbers(l, 10, "landmarks")).transpose()?;
    let bbox = bbox.map(|b| json!({"x": b[0], "y": b[1], "width": b[2], "height": b[3]}).to_string());
    let landmarks = landmarks.map(|l| json!(l.chunks(2).collect::<Vec<_>>()).to_string());
    Ok((bbox, landmarks))
}

/// The crop's bytes are the request body; they are decoded once (bounded) so that only images
/// the embedder can read are stored.
async fn upload_crop(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    session_exists(&state, session)?;
    let (bbox, landmarks) = crop_origin(&state, session, &query)?;
    let image = {
        let body = body.clone();
        crate::blocking(move || Ok(decode_image(&body, &Limits::default())?)).await?
    };
    let content_type = image::guess_format(&body).map(|f| f.to_mime_type()).unwrap_or("application/octet-stream");
    let filename = checked_name(query.filename.as_deref().unwrap_or("crop"), "filename")?.to_string();
    let db = state.db();
    db.execute(
        "INSERT INTO face_crops (session_id, filename, content_type, image, width, height, photo_id, box, landmarks, score)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            session,
            filename,
            content_type,
            body.as_ref(),
            image.width(),
            image.height(),
            query.photo_id,
            bbox,
            landmarks,
            query.score
        ],
    )?;
    let id = db.last_insert_rowid();
    let body = json!({"status": "success", "crop_id": id, "filename": filename, "width": image.width(),
                      "height": image.height(), "photo_id": query.photo_id});
    Ok((axum::http::StatusCode::CREATED, Json(body)).into_response())
}

async fn list_crops(State(state): State<AppState>, Path(session): Path<i64>) -> Result<Json<Value>, AppError> {
    session_exists(&state, session)?;
    let db = state.db();
    let mut stmt = db.prepare(
        "SELECT c.id, c.filename, c.width, c.height, c.person_id, p.name,
                (SELECT group_concat(model_name) FROM embeddings e WHERE e.crop_id = c.id),
                c.photo_id, c.box, c.landmarks, c.score
         FROM face_crops c LEFT JOIN people p ON p.id = c.person_id WHERE c.session_id = ?1 ORDER BY c.id",
    )?;
    let rows = stmt.query_map([session], |r| {
        let models: Option<String> = r.get(6)?;
        let stored_json = |i: usize| -> rusqlite::Result<Value> {
            Ok(r.get::<_, Option<String>>(i)?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null))
        };
        Ok(json!({
            "id": r.get::<_, i64>(0)?, "filename": r.get::<_, String>(1)?,
            "width": r.get::<_, i64>(2)?, "height": r.get::<_, i64>(3)?,
            "person_id": r.get::<_, Option<i64>>(4)?, "person_name": r.get::<_, Option<String>>(5)?,
            "embeddings": models.map(|m| m.split(',').map(str::to_string).collect::<Vec<_>>()).unwrap_or_default(),
            "photo_id": r.get::<_, Option<i64>>(7)?, "box": stored_json(8)?, "landmarks": stored_json(9)?,
            "score": r.get::<_, Option<f64>>(10)?,
        }))
    })?;
    Ok(Json(Value::Array(rows.collect::<Result<_, _>>()?)))
}

/// A photo's metadata (`{"filename","width","height","size"}` as JSON: the default, only crops
/// leave the browser), or the photo itself as the raw body with `?filename=` (decoded once,
/// bounded, so only images are stored).
async fn upload_photo(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    Query(query): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    session_exists(&state, session)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    #[derive(Deserialize)]
    struct PhotoInfo {
        filename: String,
        width: u32,
        height: u32,
        size: Option<u64>,
    }
    let (info, image) = if is_json {
        let mut info: PhotoInfo = parse(&body)?;
        info.filename = checked_name(&info.filename, "filename")?.to_string();
        if info.width == 0 || info.height == 0 {
            return Err(AppError::InvalidRequest("a photo's width and height must be positive".into()));
        }
        (info, None)
    } else {
        let decoded = {
            let body = body.clone();
            crate::blocking(move || Ok(decode_image(&body, &Limits::default())?)).await?
        };
        let content_type = image::guess_format(&body).map(|f| f.to_mime_type()).unwrap_or("application/octet-stream");
        let filename = checked_name(query.filename.as_deref().unwrap_or("photo"), "filename")?.to_string();
        let info =
            PhotoInfo { filename, width: decoded.width(), height: decoded.height(), size: Some(body.len() as u64) };
        (info, Some((content_type, body)))
    };
    let db = state.db();
    db.execute(
        "INSERT INTO photos (session_id, filename, width, height, size, content_type, image) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            session,
            info.filename,
            info.width,
            info.height,
            info.size,
            image.as_ref().map(|i| i.0),
            image.as_ref().map(|i| i.1.as_ref())
        ],
    )?;
    let id = db.last_insert_rowid();
    let body = json!({"status": "success", "photo_id": id, "filename": info.filename, "width": info.width,
                      "height": info.height, "image_stored": image.is_some()});
    Ok((axum::http::StatusCode::CREATED, Json(body)).into_response())
}

async fn list_photos(State(state): State<AppState>, Path(session): Path<i64>) -> Result<Json<Value>, AppError> {
    session_exists(&state, session)?;
    let db = state.db();
    let mut stmt = db.prepare(
        "SELECT p.id, p.filename, p.width, p.height, p.size, p.image IS NOT NULL,
                (SELECT COUNT(*) FROM face_crops c WHERE c.photo_id = p.id)
         FROM photos p WHERE p.session_id = ?1 ORDER BY p.id",
    )?;
    let rows = stmt.query_map([session], |r| {
        Ok(json!({
            "id": r.get::<_, i64>(0)?, "filename": r.get::<_, String>(1)?, "width": r.get::<_, i64>(2)?,
            "height": r.get::<_, i64>(3)?, "size": r.get::<_, Option<i64>>(4)?, "image_stored": r.get::<_, bool>(5)?,
            "crops": r.get::<_, i64>(6)?,
        }))
    })?;
    Ok(Json(Value::Array(rows.collect::<Result<_, _>>()?)))
}

async fn photo_image(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, AppError> {
    let found: Option<(Option<String>, Option<Vec<u8>>)> = state
        .db()
        .query_row("SELECT content_type, image FROM photos WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        None => Err(AppError::NotFound(format!("no photo {id}"))),
        Some((Some(content_type), Some(bytes))) => {
            Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, max-age=3600".into())], bytes)
                .into_response())
        }
        Some(_) => Err(AppError::NotFound(format!(
            "photo {id} was registered without its image (only its crops were uploaded)"
        ))),
    }
}

async fn crop_image(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, AppError> {
    let found: Option<(String, Vec<u8>)> = state
        .db()
        .query_row("SELECT content_type, image FROM face_crops WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (content_type, bytes) = found.ok_or(AppError::CropNotFound(id))?;
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, max-age=3600".into())], bytes)
        .into_response())
}

#[derive(Deserialize)]
struct EmbeddingPost {
    model_name: String,
    model_version: Option<String>,
    embedding: Vec<f64>,
    #[serde(default)]
    force_regenerate: bool,
}

/// Checks a posted vector against the served model: name, version, dimension, finiteness, norm.
fn validate(state: &AppState, model: &str, version: Option<&str>, v: &[f64]) -> Result<Vec<f32>, AppError> {
    let dimension = *state.dimensions.get(model).ok_or_else(|| {
        let known: Vec<&str> = state.dimensions.keys().map(String::as_str).collect();
        AppError::InvalidEmbedding(format!("unknown model_name {model:?}; this server takes {}", known.join(", ")))
    })?;
    match version {
        Some(v) if v == state.model_version => {}
        Some(v) => {
            return Err(AppError::InvalidEmbedding(format!(
                "model_version {v:?} is not the served model's {:?}: reload the page to get the current model",
                state.model_version
            )))
        }
        None => return Err(AppError::InvalidEmbedding("model_version is required".into())),
    }
    if v.len() != dimension {
        return Err(AppError::InvalidEmbedding(format!("{model} vectors have {dimension} values, got {}", v.len())));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(AppError::InvalidEmbedding(format!("value {i} is not a finite number")));
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if (norm - 1.0).abs() > 1e-3 {
        return Err(AppError::InvalidEmbedding(format!("norm is {norm:.6}; embeddings are unit vectors (1 ± 0.001)")));
    }
    Ok(v.iter().map(|&x| x as f32).collect())
}

/// Validates and stores one vector on `db` (a connection or a batch's transaction): the same
/// vector twice is stored once; a different one needs `force_regenerate`.
fn store(
    db: &rusqlite::Connection,
    state: &AppState,
    crop: i64,
    post: &EmbeddingPost,
    version: Option<&str>,
) -> Result<Value, AppError> {
    let vector = validate(state, &post.model_name, version, &post.embedding)?;
    let exists: Option<i64> =
        db.query_row("SELECT id FROM face_crops WHERE id = ?1", [crop], |r| r.get(0)).optional()?;
    exists.ok_or(AppError::CropNotFound(crop))?;
    let message = match db::vector_of(db, crop, &post.model_name)? {
        Some(old) if old.iter().zip(&vector).all(|(a, b)| (a - b).abs() <= 1e-6) => {
            "embedding already stored (unchanged)"
        }
        Some(_) if !post.force_regenerate => return Err(AppError::EmbeddingExists(crop, post.model_name.clone())),
        old => {
            db.execute(
                "INSERT INTO embeddings (crop_id, model_name, model_version, dimension, vector) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (crop_id, model_name) DO UPDATE SET model_version = excluded.model_version,
                 dimension = excluded.dimension, vector = excluded.vector, created_at = datetime('now')",
                params![crop, post.model_name, state.model_version, vector.len(), vector_to_blob(&vector)],
            )?;
            if old.is_some() {
                "embedding replaced"
            } else {
                "embedding stored"
            }
        }
    };
    tracing::info!(crop, model = %post.model_name, dimension = vector.len(), "crop {crop}: {} {}-d {message}",
        post.model_name, vector.len());
    Ok(json!({"status": "success", "crop_id": crop, "embedding_model": post.model_name,
              "embedding_dimension": vector.len(), "message": message}))
}

async fn post_embedding(
    State(state): State<AppState>,
    Path(crop): Path<i64>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let post: EmbeddingPost = parse(&body)?;
    store(&state.db(), &state, crop, &post, post.model_version.as_deref()).map(Json)
}

/// The most items one batch may carry: a batch holds the database for its whole transaction.
pub const MAX_BATCH_ITEMS: usize = 1000;

#[derive(Deserialize)]
struct BatchItem {
    crop_id: i64,
    embedding: Vec<f64>,
    model_version: Option<String>,
    #[serde(default)]
    force_regenerate: bool,
}

#[derive(Deserialize)]
struct BatchPost {
    model_name: String,
    model_version: Option<String>,
    items: Vec<BatchItem>,
}

/// Each item succeeds or fails alone; the answer lists one result per item, in order. The
/// stored ones are written in one transaction, so a crash mid-batch leaves none of them half-done.
async fn post_embeddings_batch(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, AppError> {
    let batch: BatchPost = parse(&body)?;
    if batch.items.len() > MAX_BATCH_ITEMS {
        return Err(AppError::InvalidRequest(format!(
            "{} items in one batch; at most {MAX_BATCH_ITEMS}: split it into several posts",
            batch.items.len()
        )));
    }
    let mut db = state.db();
    let tx = db.transaction()?;
    let mut failed = 0;
    let results: Vec<Value> = batch
        .items
        .into_iter()
        .map(|item| {
            let version = item.model_version.or_else(|| batch.model_version.clone());
            let post = EmbeddingPost {
                model_name: batch.model_name.clone(),
                model_version: None,
                embedding: item.embedding,
                force_regenerate: item.force_regenerate,
            };
            store(&tx, &state, item.crop_id, &post, version.as_deref()).unwrap_or_else(|e| {
                failed += 1;
                json!({"status": "error", "crop_id": item.crop_id, "error_type": e.code().0, "message": e.to_string()})
            })
        })
        .collect();
    tx.commit()?;
    let status = match failed {
        0 => "success",
        n if n == results.len() => "error",
        _ => "partial",
    };
    Ok(Json(json!({"status": status, "stored": results.len() - failed, "failed": failed, "results": results})))
}

#[derive(Deserialize)]
struct Enroll {
    name: String,
    crop_ids: Vec<i64>,
}

/// Labels crops as a person (created on first use); their vectors become that person's references.
async fn enroll(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, AppError> {
    let enroll: Enroll = parse(&body)?;
    let name = checked_name(&enroll.name, "a person's name")?;
    if enroll.crop_ids.is_empty() {
        return Err(AppError::InvalidRequest("enrolling needs at least one crop_id".into()));
    }
    let mut db = state.db();
    let tx = db.transaction()?;
    tx.execute("INSERT INTO people (name) VALUES (?1) ON CONFLICT (name) DO NOTHING", [name])?;
    let person: i64 = tx.query_row("SELECT id FROM people WHERE name = ?1", [name], |r| r.get(0))?;
    for &crop in &enroll.crop_ids {
        if tx.execute("UPDATE face_crops SET person_id = ?1 WHERE id = ?2", [person, crop])? == 0 {
            return Err(AppError::CropNotFound(crop)); // dropping tx rolls back
        }
    }
    tx.commit()?;
    Ok(Json(json!({"status": "success", "person_id": person, "name": name, "crop_ids": enroll.crop_ids})))
}

async fn list_people(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let db = state.db();
    let mut stmt = db.prepare(
        "SELECT p.id, p.name, COUNT(c.id) FROM people p LEFT JOIN face_crops c ON c.person_id = p.id GROUP BY p.id ORDER BY p.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(json!({"id": r.get::<_, i64>(0)?, "name": r.get::<_, String>(1)?, "crops": r.get::<_, i64>(2)?}))
    })?;
    Ok(Json(Value::Array(rows.collect::<Result<_, _>>()?)))
}
