//! `Idempotency-Key` on the creates a client retries (the IETF httpapi draft's semantics): a
//! `POST` of a lesson, photo record, crop, vector or batch that carries the header is answered once; the same caller sending the same key with the same
//! request again gets the first answer again (`Idempotent-Replayed: true`), never a second
//! object; the same key with another request is `422 IdempotencyKeyReused`; while the first is
//! being answered, a second is `409 Conflict`. A client retrying after a lost answer (a dropped
//! connection, a 502 from a proxy) sends the same key, so a retried photo, crop or vector is
//! stored once.
//!
//! ```text
//! POST /sessions/812/crops/?filename=f.jpg   Idempotency-Key: 6f1c…   → 201 {"crop_id": 4411, …}   (stored)
//! POST /sessions/812/crops/?filename=f.jpg   Idempotency-Key: 6f1c…   → 201 {"crop_id": 4411, …}   (replayed)
//! POST /sessions/813/crops/?filename=g.jpg   Idempotency-Key: 6f1c…   → 422 IdempotencyKeyReused
//! ```
//!
//! What is kept: final answers (2xx, and 4xx other than 408, 409, 425, 429, which a retry may
//! change), per caller and key, for a day (the retention purge clears older ones). The answer
//! is stored right after the request's own transaction commits: a crash in between (no answer
//! was sent either) lets a retry run the request again.

use crate::api::{paths, API_BASE, MAX_IMAGE_BODY};
use crate::error::AppError;
use crate::scope::Caller;
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// The request header.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The longest key accepted (a UUID is 36).
const MAX_KEY_LEN: usize = 255;

/// Stored answers older than this are cleared by the retention purge.
pub(crate) const KEEP_HOURS: u32 = 24;

/// Whether an answer is final: a retry with the same key gets it again.
fn is_final(status: StatusCode) -> bool {
    (status.is_success() || status.is_client_error()) && ![408, 409, 425, 429].contains(&status.as_u16())
}

/// Clears the key from the in-flight set when the request ends, however it ends.
struct InFlight<'a>(&'a AppState, (String, String));

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.1);
    }
}

/// The layer: after the token (it needs the caller), before the handlers.
pub(crate) async fn idempotent(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(next.run(request).await);
    };
    if *request.method() != Method::POST || !covered(request.uri().path()) {
        return Ok(next.run(request).await);
    }
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            AppError::InvalidRequest(format!("Idempotency-Key must be 1–{MAX_KEY_LEN} visible ASCII characters"))
        })?
        .to_string();
    let caller = request.extensions().get::<Caller>().map_or_else(
        || "?".to_string(),
        |c| match c.id {
            Some(id) => format!("user {id}"),
            None => "server token".to_string(),
        },
    );
    // The request's fingerprint: its call and its body (read here; the handlers' own limits
    // still apply to what is handed on).
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_IMAGE_BODY).await else {
        // Too large, or cut off: answered as the routes' own limit is (lib.rs's json_errors).
        return Ok(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    };
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update(b" ");
    hash.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
    hash.update(b"\n");
    hash.update(parts.headers.get(header::CONTENT_TYPE).map_or(&b""[..], |v| v.as_bytes()));
    hash.update(b"\n");
    hash.update(&bytes);
    let fingerprint: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();

    let (caller_, key_) = (caller.clone(), key.clone());
    let stored = state
        .read(move |db, _| {
            Ok(db
                .query_row(
                    "SELECT fingerprint, status, content_type, body FROM idempotency WHERE caller = ?1 AND key = ?2",
                    params![caller_, key_],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, u16>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Vec<u8>>(3)?,
                        ))
                    },
                )
                .optional()?)
        })
        .await?;
    if let Some((first, status, content_type, body)) = stored {
        if first != fingerprint {
            return Err(AppError::IdempotencyKeyReused(format!("first with another call or body, by {caller}")));
        }
        tracing::info!(key, "Idempotency-Key {key}: the first answer replayed");
        return Ok(replay(status, content_type, body));
    }
    let flight = (caller.clone(), key.clone());
    if !state.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(flight.clone()) {
        return Err(AppError::Conflict(format!(
            "a request with Idempotency-Key {key} is being answered; retry after it"
        )));
    }
    let _guard = InFlight(&state, flight);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if !is_final(response.status()) {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX).await.map_err(|e| AppError::Internal(format!("reading an answer: {e}")))?;
    let status = parts.status.as_u16();
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let stored_body = body.to_vec();
    let about = about(&stored_body);
    state
        .write(move |db, _| {
            db.execute(
                "INSERT OR REPLACE INTO idempotency (caller, key, fingerprint, status, content_type, body, about) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![caller, key, fingerprint, status, content_type, stored_body, about],
            )?;
            Ok(())
        })
        .await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The creates a client retries: a lesson, a photo record, a crop, a vector, a batch of
/// vectors. Their answers hold ids, sizes and file names, not a pupil's name; other calls
/// ignore the header (their answers would keep pupils' data a day beyond an erasure).
const COVERED: [&str; 5] =
    [paths::SESSIONS, paths::SESSION_PHOTOS, paths::SESSION_CROPS, paths::CROP_EMBEDDING, paths::EMBEDDINGS_BATCH];

/// Whether `path` is one of [`COVERED`], `{id}` standing for a number (under the router's
/// nest the path arrives without [`API_BASE`]).
fn covered(path: &str) -> bool {
    let given: Vec<&str> = path.strip_prefix(API_BASE).unwrap_or(path).split('/').collect();
    COVERED.iter().any(|template| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == given.len()
            && parts.iter().zip(&given).all(|(t, g)| if *t == "{id}" { g.parse::<i64>().is_ok() } else { t == g })
    })
}

/// What a stored answer is about, for erasure: `crop:<id>` or `photo:<id>`.
fn about(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(id) = value.get("crop_id").and_then(|v| v.as_i64()) {
        Some(format!("crop:{id}"))
    } else {
        value.get("photo_id").and_then(|v| v.as_i64()).map(|id| format!("photo:{id}"))
    }
}

/// Erases the stored answers about the face crops `condition` (on `?1`) selects, before they
/// are deleted: a file name goes with its crop.
pub(crate) fn forget_crops(db: &rusqlite::Connection, condition: &str, param: i64) -> Result<(), AppError> {
    forget(db, "crop", "face_crops", condition, param)
}

/// The same for the photos `condition` (on `?1`) selects.
pub(crate) fn forget_photos(db: &rusqlite::Connection, condition: &str, param: i64) -> Result<(), AppError> {
    forget(db, "photo", "photos", condition, param)
}

/// One statement for every row: `about` is `<kind>:<id>`.
fn forget(db: &rusqlite::Connection, kind: &str, table: &str, condition: &str, param: i64) -> Result<(), AppError> {
    db.execute(
        &format!("DELETE FROM idempotency WHERE about IN (SELECT '{kind}:' || id FROM {table} WHERE {condition})"),
        [param],
    )?;
    Ok(())
}

/// A stored answer, sent again.
fn replay(status: u16, content_type: Option<String>, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Some(t) = content_type.and_then(|t| HeaderValue::from_str(&t).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, t);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
