//! What goes over the wire: every request body and query the API reads and every answer it
//! gives, as types. The README's API section documents these; `tests/contract.rs` generates
//! `www/client/contract.js` (error codes, statuses, paths) from the same crate.
//!
//! Answers that acknowledge a write carry `"status": "success"` (a batch: `"partial"` or
//! `"error"` when items failed); errors are [`ErrorBody`].

use crate::codes::ErrorType;
use serde::{Deserialize, Serialize};

/// `status` of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything asked was done.
    Success,
    /// A batch of which some items failed (each says why).
    Partial,
    /// Nothing was done: see `error_type` and `message`.
    Error,
}

/// Every error answer: `{"status":"error","error_type":"CropNotFound","message":"no face crop 7"}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Always [`Status::Error`].
    pub status: Status,
    /// The stable code (www/client/contract.js lists them with their statuses).
    pub error_type: ErrorType,
    /// For people: what was wrong and, where the caller can act, what to do.
    pub message: String,
}

// ---- sessions --------------------------------------------------------------------------

/// `POST /sessions/`: `{"name": "Monday 9:00"}`.
#[derive(Debug, Deserialize)]
pub struct NewSession {
    /// 1–200 characters after trimming.
    pub name: String,
}

/// Answer to `POST /sessions/` (201).
#[derive(Debug, Serialize)]
pub struct SessionCreated {
    /// [`Status::Success`].
    pub status: Status,
    /// The new session's id.
    pub id: i64,
    /// Its name, trimmed.
    pub name: String,
}

/// One entry of `GET /sessions/`.
#[derive(Debug, Serialize)]
pub struct SessionSummary {
    /// Session id.
    pub id: i64,
    /// Session name.
    pub name: String,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub created_at: String,
    /// How many face crops it holds.
    pub crops: i64,
}

// ---- photos and crops ------------------------------------------------------------------

/// Query of `POST /sessions/{id}/face-crops/` (body: the crop's image bytes) and of
/// `POST /sessions/{id}/photos/` with an image body.
#[derive(Debug, Deserialize, Default)]
pub struct UploadQuery {
    /// Stored and listed; default `crop` / `photo`.
    pub filename: Option<String>,
    /// The photo the crop was cut from (same session).
    pub photo_id: Option<i64>,
    /// Where in the photo: `x,y,width,height` in its pixels.
    #[serde(rename = "box")]
    pub bbox: Option<String>,
    /// The five landmarks: `x1,y1,…,x5,y5`.
    pub landmarks: Option<String>,
    /// The detector's score, 0–1.
    pub score: Option<f64>,
}

/// A face's box in its photo, in the photo's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// Answer to a crop upload (201).
#[derive(Debug, Serialize)]
pub struct CropCreated {
    /// [`Status::Success`].
    pub status: Status,
    /// The new crop's id: vectors are posted for it.
    pub crop_id: i64,
    /// As stored.
    pub filename: String,
    /// Decoded width.
    pub width: u32,
    /// Decoded height.
    pub height: u32,
    /// The photo it came from, if given.
    pub photo_id: Option<i64>,
}

/// One entry of `GET /sessions/{id}/face-crops/`.
#[derive(Debug, Serialize)]
pub struct Crop {
    /// Crop id.
    pub id: i64,
    /// As uploaded.
    pub filename: String,
    /// Pixels.
    pub width: i64,
    /// Pixels.
    pub height: i64,
    /// The person it was enrolled as, if any.
    pub person_id: Option<i64>,
    /// That person's name.
    pub person_name: Option<String>,
    /// The models it has a vector of, e.g. `["facenet"]`.
    pub embeddings: Vec<String>,
    /// The photo it came from.
    pub photo_id: Option<i64>,
    /// Where in that photo.
    #[serde(rename = "box")]
    pub bbox: Option<FaceBox>,
    /// The five landmarks `[[x, y], …]` (eyes, nose, mouth corners).
    pub landmarks: Option<Vec<[f64; 2]>>,
    /// The detector's score.
    pub score: Option<f64>,
}

