//! One error type for every handler, answered as `{"status":"error","error_type","message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use facenet_wasm::ErrorCode;

/// What a request can fail with. 4xx are the caller's to fix and are not logged; 5xx are
/// logged with their detail and answered with a plain message.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing or wrong bearer token.
    #[error("missing or wrong bearer token: send Authorization: Bearer <the token facenet-server printed>")]
    Unauthorized,
    /// No face crop with that id.
    #[error("no face crop {0}")]
    CropNotFound(i64),
    /// No session or person with that id.
    #[error("{0}")]
    NotFound(String),
    /// Malformed body or parameters.
    #[error("{0}")]
    InvalidRequest(String),
    /// A posted vector failed validation.
    #[error("{0}")]
    InvalidEmbedding(String),
    /// A different vector is stored already and `force_regenerate` was false.
    #[error("face crop {0} already has a different {1} vector; post with \"force_regenerate\": true to replace it")]
    EmbeddingExists(i64, String),
    /// An uploaded crop is not an image we can read.
    #[error(transparent)]
    Image(#[from] facenet_wasm::EmbedError),
    /// A call of the old system that computed vectors on the server.
    #[error(
        "{0} is gone: vectors are computed in the browser now (FaceEmbedder in www/client/facenet.js) and posted to \
             POST /api/attendance/face-crops/{{id}}/embedding/ or POST /api/attendance/face-crops/embeddings-batch/"
    )]
    EndpointMoved(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// Anything else of ours that failed (a blocking task that panicked).
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// The stable code and HTTP status of this error.
    pub fn code(&self) -> (ErrorCode, StatusCode) {
        match self {
            AppError::Unauthorized => (ErrorCode::Unauthorized, StatusCode::UNAUTHORIZED),
            AppError::CropNotFound(_) => (ErrorCode::CropNotFound, StatusCode::NOT_FOUND),
            AppError::NotFound(_) => (ErrorCode::NotFound, StatusCode::NOT_FOUND),
            AppError::InvalidRequest(_) => (ErrorCode::InvalidRequest, StatusCode::BAD_REQUEST),
            AppError::InvalidEmbedding(_) => (ErrorCode::InvalidEmbedding, StatusCode::UNPROCESSABLE_ENTITY),
            AppError::EmbeddingExists(..) => (ErrorCode::EmbeddingExists, StatusCode::CONFLICT),
            AppError::Image(e) if e.code() == ErrorCode::ImageTooLarge => (e.code(), StatusCode::PAYLOAD_TOO_LARGE),
            AppError::Image(e) => (e.code(), StatusCode::UNPROCESSABLE_ENTITY),
            AppError::EndpointMoved(_) => (ErrorCode::EndpointMoved, StatusCode::GONE),
            AppError::Database(_) | AppError::Internal(_) => {
                (ErrorCode::InternalError, StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (code, status) = self.code();
        let message = if status.is_server_error() {
            tracing::error!(error_type = %code, "{self}");
            "internal error; see the server log".to_string()
        } else {
            self.to_string()
        };
        let body = serde_json::json!({"status": "error", "error_type": code, "message": message});
        let mut response = (status, Json(body)).into_response();
        // For the request log line (lib.rs): which error this answer carries.
        response.extensions_mut().insert(code);
        response
    }
}
