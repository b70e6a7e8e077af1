// Generated from src/error.rs (ErrorCode::ALL) by tests/error_codes.rs: do not edit.
// Regenerate: FACENET_BLESS=1 cargo test --release --test error_codes

/**
 * The stable error codes of the Rust core, the JavaScript client (`error.code`) and the
 * HTTP API (`error_type`).
 * @typedef {'DecodeError'|'UnsupportedFormat'|'ImageTooLarge'|'ImageTooSmall'|'InvalidInput'|
 *   'ModelLoadError'|'UnknownModel'|'InferenceError'|'FetchError'|'WorkerCrashed'|
 *   'Timeout'|'Cancelled'|'CropNotFound'|'NotFound'|'InvalidRequest'|
 *   'EmbeddingExists'|'InvalidEmbedding'|'Unauthorized'|'EndpointMoved'|'InternalError'} ErrorCode
 */

/** @type {readonly ErrorCode[]} */
export const ERROR_CODES = Object.freeze([
  'DecodeError', 'UnsupportedFormat', 'ImageTooLarge', 'ImageTooSmall', 'InvalidInput',
  'ModelLoadError', 'UnknownModel', 'InferenceError', 'FetchError', 'WorkerCrashed',
  'Timeout', 'Cancelled', 'CropNotFound', 'NotFound', 'InvalidRequest',
  'EmbeddingExists', 'InvalidEmbedding', 'Unauthorized', 'EndpointMoved', 'InternalError',
]);