/// `POST /sessions/{id}/photos/` as JSON (the default: only crops leave the browser):
/// `{"filename": "IMG_1.jpg", "width": 4000, "height": 3000, "size": 2400000}`.
#[derive(Debug, Deserialize)]
pub struct PhotoInfo {
    /// 1–200 characters.
    pub filename: String,
    /// Positive.
    pub width: u32,
    /// Positive.
    pub height: u32,
    /// Bytes of the file, if known.
    pub size: Option<u64>,
}

/// Answer to a photo upload (201).
#[derive(Debug, Serialize)]
pub struct PhotoCreated {
    /// [`Status::Success`].
    pub status: Status,
    /// The new photo's id: its crops name it.
    pub photo_id: i64,
    /// As stored.
    pub filename: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Whether the server keeps the image itself.
    pub image_stored: bool,
}

/// One entry of `GET /sessions/{id}/photos/`.
#[derive(Debug, Serialize)]
pub struct Photo {
    /// Photo id.
    pub id: i64,
    /// As uploaded.
    pub filename: String,
    /// Pixels.
    pub width: i64,
    /// Pixels.
    pub height: i64,
    /// Bytes, if known.
    pub size: Option<i64>,
    /// Whether `GET /photos/{id}/image/` has it.
    pub image_stored: bool,
    /// How many crops name it.
    pub crops: i64,
}

// ---- vectors ---------------------------------------------------------------------------

/// `POST /face-crops/{id}/embedding/`:
/// `{"model_name": "facenet", "model_version": "83d4b4c5e0a1", "embedding": [128 numbers]}`.
#[derive(Debug, Deserialize)]
pub struct EmbeddingPost {
    /// A model of the served manifest (`facenet`, `facenet512`).
    pub model_name: String,
    /// The first 12 hex digits of the served weights' sha256.
    pub model_version: Option<String>,
    /// The unit-length vector.
    pub embedding: Vec<f64>,
    /// Replace a different stored vector instead of answering `EmbeddingExists`.
    #[serde(default)]
    pub force_regenerate: bool,
}

/// Answer to one stored vector (and one item of a batch's answer).
#[derive(Debug, Serialize)]
pub struct EmbeddingStored {
    /// [`Status::Success`].
    pub status: Status,
    /// The crop.
    pub crop_id: i64,
    /// The model name.
    pub embedding_model: String,
    /// Values stored.
    pub embedding_dimension: usize,
    /// `embedding stored`, `embedding replaced` or `embedding already stored (unchanged)`.
    pub message: &'static str,
}

/// `POST /face-crops/embeddings-batch/`: up to [`crate::MAX_BATCH_ITEMS`] items of one model.
#[derive(Debug, Deserialize)]
pub struct BatchPost {
    /// For every item.
    pub model_name: String,
    /// For every item that does not give its own.
    pub model_version: Option<String>,
    /// The vectors.
    pub items: Vec<BatchItem>,
}

/// One vector of a batch.
#[derive(Debug, Deserialize)]
pub struct BatchItem {
    /// The crop.
    pub crop_id: i64,
    /// The unit-length vector.
    pub embedding: Vec<f64>,
    /// Overrides the batch's.
    pub model_version: Option<String>,
    /// As for a single post.
    #[serde(default)]
    pub force_regenerate: bool,
}

/// One item's outcome in a batch's answer, in the order posted.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchResult {
    /// Stored (or unchanged).
    Stored(EmbeddingStored),
    /// Refused, alone: the other items are unaffected.
    Failed {
        /// [`Status::Error`].
        status: Status,
        /// The crop.
        crop_id: i64,
        /// Why.
        error_type: ErrorType,
        /// For people.
        message: String,
    },
}

/// Answer to a batch: 200 whatever the items' fates.
#[derive(Debug, Serialize)]
pub struct BatchAnswer {
    /// `success`, `partial` or `error` (every item failed).
    pub status: Status,
    /// Items stored.
    pub stored: usize,
    /// Items refused.
    pub failed: usize,
    /// One per item, in order.
    pub results: Vec<BatchResult>,
}

// ---- people, assignment, register -------------------------------------------------------

