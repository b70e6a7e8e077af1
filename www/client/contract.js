// Generated from the Rust definitions (facenet-wasm's ErrorCode and MODEL_VERSION_LEN, facenet-server's
// ApiErrorCode and paths, facenet-attendance's Doubt and GALLERY_SIZE) by crates/server/tests/contract.rs: do not edit.
// Regenerate: FACENET_BLESS=1 cargo test --release -p facenet-server --test contract

/**
 * The stable error codes: `error.code` in the client, `error_type` in the HTTP API.
 * @typedef {'DecodeError'|'UnsupportedFormat'|'ImageTooLarge'|'ImageTooSmall'|'InvalidInput'|
 *   'ModelLoadError'|'UnknownModel'|'InferenceError'|'FetchError'|'WorkerCrashed'|
 *   'Timeout'|'Cancelled'|'BrowserUnsupported'|'StorageFull'|'CropNotFound'|
 *   'NotFound'|'InvalidRequest'|'EmbeddingExists'|'InvalidEmbedding'|'Unauthorized'|
 *   'Forbidden'|'Conflict'|'RegisterFinalized'|'ConsentRequired'|'PoorReference'|
 *   'IdempotencyKeyReused'|'EndpointMoved'|'MethodNotAllowed'|'PayloadTooLarge'|'TooManyRequests'|
 *   'InternalError'} ErrorCode
 */

/** @type {readonly ErrorCode[]} */
export const ERROR_CODES = Object.freeze([
  'DecodeError', 'UnsupportedFormat', 'ImageTooLarge', 'ImageTooSmall', 'InvalidInput',
  'ModelLoadError', 'UnknownModel', 'InferenceError', 'FetchError', 'WorkerCrashed',
  'Timeout', 'Cancelled', 'BrowserUnsupported', 'StorageFull', 'CropNotFound',
  'NotFound', 'InvalidRequest', 'EmbeddingExists', 'InvalidEmbedding', 'Unauthorized',
  'Forbidden', 'Conflict', 'RegisterFinalized', 'ConsentRequired', 'PoorReference',
  'IdempotencyKeyReused', 'EndpointMoved', 'MethodNotAllowed', 'PayloadTooLarge', 'TooManyRequests',
  'InternalError',
]);

/**
 * The HTTP status each code is answered with by the API. The browser client alone raises
 * 'ModelLoadError', 'UnknownModel', 'InferenceError', 'FetchError', 'WorkerCrashed',
 * 'Cancelled', 'BrowserUnsupported', 'StorageFull'.
 * @type {Readonly<Partial<Record<ErrorCode, number>>>}
 */
export const HTTP_STATUS = Object.freeze({
  DecodeError: 422, UnsupportedFormat: 422, ImageTooLarge: 413, ImageTooSmall: 422, InvalidInput: 422,
  Timeout: 408, CropNotFound: 404, NotFound: 404, InvalidRequest: 400, EmbeddingExists: 409,
  InvalidEmbedding: 422, Unauthorized: 401, Forbidden: 403, Conflict: 409, RegisterFinalized: 409,
  ConsentRequired: 409, PoorReference: 422, IdempotencyKeyReused: 422, EndpointMoved: 410, MethodNotAllowed: 405,
  PayloadTooLarge: 413, TooManyRequests: 429, InternalError: 500,
});

/** Hex digits of the weights' sha256 that make a vector's `model_version`. */
export const MODEL_VERSION_LENGTH = 12;

/** Where the HTTP API lives. */
export const API_BASE = '/api/attendance';

/** The API's paths under `API_BASE`, `{id}` standing for a number. */
export const API_PATHS = Object.freeze({
  ME: '/me/',
  USERS: '/users/',
  USER_TOKENS: '/users/{id}/tokens/',
  CLASSES: '/classes/',
  CLASS: '/classes/{id}/',
  CLASS_PUPILS: '/classes/{id}/pupils/',
  CLASS_PUPIL: '/classes/{id}/pupils/{person_id}/',
  CLASS_ATTENDANCE: '/classes/{id}/attendance/',
  CLASS_ATTENDANCE_CSV: '/classes/{id}/attendance.csv',
  SESSIONS: '/sessions/',
  SESSION: '/sessions/{id}/',
  SESSION_CROPS: '/sessions/{id}/face-crops/',
  SESSION_PHOTOS: '/sessions/{id}/photos/',
  ASSIGNMENTS: '/sessions/{id}/assignments/',
  ATTENDANCE: '/sessions/{id}/attendance/',
  ATTENDANCE_CSV: '/sessions/{id}/attendance.csv',
  PHOTO_IMAGE: '/photos/{id}/image/',
  CROP_IMAGE: '/face-crops/{id}/image/',
  CROP_EMBEDDING: '/face-crops/{id}/embedding/',
  EMBEDDINGS_BATCH: '/face-crops/embeddings-batch/',
  PEOPLE: '/people/',
  PERSON: '/people/{id}/',
  PERSON_REFERENCES: '/people/{id}/references/',
  PERSON_ATTENDANCE: '/people/{id}/attendance/',
  MARK: '/sessions/{id}/attendance/{person_id}/',
  FINALIZE: '/sessions/{id}/finalize/',
  REOPEN: '/sessions/{id}/reopen/',
  CROP_PERSON: '/face-crops/{id}/person/',
  CONSENT: '/people/{id}/consent/',
  PERSON_EXPORT: '/people/{id}/export/',
  CROP: '/face-crops/{id}/',
  PHOTO: '/photos/{id}/',
  AUDIT: '/audit/',
  AUDIT_CSV: '/audit.csv',
  RETENTION: '/retention/',
  PURGE: '/retention/purge/',
  SETTINGS: '/settings/',
  OLD_GENERATE_EMBEDDING: '/face-crops/{id}/generate-embedding/',
  OLD_GENERATE_EMBEDDINGS_BATCH: '/face-crops/generate-embeddings-batch/',
});

/** Why a face of a register's `unsure` list is in doubt: its `doubt` code → what a teacher reads. */
export const DOUBTS = Object.freeze({
  small_face: 'the face is small in the photo',
  faint_face: 'the detector was not sure it is a face',
  turned_face: 'the face is turned sideways',
  tilted_face: 'the face looks up or down',
  blurred_face: 'the face is blurred',
  close_call: 'another pupil looks almost as alike',
});

/** The most faces finalised registers confirmed that a pupil's references keep (facenet-attendance's gallery). */
export const GALLERY_SIZE = 3;
