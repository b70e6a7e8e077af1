//! Request bodies, read by the handlers themselves.

use crate::error::AppError;
use axum::body::Bytes;

/// JSON bodies parsed here rather than by axum's extractor, so a malformed body gets our
/// error shape (`InvalidRequest`) instead of a bare text answer.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::InvalidRequest(format!("invalid JSON body: {e}")))
}
