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

/// `POST /sessions/`: `{"name": "Maths, Monday 9:00", "class_id": 3, "starts_at": "2026-12-07 09:00"}`.
#[derive(Debug, Deserialize)]
pub struct NewSession {
    /// 1–200 characters after trimming.
    pub name: String,
    /// The class whose lesson it is. Without it: a teacher's only class; for an admin, the
    /// "Imported" class of old clients (created on first use).
    pub class_id: Option<i64>,
    /// When the lesson starts: `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS][Z]`, UTC; default now.
    pub starts_at: Option<String>,
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
    /// Its class.
    pub class_id: i64,
    /// When it starts, `YYYY-MM-DD HH:MM:SS` UTC.
    pub starts_at: String,
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
    /// Its class.
    pub class_id: i64,
    /// When it starts.
    pub starts_at: String,
    /// Whether its register is finalised.
    pub finalized: bool,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// How much nearer than the next person, however far (`null` for an enrolled crop); a
    /// face is named only at `MIN_MARGIN` (0.05) or more.
    pub margin: Option<f32>,
    /// Whether the crop is one of the person's references.
    pub enrolled: bool,
    /// Why the face does not count for the person, in `unsure` (`null` in `assigned`): one of
    /// the quality concerns (`small_face`, `faint_face`, `turned_face`, `tilted_face`,
    /// `blurred_face`) or `close_call` (another pupil is nearly as near).
    pub doubt: Option<&'static str>,
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
    /// Crops that look like a person but are in doubt ([`Assigned::doubt`]): not counted, not
    /// clustered; the teacher confirms them (`PUT /face-crops/{id}/person/`) or not.
    pub unsure: Vec<Assigned>,
    /// The rest, grouped.
    pub clusters: Vec<Cluster>,
    /// Crops without a vector of this model.
    pub not_embedded: Vec<i64>,
}

/// A crop that decided a person's presence.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Whether the teacher said whose face it is (`PUT /face-crops/{id}/person/`).
    #[serde(default)]
    pub by_teacher: bool,
    /// As in [`Assigned`]: set on the entry's `unsure` crops only.
    #[serde(default)]
    pub doubt: Option<String>,
}

/// One pupil of the roster in the register.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterEntry {
    /// The pupil.
    pub person_id: i64,
    /// Their name.
    pub name: String,
    /// Whether they were there: `mark` is present or late.
    pub present: bool,
    /// `present`, `absent`, `late` or `excused`.
    pub mark: String,
    /// Whether the teacher set the mark by hand (else the faces decided it).
    pub by_hand: bool,
    /// The faces of the lesson that are theirs.
    pub crops: Vec<RegisterCrop>,
    /// The faces that look like them but are in doubt: not counted (absent unless a face above
    /// or a mark by hand says otherwise) until the teacher confirms one. Registers stored before
    /// this field read back with none.
    #[serde(default)]
    pub unsure: Vec<RegisterCrop>,
}

/// `GET /sessions/{id}/attendance/`: every pupil of the class's roster with their mark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Register {
    /// [`Status::Success`].
    pub status: Status,
    /// The session.
    pub session_id: i64,
    /// Its class, whose roster this is.
    pub class_id: i64,
    /// The model whose vectors were used.
    pub model_name: String,
    /// The served weights' version the vectors are of.
    pub model_version: String,
    /// As used.
    pub threshold: f32,
    /// The roster, by name.
    pub people: Vec<RegisterEntry>,
    /// The session's unknown faces, grouped.
    pub unknown: Vec<Cluster>,
    /// Crops without a vector of this model.
    pub not_embedded: Vec<i64>,
    /// `null` while the register is open; once finalised, who did it and when: the register
    /// is then answered as it was stored.
    pub finalized: Option<Finalized>,
    /// Crops added after the register was finalised: they change nothing until it is reopened.
    #[serde(default)]
    pub waiting: Vec<i64>,
}

/// Who finalised a register, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finalized {
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
    /// The account's name.
    pub by: String,
}

/// `PUT /sessions/{id}/attendance/{person_id}/`: `{"mark": "late"}`; `{"mark": null}` gives
/// the mark back to the faces.
#[derive(Debug, Deserialize)]
pub struct MarkPut {
    /// `present`, `absent`, `late`, `excused`, or `null`.
    pub mark: Option<String>,
}