/// `POST /people/`: `{"name": "Ana", "crop_ids": [12, 17]}` labels crops as a person (created
/// on first use); their vectors become that person's references.
#[derive(Debug, Deserialize)]
pub struct Enroll {
    /// 1–200 characters.
    pub name: String,
    /// At least one.
    pub crop_ids: Vec<i64>,
}

/// Answer to an enrollment.
#[derive(Debug, Serialize)]
pub struct Enrolled {
    /// [`Status::Success`].
    pub status: Status,
    /// The person (new or existing).
    pub person_id: i64,
    /// Their name.
    pub name: String,
    /// The crops now labelled.
    pub crop_ids: Vec<i64>,
}

/// One entry of `GET /people/`.
#[derive(Debug, Serialize)]
pub struct Person {
    /// Person id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Enrolled crops.
    pub crops: i64,
}

/// `POST /sessions/{id}/assignments/` (body optional; every field optional).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AssignRequest {
    /// Default `facenet`.
    pub model_name: Option<String>,
    /// Cosine distance under which a face is a person; default: the manifest's.
    pub threshold: Option<f32>,
    /// Average-linkage cut for the unknown faces; default: `threshold`.
    pub cluster_threshold: Option<f32>,
}

/// Query of `GET /sessions/{id}/attendance/` and `.csv`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct RegisterQuery {
    /// As for an assignment.
    pub model_name: Option<String>,
    /// As for an assignment.
    pub threshold: Option<f32>,
}

/// A group of unknown faces, likely one person.
#[derive(Debug, Serialize)]
pub struct Cluster {
    /// The crops.
    pub crop_ids: Vec<i64>,
}

/// One crop given a person by an assignment.
#[derive(Debug, Serialize)]
pub struct Assigned {
    /// The crop.
    pub crop_id: i64,
    /// Its photo.
    pub photo_id: Option<i64>,
    /// The person.
    pub person_id: i64,
    /// Their name.
    pub person_name: Option<String>,
    /// Cosine distance to the person's nearest reference (0 for an enrolled crop).
    pub distance: f32,
    /// How much nearer than the next person (`null` for an enrolled crop).
    pub margin: Option<f32>,
    /// Whether the crop is one of the person's references.
    pub enrolled: bool,
}

/// Answer to an assignment.
#[derive(Debug, Serialize)]
pub struct Assignment {
    /// [`Status::Success`].
    pub status: Status,
    /// The session.
    pub session_id: i64,
    /// The model whose vectors were used.
    pub model_name: String,
    /// As used.
    pub threshold: f32,
    /// As used.
    pub cluster_threshold: f32,
    /// Crops given a person.
    pub assigned: Vec<Assigned>,
    /// The rest, grouped.
    pub clusters: Vec<Cluster>,
    /// Crops without a vector of this model.
    pub not_embedded: Vec<i64>,
}

/// A crop that decided a person's presence.
#[derive(Debug, Serialize)]
pub struct RegisterCrop {
    /// The crop.
    pub crop_id: i64,
    /// Its photo.
    pub photo_id: Option<i64>,
    /// As in [`Assigned`].
    pub distance: f32,
    /// As in [`Assigned`].
    pub margin: Option<f32>,
    /// As in [`Assigned`].
    pub enrolled: bool,
}

/// One enrolled person in the register.
#[derive(Debug, Serialize)]
pub struct RegisterEntry {
    /// The person.
    pub person_id: i64,
    /// Their name.
    pub name: String,
    /// Whether any face of the session is theirs.
    pub present: bool,
    /// Those faces.
    pub crops: Vec<RegisterCrop>,
}

/// `GET /sessions/{id}/attendance/`: every enrolled person, present or absent.
#[derive(Debug, Serialize)]
pub struct Register {
    /// [`Status::Success`].
    pub status: Status,
    /// The session.
    pub session_id: i64,
    /// The model whose vectors were used.
    pub model_name: String,
    /// As used.
    pub threshold: f32,
    /// Everyone enrolled, by name.
    pub people: Vec<RegisterEntry>,
    /// The session's unknown faces, grouped.
    pub unknown: Vec<Cluster>,
    /// Crops without a vector of this model.
    pub not_embedded: Vec<i64>,
}
