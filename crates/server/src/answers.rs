//! What handlers of every module share, below them all: a name checked as names are, and the
//! answers' shapes that carry headers (201 Created, images that no cache keeps).

use crate::error::AppError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The longest name (of a session, a person, a file) stored: names show in every list.
pub const MAX_NAME_LEN: usize = 200;

/// `text` trimmed, or an `InvalidRequest` when it is empty or longer than [`MAX_NAME_LEN`].
pub(crate) fn checked_name(text: &str, what: &str) -> Result<String, AppError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(AppError::InvalidRequest(format!("{what} must not be empty")));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_LEN {
        return Err(AppError::InvalidRequest(format!("{what} has {chars} characters; at most {MAX_NAME_LEN}")));
    }
    Ok(name.to_string())
}

/// `201 Created` with a JSON answer.
pub(crate) fn created(body: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// An image from the database with its type. Faces are biometric data: no cache keeps them
/// (`no-store`), so that an erasure leaves no copy in a browser's or a proxy's cache.
pub(crate) fn image_answer(content_type: String, bytes: Vec<u8>) -> Response {
    image_answer_bytes(&content_type, bytes, None)
}

/// Bytes of a type, never stored by a cache, optionally as a download (`Content-Disposition`).
pub(crate) fn image_answer_bytes(content_type: &str, bytes: Vec<u8>, disposition: Option<String>) -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, content_type.to_string()), (header::CACHE_CONTROL, "no-store".into())], bytes)
            .into_response();
    if let Some(d) = disposition.and_then(|d| header::HeaderValue::from_str(&d).ok()) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, d);
    }
    response
}