/// `PUT /face-crops/{id}/person/`: `{"person_id": 4}` (this face is that pupil) or
/// `{"person_id": null}` (nobody of this class).
#[derive(Debug, Deserialize)]
pub struct VerdictPut {
    /// A pupil of the session's class, or `null`.
    pub person_id: Option<i64>,
}

/// Answer to `PUT|DELETE /face-crops/{id}/person/`.
#[derive(Debug, Serialize)]
pub struct VerdictSet {
    /// [`Status::Success`].
    pub status: Status,
    /// The crop.
    pub crop_id: i64,
    /// `person` (the teacher said who), `nobody` (not of this class) or `null` (the matching decides).
    pub verdict: Option<&'static str>,
    /// The pupil, for `person`.
    pub person_id: Option<i64>,
}

// ---- accounts --------------------------------------------------------------------------

/// `POST /users/` (admins): `{"name": "Ms Rivera", "admin": false, "expires_in_days": 365}`.
#[derive(Debug, Deserialize)]
pub struct NewUser {
    /// Unique, 1–200 characters.
    pub name: String,
    /// An admin creates accounts and classes and reaches every class.
    #[serde(default)]
    pub admin: bool,
    /// The first token stops working after this many days; default never.
    pub expires_in_days: Option<u32>,
}

/// Answer to `POST /users/` (201): the token is shown this once.
#[derive(Debug, Serialize)]
pub struct UserCreated {
    /// [`Status::Success`].
    pub status: Status,
    /// The account's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Whether it is an admin's.
    pub admin: bool,
    /// Its bearer token: shown once, stored only as a hash.
    pub token: String,
    /// When the token stops working, or `null`.
    pub expires_at: Option<String>,
}

/// One entry of `GET /users/`.
#[derive(Debug, Serialize)]
pub struct User {
    /// The account's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Whether it is an admin's.
    pub admin: bool,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub created_at: String,
    /// How many of its tokens work (neither revoked nor expired).
    pub tokens: i64,
    /// The classes it teaches.
    pub class_ids: Vec<i64>,
}

/// `POST /users/{id}/tokens/` (admins): `{"expires_in_days": 30}` or no body.
#[derive(Debug, Deserialize, Default)]
pub struct NewToken {
    /// Default never.
    pub expires_in_days: Option<u32>,
}

/// Answer to `POST /users/{id}/tokens/` (201).
#[derive(Debug, Serialize)]
pub struct TokenCreated {
    /// [`Status::Success`].
    pub status: Status,
    /// The account.
    pub user_id: i64,
    /// The new token, shown once.
    pub token: String,
    /// When it stops working, or `null`.
    pub expires_at: Option<String>,
}

/// Answer to `DELETE /users/{id}/tokens/`.
#[derive(Debug, Serialize)]
pub struct TokensRevoked {
    /// [`Status::Success`].
    pub status: Status,
    /// The account.
    pub user_id: i64,
    /// How many tokens stopped working.
    pub revoked: usize,
}

/// `GET /me/`: who the token is.
#[derive(Debug, Serialize)]
pub struct Me {
    /// The account's id; `null` for the server's own `--token`.
    pub id: Option<i64>,
    /// Its name.
    pub name: String,
    /// Whether it is an admin's.
    pub admin: bool,
    /// The classes it reaches.
    pub class_ids: Vec<i64>,
    /// The database's identity: a client keeps what it queues per database, and sends nothing
    /// queued for one database to another.
    pub database_id: String,
}

// ---- classes and rosters ---------------------------------------------------------------

/// `POST /classes/` (admins): `{"name": "7B", "teacher_ids": [2, 5]}`; `PATCH /classes/{id}/`
/// takes either field.
#[derive(Debug, Deserialize)]
pub struct ClassPost {
    /// 1–200 characters.
    pub name: Option<String>,
    /// The accounts that teach it.
    pub teacher_ids: Option<Vec<i64>>,
}

/// A class, as `GET /classes/`, `GET|PATCH /classes/{id}/` and `POST /classes/` (201, with
/// `status`) answer it.
#[derive(Debug, Serialize)]
pub struct Class {
    /// [`Status::Success`] in answers to a write; absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The class's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its teachers' accounts.
    pub teacher_ids: Vec<i64>,
    /// How many pupils its roster has.
    pub pupils: i64,
    /// How many sessions (lessons) it has.
    pub sessions: i64,
}

