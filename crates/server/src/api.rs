//! The HTTP API of DESIGN.md: crops in, vectors validated and stored, assignment and clusters out.

use crate::cluster;
use crate::db::{self, vector_to_blob};
use crate::error::AppError;
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

/// Every `/api` route; all of them need the bearer token.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/sessions/", get(list_sessions).post(create_session))
        .route("/sessions/{id}/face-crops/", get(list_crops).post(upload_crop))
        .route("/sessions/{id}/assignments/", post(assign))
        .route("/face-crops/{id}/image/", get(crop_image))
        .route("/face-crops/{id}/embedding/", post(post_embedding))
        .route("/face-crops/embeddings-batch/", post(post_embeddings_batch))
        .route("/people/", get(list_people).post(enroll))
        .layer(axum::middleware::from_fn_with_state(state, require_token))
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, AppError> {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if constant_time_eq(token.as_bytes(), state.token.as_bytes()) => Ok(next.run(request).await),
        _ => Err(AppError::Unauthorized),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// JSON bodies parsed here rather than by axum's extractor, so a malformed body gets our
/// error shape (`InvalidRequest`) instead of a bare text answer.
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::InvalidRequest(format!("invalid JSON body: {e}")))
}

fn session_exists(state: &AppState, id: i64) -> Result<(), AppError> {
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
    let name = new.name.trim();
    if name.is_empty() {
        return Err(AppError::InvalidRequest("a session needs a name".into()));
    }
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
    let image = decode_image(&body, &Limits::default())?;
    let content_type = image::guess_format(&body).map(|f| f.to_mime_type()).unwrap_or("application/octet-stream");
    let filename = query.filename.unwrap_or_else(|| "crop".into());
    let db = state.db();
    db.execute(
        "INSERT INTO face_crops (session_id, filename, content_type, image, width, height) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![session, filename, content_type, body.as_ref(), image.width(), image.height()],
    )?;
    let id = db.last_insert_rowid();
    let body = json!({"status": "success", "crop_id": id, "filename": filename, "width": image.width(), "height": image.height()});
    Ok((axum::http::StatusCode::CREATED, Json(body)).into_response())
}

