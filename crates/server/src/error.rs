//! One error type for every handler, answered as `{"status":"error","error_type","message"}`
//! ([`crate::wire::ErrorBody`]) with the status of its code (`codes.rs`).

use crate::codes::{ApiErrorCode, ErrorType};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// What a request can fail with. 4xx are the caller's to fix and are not logged; 5xx are
/// logged with their detail and answered with a plain message.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing, wrong, revoked or expired bearer token.
    #[error(
        "missing, wrong, revoked or expired bearer token: send Authorization: Bearer <your token> \
         (an admin makes one with facenet-server users add NAME)"
    )]
    Unauthorized,
    /// Too many failed sign-ins this minute.
    #[error("too many failed sign-ins this minute; try again in a minute")]
    TooManyRequests,
    /// An admin's call asked by a teacher.
    #[error("{0} is for admins")]
    Forbidden(String),
    /// The call clashes with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// An `Idempotency-Key` sent again with another request.
    #[error("this Idempotency-Key was used with another request ({0}); send a new key for a new request")]
    IdempotencyKeyReused(String),
    /// The pupil's consent is not given.
    #[error("pupil {0}'s consent to the use of their face is {1}: record it first (PUT /api/attendance/people/{0}/consent/)")]
    ConsentRequired(i64, &'static str),
    /// A reference face too poor to know the pupil by: the crop, its concerns' codes and words.
    #[error("face crop {0} is too poor to be a reference ({1}): enrol a larger, sharper, frontal face")]
    PoorReference(i64, String),
    /// The session's register is finalised.
    #[error("the register of session {0} is finalised: reopen it (POST …/sessions/{0}/reopen/) to change it")]
    RegisterFinalized(i64),
    /// No face crop with that id.
    #[error("no face crop {0}")]
    CropNotFound(i64),
    /// No session, photo or person with that id; no such API call.
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
    /// The database file named failed (read-only, disk full, corrupt).
    #[error("database {0}: {1}")]
    DatabaseFile(String, rusqlite::Error),
    /// Anything else of ours that failed (a blocking task that panicked).
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// The stable code of this error; its HTTP status is `code().status()`.
    pub fn code(&self) -> ErrorType {
        use ApiErrorCode as A;
        match self {
            AppError::Unauthorized => ErrorType::Api(A::Unauthorized),
            AppError::Forbidden(_) => ErrorType::Api(A::Forbidden),
            AppError::TooManyRequests => ErrorType::Api(A::TooManyRequests),
            AppError::Conflict(_) => ErrorType::Api(A::Conflict),
            AppError::IdempotencyKeyReused(_) => ErrorType::Api(A::IdempotencyKeyReused),
            AppError::RegisterFinalized(_) => ErrorType::Api(A::RegisterFinalized),
            AppError::ConsentRequired(..) => ErrorType::Api(A::ConsentRequired),
            AppError::PoorReference(..) => ErrorType::Api(A::PoorReference),
            AppError::CropNotFound(_) => ErrorType::Api(A::CropNotFound),
            AppError::NotFound(_) => ErrorType::Api(A::NotFound),
            AppError::InvalidRequest(_) => ErrorType::Api(A::InvalidRequest),
            AppError::InvalidEmbedding(_) => ErrorType::Api(A::InvalidEmbedding),
            AppError::EmbeddingExists(..) => ErrorType::Api(A::EmbeddingExists),
            AppError::Image(e) => ErrorType::Core(e.code()),
            AppError::EndpointMoved(_) => ErrorType::Api(A::EndpointMoved),
            AppError::Database(_) | AppError::DatabaseFile(..) | AppError::Internal(_) => {
                ErrorType::Api(A::InternalError)
            }
        }
    }
}

/// An error answer: the status of `code`, the error shape, and `code` in the response's
/// extensions for the request log line (lib.rs).
pub(crate) fn answer(code: ErrorType, message: String) -> Response {
    let body = crate::wire::ErrorBody { status: crate::wire::Status::Error, error_type: code, message };
    let mut response = (code.status(), Json(body)).into_response();
    response.extensions_mut().insert(code);
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let code = self.code();
        let message = if code.status().is_server_error() {
            tracing::error!(error_type = %code, "{self}");
            "internal error; see the server log".to_string()
        } else {
            self.to_string()
        };
        let retry = matches!(self, AppError::TooManyRequests);
        let mut response = answer(code, message);
        if retry {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
        }
        response
    }
}