/// `POST /classes/{id}/pupils/`: `{"name": "Ana Lima", "external_id": "MIS-0042"}` (a new
/// pupil) or `{"person_id": 4}` (one the caller reaches already).
#[derive(Debug, Deserialize)]
pub struct PupilPost {
    /// A new pupil's display name.
    pub name: Option<String>,
    /// The school's own number for them, unique in the school.
    pub external_id: Option<String>,
    /// An existing pupil.
    pub person_id: Option<i64>,
}

/// A pupil, as rosters, `GET /people/`, `GET|PATCH /people/{id}/` and `POST
/// /classes/{id}/pupils/` (with `status`) answer them.
#[derive(Debug, Serialize)]
pub struct Pupil {
    /// [`Status::Success`] in answers to a write; absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The pupil's id (as `GET /people/` always answered it).
    pub id: i64,
    /// The same id, as the roster calls name it.
    pub person_id: i64,
    /// Their display name.
    pub name: String,
    /// The school's number for them, or `null`.
    pub external_id: Option<String>,
    /// How many reference faces they have.
    pub crops: i64,
    /// The rosters (of the caller's classes) they are on.
    pub class_ids: Vec<i64>,
    /// Their consent standing: `not_asked`, `given`, `refused`, `withdrawn`.
    pub consent: String,
    /// `YYYY-MM-DD`: the day their oldest reference face reaches the schedule's
    /// `template_max_days` and is erased; `null` without reference faces.
    pub reenrol_by: Option<String>,
    /// Whether to ask for a new reference face now (60 days or less before `reenrol_by`).
    pub reenrol_due: bool,
}

/// `PATCH /people/{id}/`: `{"name": "Ana Lima"}` and/or `{"external_id": "MIS-0042"}`.
#[derive(Debug, Deserialize)]
pub struct PersonPatch {
    /// A new display name.
    pub name: Option<String>,
    /// A new school number (`""` clears it).
    pub external_id: Option<String>,
}

/// `POST /people/{id}/references/`: `{"crop_ids": [12, 17]}`: these faces are that pupil's.
#[derive(Debug, Deserialize)]
pub struct ReferencesPost {
    /// Crops the caller reaches, not enrolled as anyone else.
    pub crop_ids: Vec<i64>,
}

