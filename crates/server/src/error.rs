//! The API's own error codes (with their HTTP statuses), and one error type for every handler,
//! answered as `{"status":"error","error_type","message"}` ([`crate::wire::ErrorBody`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use facenet_wasm::ErrorCode;
use serde::{Serialize, Serializer};
use std::fmt;

/// Defines `ApiErrorCode` once: variants with their docs and HTTP status, `ALL` in declaration
/// order, `as_str` (the variant's name, as on the wire) and `status`.
macro_rules! api_error_codes {
    ($($(#[doc = $doc:literal])+ $name:ident = $status:literal,)+) => {
        /// What only the HTTP API can answer (the core's [`ErrorCode`]s cover images and models).
        /// www/client/contract.js is generated from this list and the core's. Names never change
        /// once published.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ApiErrorCode {
            $($(#[doc = $doc])+ $name,)+
        }

        impl ApiErrorCode {
            /// Every code, in documentation order.
            pub const ALL: [ApiErrorCode; [$(stringify!($name)),+].len()] = [$(ApiErrorCode::$name),+];

            /// The code as it appears on the wire, e.g. `"CropNotFound"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ApiErrorCode::$name => stringify!($name),)+
                }
            }

            /// The HTTP status this code is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ApiErrorCode::$name => StatusCode::from_u16($status).expect("a valid status"),)+
                }
            }
        }
    };
}

api_error_codes! {
    /// The backend has no face crop with that id.
    CropNotFound = 404,
    /// The backend has no session, photo or person with that id, or no such API call.
    NotFound = 404,
    /// The request body or its parameters are malformed, or over a limit.
    InvalidRequest = 400,
    /// The crop already has a different vector for this model; post with `force_regenerate`
    /// to replace it.
    EmbeddingExists = 409,
    /// A posted embedding failed validation: dimension, finiteness, norm, model or version.
    InvalidEmbedding = 422,
    /// Missing or wrong bearer token.
    Unauthorized = 401,
    /// A call of the old server-side embedding service: vectors are computed in the browser
    /// now and posted to the embedding endpoints.
    EndpointMoved = 410,
    /// The call exists but does not take that method.
    MethodNotAllowed = 405,
    /// A request body too large for its route (16 MiB for images, 8 MiB for JSON).
    PayloadTooLarge = 413,
    /// The backend failed; the details are in its log, not in the answer.
    InternalError = 500,
}

/// The HTTP status of a core code when the server answers it: an uploaded image it could not
/// read, or a request that took too long. `None` for codes only the browser client raises.
pub fn core_status(code: ErrorCode) -> Option<StatusCode> {
    match code {
        ErrorCode::ImageTooLarge => Some(StatusCode::PAYLOAD_TOO_LARGE),
        ErrorCode::DecodeError | ErrorCode::UnsupportedFormat | ErrorCode::ImageTooSmall | ErrorCode::InvalidInput => {
            Some(StatusCode::UNPROCESSABLE_ENTITY)
        }
        ErrorCode::Timeout => Some(StatusCode::REQUEST_TIMEOUT),
        _ => None,
    }
}

/// The `error_type` of an answer: one of the core's codes or one of the API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// An image the server could not read, a request that took too long.
    Core(ErrorCode),
    /// Everything else.
    Api(ApiErrorCode),
}

impl ErrorType {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Core(c) => c.as_str(),
            ErrorType::Api(c) => c.as_str(),
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::Core(c) => core_status(c).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ErrorType::Api(c) => c.status(),
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

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
        answer(code, message)
    }
}
