//! The error codes of the core and of the browser client, and the core's error type. The HTTP
//! API adds its own codes (facenet-server's `ApiErrorCode`); www/client/contract.js is generated
//! from both lists.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Defines `ErrorCode` once: its variants (with their docs), `ALL` in declaration order, and
/// `as_str`, the name on the wire, which is the variant's own name.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $name:ident,)+) => {
        /// The stable name of what went wrong in the core (decoding, models, inference) or in the
        /// browser client around it (fetching, workers), as `error.code` in JavaScript and, for
        /// an image the server could not read, `error_type` in the HTTP API. Names never change
        /// once published.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $name,)+
        }

        impl ErrorCode {
            /// Every code, in documentation order.
            pub const ALL: [ErrorCode; [$(stringify!($name)),+].len()] = [$(ErrorCode::$name),+];

            /// The code as it appears on the wire, e.g. `"DecodeError"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)+
                }
            }
        }
    };
}

error_codes! {
    /// The bytes claim a known image format but are corrupt, truncated or empty.
    DecodeError,
    /// The bytes are not an image format we decode (JPEG, PNG, WebP, BMP, GIF).
    UnsupportedFormat,
    /// Width, height or decoded size is over the configured [`Limits`](crate::Limits).
    ImageTooLarge,
    /// A side is under [`Limits::min_side`](crate::Limits::min_side): no face fits in it.
    ImageTooSmall,
    /// The caller passed something malformed (pixel buffer of the wrong length, unreadable file).
    InvalidInput,
    /// The model file or its manifest is missing, corrupt, of the wrong hash, or not runnable.
    ModelLoadError,
    /// The requested model name is not one the manifest offers.
    UnknownModel,
    /// The model ran but failed or produced an output that does not fit the manifest.
    InferenceError,
    /// Fetching an input URL failed: network error or an HTTP status other than 401/403/404
    /// (JavaScript client).
    FetchError,
    /// A browser worker died while handling the request (JavaScript client).
    WorkerCrashed,
    /// A request took longer than its timeout (JavaScript client).
    Timeout,
    /// The request was abandoned: the embedder was terminated first (JavaScript client).
    Cancelled,
    /// The browser lacks something facenet-wasm cannot run without (WebAssembly SIMD, module
    /// workers, OffscreenCanvas, createImageBitmap, IndexedDB); the message names each one in
    /// words a teacher can pass on (JavaScript client).
    BrowserUnsupported,
    /// The device's storage refused what had to be kept (IndexedDB's quota): nothing of the
    /// item was kept, nothing queued before is lost (JavaScript client).
    StorageFull,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why embedding one image (or loading the model) failed. Each variant is named after its
/// [`ErrorCode`]; messages say what arrived and, where the caller can act, what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// See [`ErrorCode::DecodeError`].
    #[error("cannot decode the {format} image: {reason}")]
    DecodeError {
        /// The format the bytes claim to be, e.g. `"JPEG"`.
        format: String,
        /// What the decoder found wrong.
        reason: String,
    },
    /// See [`ErrorCode::UnsupportedFormat`].
    #[error("not a supported image (JPEG, PNG, WebP, BMP or GIF): {0}")]
    UnsupportedFormat(String),
    /// See [`ErrorCode::ImageTooLarge`].
    #[error("image too large: {0}")]
    ImageTooLarge(String),
    /// See [`ErrorCode::ImageTooSmall`].
    #[error("image is {width}×{height} pixels; each side must be at least {min_side}")]
    ImageTooSmall {
        /// Width of the image as decoded.
        width: u32,
        /// Height of the image as decoded.
        height: u32,
        /// The configured minimum side.
        min_side: u32,
    },
    /// See [`ErrorCode::InvalidInput`].
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// See [`ErrorCode::ModelLoadError`].
    #[error("cannot load the model: {0}")]
    ModelLoadError(String),
    /// See [`ErrorCode::UnknownModel`].
    #[error("unknown model {name:?}; this model file offers: {}", available.join(", "))]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names the manifest offers.
        available: Vec<String>,
    },
    /// See [`ErrorCode::InferenceError`].
    #[error("inference failed: {0}")]
    InferenceError(String),
}

impl EmbedError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            EmbedError::DecodeError { .. } => ErrorCode::DecodeError,
            EmbedError::UnsupportedFormat(_) => ErrorCode::UnsupportedFormat,
            EmbedError::ImageTooLarge(_) => ErrorCode::ImageTooLarge,
            EmbedError::ImageTooSmall { .. } => ErrorCode::ImageTooSmall,
            EmbedError::InvalidInput(_) => ErrorCode::InvalidInput,
            EmbedError::ModelLoadError(_) => ErrorCode::ModelLoadError,
            EmbedError::UnknownModel { .. } => ErrorCode::UnknownModel,
            EmbedError::InferenceError(_) => ErrorCode::InferenceError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }
}