// ---- reports ---------------------------------------------------------------------------

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD` of the reports (both days included; default: everything).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct RangeQuery {
    /// First day.
    pub from: Option<String>,
    /// Last day.
    pub to: Option<String>,
}

/// A lesson of a report.
#[derive(Debug, Serialize)]
pub struct ReportLesson {
    /// The session.
    pub session_id: i64,
    /// Its name.
    pub name: String,
    /// When it started.
    pub starts_at: String,
    /// Whether its register is finalised (only then do its marks count).
    pub finalized: bool,
}

/// How many lessons had each mark, and the rate: (present + late) / (present + late + absent).
#[derive(Debug, Serialize)]
pub struct ReportCounts {
    /// Present.
    pub present: u32,
    /// Late.
    pub late: u32,
    /// Excused.
    pub excused: u32,
    /// Absent.
    pub absent: u32,
    /// 0–1, or `null` when no finalised lesson counted.
    pub rate: Option<f64>,
}

/// One pupil's row of a class report.
#[derive(Debug, Serialize)]
pub struct ReportRow {
    /// The pupil.
    pub person_id: i64,
    /// Their name.
    pub name: String,
    /// Their school number.
    pub external_id: Option<String>,
    /// Their mark in each lesson, in the lessons' order: `null` where not finalised (or not
    /// on the roster when it was).
    pub marks: Vec<Option<&'static str>>,
    /// Over the finalised lessons.
    pub counts: ReportCounts,
}

/// `GET /classes/{id}/attendance/?from=&to=`: the class's pupils × lessons.
#[derive(Debug, Serialize)]
pub struct ClassReport {
    /// [`Status::Success`].
    pub status: Status,
    /// The class.
    pub class_id: i64,
    /// The range asked, or `null`.
    pub from: Option<String>,
    /// The range asked, or `null`.
    pub to: Option<String>,
    /// Its lessons in the range, by start.
    pub lessons: Vec<ReportLesson>,
    /// Its roster's pupils, and anyone on a finalised register of the range since taken off it.
    pub pupils: Vec<ReportRow>,
}

/// A lesson of a pupil's history.
#[derive(Debug, Serialize)]
pub struct HistoryLesson {
    /// The session.
    pub session_id: i64,
    /// Its class.
    pub class_id: i64,
    /// Its name.
    pub name: String,
    /// When it started.
    pub starts_at: String,
    /// Whether its register is finalised.
    pub finalized: bool,
    /// The pupil's finalised mark, or `null`.
    pub mark: Option<&'static str>,
}

/// `GET /people/{id}/attendance/?from=&to=`: a pupil's lessons (of the classes the caller
/// reaches) with their marks, counts and rate.
#[derive(Debug, Serialize)]
pub struct PupilHistory {
    /// [`Status::Success`].
    pub status: Status,
    /// The pupil.
    pub person_id: i64,
    /// Their name.
    pub name: String,
    /// The range asked.
    pub from: Option<String>,
    /// The range asked.
    pub to: Option<String>,
    /// By start.
    pub lessons: Vec<HistoryLesson>,
    /// Over the finalised lessons.
    pub counts: ReportCounts,
}

// ---- pupils' data rights ----------------------------------------------------------------

/// `PUT /people/{id}/consent/`: `{"state": "given", "by": "guardian", "purpose": "…"}`.
#[derive(Debug, Deserialize)]
pub struct ConsentPut {
    /// `given`, `refused` or `withdrawn`.
    pub state: String,
    /// `guardian` or `pupil`.
    pub by: String,
    /// The purpose and term shown to them, as shown (1–2,000 characters).
    pub purpose: String,
}

/// One record of a pupil's consent history.
#[derive(Debug, Serialize)]
pub struct ConsentEntry {
    /// `given`, `refused` or `withdrawn`.
    pub state: String,
    /// `guardian` or `pupil`.
    pub by: String,
    /// The purpose and term shown.
    pub purpose: String,
    /// The account that recorded it.
    pub recorded_by: String,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
}

/// `GET|PUT /people/{id}/consent/`.
#[derive(Debug, Serialize)]
pub struct ConsentAnswer {
    /// [`Status::Success`].
    pub status: Status,
    /// The pupil.
    pub person_id: i64,
    /// Their standing: `not_asked`, `given`, `refused` or `withdrawn` (only `given` lets their
    /// face be enrolled or matched).
    pub consent: &'static str,
    /// Every record, oldest first.
    pub history: Vec<ConsentEntry>,
    /// In the answer to a `PUT`: the pupil's reference crops it erased (empty while consent is
    /// given), for a page to drop what it holds of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased_crop_ids: Option<Vec<i64>>,
}

/// Answer to an erasure (`DELETE` of a pupil, crop, photo or session).
#[derive(Debug, Serialize)]
pub struct Erased {
    /// [`Status::Success`].
    pub status: Status,
    /// `pupil`, `crop`, `photo` or `session`.
    pub erased: &'static str,
    /// Its id.
    pub id: i64,
    /// How many face crops (with their vectors) went with it.
    pub crops: usize,
    /// Their ids: a page drops whatever it still holds of them (its upload queue).
    pub crop_ids: Vec<i64>,
    /// For a pupil: whether their finalised attendance marks were kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attendance_kept: Option<bool>,
}

impl Erased {
    /// `what` `id` erased with crops `crop_ids`.
    pub fn of(what: &'static str, id: i64, crop_ids: Vec<i64>, attendance_kept: Option<bool>) -> Erased {
        Erased { status: Status::Success, erased: what, id, crops: crop_ids.len(), crop_ids, attendance_kept }
    }
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD&person_id=` of the audit log.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    /// First day.
    pub from: Option<String>,
    /// Last day.
    pub to: Option<String>,
    /// Entries about this pupil only.
    pub person_id: Option<i64>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize)]
pub struct AuditEntry {
    /// In order of writing.
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
    /// The account's name.
    pub actor: String,
    /// `enrol`, `verdict`, `mark`, `finalize`, `reopen`, `export`, `erase`, `consent`, `account`,
    /// `token`, `class`, `roster`, `purge`.
    pub action: String,
    /// The pupil it is about.
    pub person_id: Option<i64>,
    /// The session.
    pub session_id: Option<i64>,
    /// The class.
    pub class_id: Option<i64>,
    /// What else: a mark, thresholds and model version, counts (never a vector or an image).
    pub detail: serde_json::Value,
}

/// `GET /retention/`: the schedule in force.
#[derive(Debug, Serialize)]
pub struct RetentionAnswer {
    /// A lesson's faces that are no reference face are erased after this many days.
    pub lesson_faces_days: u32,
    /// Stored photo images, after this many days.
    pub photos_days: u32,
    /// A pupil's reference faces this many days after they left their last class (0: at once).
    pub leavers_days: u32,
    /// The oldest a reference face may be.
    pub template_max_days: u32,
    /// Whether an erased pupil's attendance marks are kept.
    pub keep_attendance_of_erased: bool,
    /// The same in words, for a notice to parents.
    pub notice: Vec<String>,
}