async fn list_crops(State(state): State<AppState>, Path(session): Path<i64>) -> Result<Json<Value>, AppError> {
    session_exists(&state, session)?;
    let db = state.db();
    let mut stmt = db.prepare(
        "SELECT c.id, c.filename, c.width, c.height, c.person_id, p.name,
                (SELECT group_concat(model_name) FROM embeddings e WHERE e.crop_id = c.id)
         FROM face_crops c LEFT JOIN people p ON p.id = c.person_id WHERE c.session_id = ?1 ORDER BY c.id",
    )?;
    let rows = stmt.query_map([session], |r| {
        let models: Option<String> = r.get(6)?;
        Ok(json!({
            "id": r.get::<_, i64>(0)?, "filename": r.get::<_, String>(1)?,
            "width": r.get::<_, i64>(2)?, "height": r.get::<_, i64>(3)?,
            "person_id": r.get::<_, Option<i64>>(4)?, "person_name": r.get::<_, Option<String>>(5)?,
            "embeddings": models.map(|m| m.split(',').map(str::to_string).collect::<Vec<_>>()).unwrap_or_default(),
        }))
    })?;
    Ok(Json(Value::Array(rows.collect::<Result<_, _>>()?)))
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

/// Validates and stores one vector: the same vector twice is stored once; a different one
/// needs `force_regenerate`.
fn store(state: &AppState, crop: i64, post: &EmbeddingPost, version: Option<&str>) -> Result<Value, AppError> {
    let vector = validate(state, &post.model_name, version, &post.embedding)?;
    let db = state.db();
    let exists: Option<i64> =
        db.query_row("SELECT id FROM face_crops WHERE id = ?1", [crop], |r| r.get(0)).optional()?;
    exists.ok_or(AppError::CropNotFound(crop))?;
    let message = match db::vector_of(&db, crop, &post.model_name)? {
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
    Ok(json!({"status": "success", "crop_id": crop, "embedding_model": post.model_name,
              "embedding_dimension": vector.len(), "message": message}))
}

async fn post_embedding(
    State(state): State<AppState>,
    Path(crop): Path<i64>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let post: EmbeddingPost = parse(&body)?;
    store(&state, crop, &post, post.model_version.as_deref()).map(Json)
}

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

/// Each item succeeds or fails alone; the answer lists one result per item, in order.
async fn post_embeddings_batch(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, AppError> {
    let batch: BatchPost = parse(&body)?;
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
            store(&state, item.crop_id, &post, version.as_deref()).unwrap_or_else(|e| {
                failed += 1;
                json!({"status": "error", "crop_id": item.crop_id, "error_type": e.code().0, "message": e.to_string()})
            })
        })
        .collect();
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
    let name = enroll.name.trim();
    if name.is_empty() || enroll.crop_ids.is_empty() {
        return Err(AppError::InvalidRequest("enrolling needs a name and at least one crop_id".into()));
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

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssignRequest {
    model_name: Option<String>,
    threshold: Option<f32>,
    cluster_threshold: Option<f32>,
}

/// Assigns each embedded crop of the session to the nearest enrolled person within `threshold`
/// (cosine distance), and clusters the rest (average linkage, `cluster_threshold`).
async fn assign(State(state): State<AppState>, Path(session): Path<i64>, body: Bytes) -> Result<Json<Value>, AppError> {
    session_exists(&state, session)?;
    let request: AssignRequest = if body.is_empty() { AssignRequest::default() } else { parse(&body)? };
    let model = request.model_name.unwrap_or_else(|| "facenet".into());
    if !state.dimensions.contains_key(&model) {
        return Err(AppError::InvalidRequest(format!("unknown model_name {model:?}")));
    }
    let threshold = request
        .threshold
        .unwrap_or_else(|| state.thresholds.get(&model).copied().unwrap_or(cluster::FALLBACK_THRESHOLD));
    let cluster_threshold = request.cluster_threshold.unwrap_or(threshold);
    if !(0.0..=2.0).contains(&threshold) || !(0.0..=2.0).contains(&cluster_threshold) {
        return Err(AppError::InvalidRequest("thresholds are cosine distances, between 0 and 2".into()));
    }
    let db = state.db();
    let crops = db::vectors(&db, &model, Some(session))?;
    let enrolled: Vec<(i64, Vec<f32>)> =
        db::vectors(&db, &model, None)?.into_iter().filter_map(|v| v.person_id.map(|p| (p, v.vector))).collect();
    let names: std::collections::HashMap<i64, String> = {
        let mut stmt = db.prepare("SELECT id, name FROM people")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut assigned = Vec::new();
    let mut unknown = Vec::new();
    for crop in crops {
        let nearest = match crop.person_id {
            Some(person) => Some((person, 0.0)), // enrolled: its own label
            None => cluster::nearest_person(&crop.vector, &enrolled).filter(|(_, d)| *d <= threshold),
        };
        match nearest {
            Some((person, distance)) => assigned.push(json!({
                "crop_id": crop.crop_id, "person_id": person, "person_name": names.get(&person), "distance": distance
            })),
            None => unknown.push(crop),
        }
    }
    let (unknown_ids, vectors): (Vec<i64>, Vec<Vec<f32>>) = unknown.into_iter().map(|c| (c.crop_id, c.vector)).unzip();
    let clusters: Vec<Value> = cluster::cluster(&vectors, cluster_threshold)
        .into_iter()
        .map(|members| json!({"crop_ids": members.iter().map(|&i| unknown_ids[i]).collect::<Vec<_>>()}))
        .collect();
    let not_embedded: Vec<i64> = {
        let mut stmt = db.prepare(
            "SELECT id FROM face_crops c WHERE session_id = ?1
             AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.crop_id = c.id AND e.model_name = ?2) ORDER BY id",
        )?;
        let rows = stmt.query_map(params![session, model], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    Ok(Json(json!({
        "status": "success", "session_id": session, "model_name": model,
        "threshold": threshold, "cluster_threshold": cluster_threshold,
        "assigned": assigned, "clusters": clusters, "not_embedded": not_embedded,
    })))
}
