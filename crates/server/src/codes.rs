//! The API's own error codes with their HTTP statuses, and `ErrorType`, the `error_type` of an
//! answer (a core code or an API code). At the bottom of the crate: the wire types and the
//! handlers' error type (`error.rs`) both name codes.

use axum::http::StatusCode;
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
    /// Missing, wrong, revoked or expired bearer token.
    Unauthorized = 401,
    /// The caller's account may not make this call (an admin's call asked by a teacher).
    Forbidden = 403,
    /// The call clashes with what is stored: a name two pupils of the class share, an external
    /// id another pupil has, a crop enrolled as someone else, a register that is not finalised.
    Conflict = 409,
    /// The session's register is finalised: it changes only after `POST …/reopen/`.
    RegisterFinalized = 409,
    /// The pupil's consent to the use of their face is not given (or was refused or
    /// withdrawn): they cannot be enrolled, matched or given a face.
    ConsentRequired = 409,
    /// A face offered as a pupil's reference is too poor to know them by (small, blurred, turned
    /// or tilted, or a faint find): the message names the crop and its concerns (`small_face`,
    /// …); enrol a larger, sharper, frontal face.
    PoorReference = 422,
    /// The `Idempotency-Key` was used before with another request (another call or body): a
    /// new request needs a new key.
    IdempotencyKeyReused = 422,
    /// A call of the old server-side embedding service: vectors are computed in the browser
    /// now and posted to the embedding endpoints.
    EndpointMoved = 410,
    /// The call exists but does not take that method.
    MethodNotAllowed = 405,
    /// A request body too large for its route (16 MiB for images, 8 MiB for JSON).
    PayloadTooLarge = 413,
    /// Too many failed sign-ins this minute: wait a minute (`Retry-After`).
    TooManyRequests = 429,
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