/// `GET /settings/` (admins): the deployment as it runs, for a data-protection impact
/// assessment — where the data is, how long it stays, which model and thresholds decide, who
/// can sign in, what is held now (counts only).
#[derive(Debug, Serialize)]
pub struct SettingsAnswer {
    /// The backend and its version: `facenet-server 0.1.0`, `django facenet_attendance 0.1.0`.
    pub backend: String,
    /// Where the data is and what erasing it does there.
    pub storage: StorageSetting,
    /// The schedule in force (as `GET /retention/`).
    pub retention: RetentionAnswer,
    /// The models whose vectors are accepted, with the thresholds that name a face.
    pub models: Vec<ModelSetting>,
    /// Who can sign in.
    pub accounts: AccountsSetting,
    /// Limits on requests.
    pub limits: LimitsSetting,
    /// What the page may load and run, as sent with the page (`null` where the Django project
    /// does not install the app's `PageHeaders`).
    pub content_security_policy: Option<&'static str>,
    /// What is held now, counted.
    pub held: HeldCounts,
}

/// Where the data is.
#[derive(Debug, Serialize)]
pub struct StorageSetting {
    /// `sqlite` or `postgresql`.
    pub engine: &'static str,
    /// The database file, or the database's name and host.
    pub location: String,
    /// What an erasure does to the bytes.
    pub erasure: &'static str,
}

/// One model's vectors.
#[derive(Debug, Serialize)]
pub struct ModelSetting {
    /// `facenet`, `facenet512`.
    pub model_name: String,
    /// The served weights' version.
    pub model_version: String,
    /// Numbers per vector.
    pub dimensions: usize,
    /// The cosine distance under which a face is named, by default.
    pub threshold: Option<f32>,
    /// The most faces finalised registers confirmed that are kept as a pupil's references beside
    /// the enrolled ones (`facenet_attendance::gallery::GALLERY_SIZE`).
    pub gallery_size: usize,
}

/// Who can sign in.
#[derive(Debug, Serialize)]
pub struct AccountsSetting {
    /// Accounts that reach every class.
    pub admins: i64,
    /// Accounts that reach their own classes.
    pub teachers: i64,
    /// Tokens neither revoked nor expired.
    pub live_tokens: i64,
    /// Whether the server has an admin token of its own besides the accounts' (`--token`).
    pub server_token: bool,
    /// How tokens are kept.
    pub token_storage: &'static str,
}

/// Limits on requests.
#[derive(Debug, Serialize)]
pub struct LimitsSetting {
    /// Failed sign-ins answered per minute before `429 TooManyRequests`.
    pub failed_sign_ins_per_minute: u32,
    /// A request's longest time, body included (`null` where the WSGI server sets it).
    pub request_timeout_seconds: Option<u64>,
    /// The largest image upload.
    pub max_image_body: usize,
}

/// What is held now.
#[derive(Debug, Serialize)]
pub struct HeldCounts {
    /// Pupils not erased.
    pub pupils: i64,
    /// Of them, with consent given.
    pub consent_given: i64,
    /// Pupils' reference faces (with their vectors).
    pub reference_faces: i64,
    /// Faces of lessons that are no reference face.
    pub lesson_faces: i64,
    /// Of them, the faces finalised registers confirmed: their pupils' galleries draw on them.
    pub gallery_faces: i64,
    /// Whole photos whose image is stored.
    pub photo_images: i64,
    /// Lessons.
    pub lessons: i64,
    /// Entries in the audit log.
    pub audit_entries: i64,
}

/// `?dry_run=true|false` of a purge (default true).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PurgeQuery {
    /// Count only (the default), or erase.
    pub dry_run: Option<bool>,
}

/// How many of one kind a purge erased (or would).
#[derive(Debug, Serialize)]
pub struct PurgeCount {
    /// `lesson_faces`, `photos`, `leavers`, `templates`.
    pub kind: &'static str,
    /// Rows.
    pub count: usize,
}

/// `POST /retention/purge/`.
#[derive(Debug, Serialize)]
pub struct PurgeAnswer {
    /// [`Status::Success`].
    pub status: Status,
    /// Whether it only counted.
    pub dry_run: bool,
    /// By kind.
    pub erased: Vec<PurgeCount>,
}
