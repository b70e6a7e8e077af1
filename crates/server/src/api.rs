//! The HTTP API (README "The backend"): crops in, vectors validated and stored, assignment and
//! the register out. Every body and answer is a type of [`crate::wire`]; every database call runs
//! on a blocking thread ([`AppState::read`], [`AppState::write`]).

use crate::answers::{checked_name, created, image_answer};
use crate::body::parse;
use crate::db::{self, vector_to_blob};
use crate::error::AppError;
use crate::scope::{self, Caller};
use crate::wire::{
    BatchAnswer, BatchPost, BatchResult, Crop, CropCreated, EmbeddingPost, EmbeddingStored, FaceBox, NewSession, Photo,
    PhotoCreated, PhotoInfo, SessionCreated, SessionSummary, Status, UploadQuery,
};
use crate::{accounts, audit, classes, idempotency, privacy, purge, record, register, reports, settings, AppState};
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, Request, State};
use axum::http::header;
use axum::response::Response;
use axum::routing::{any, delete, get, post, put};
use axum::{Extension, Json, Router};
use facenet_attendance::{stored_image, time, vector};
use facenet_wasm::{decode_image, Limits};
use rusqlite::{params, Connection, OptionalExtension};

/// Where the API lives; every path below is under it.
pub const API_BASE: &str = "/api/attendance";

/// Every call of the API that needs the token: `(method, path under API_BASE)`. tests/contract.rs
/// checks that the router answers each and that the README's table lists each.
pub const ROUTES: [(&str, &str); 52] = [
    ("GET", paths::ME),
    ("GET", paths::USERS),
    ("POST", paths::USERS),
    ("POST", paths::USER_TOKENS),
    ("DELETE", paths::USER_TOKENS),
    ("GET", paths::CLASSES),
    ("POST", paths::CLASSES),
    ("GET", paths::CLASS),
    ("PATCH", paths::CLASS),
    ("DELETE", paths::CLASS),
    ("GET", paths::CLASS_PUPILS),
    ("POST", paths::CLASS_PUPILS),
    ("DELETE", paths::CLASS_PUPIL),
    ("GET", paths::CLASS_ATTENDANCE),
    ("GET", paths::CLASS_ATTENDANCE_CSV),
    ("GET", paths::SESSIONS),
    ("POST", paths::SESSIONS),
    ("GET", paths::SESSION),
    ("GET", paths::SESSION_CROPS),
    ("POST", paths::SESSION_CROPS),
    ("GET", paths::SESSION_PHOTOS),
    ("POST", paths::SESSION_PHOTOS),
    ("POST", paths::ASSIGNMENTS),
    ("GET", paths::ATTENDANCE),
    ("GET", paths::ATTENDANCE_CSV),
    ("GET", paths::PHOTO_IMAGE),
    ("GET", paths::CROP_IMAGE),
    ("POST", paths::CROP_EMBEDDING),
    ("POST", paths::EMBEDDINGS_BATCH),
    ("GET", paths::PEOPLE),
    ("POST", paths::PEOPLE),
    ("GET", paths::PERSON),
    ("PATCH", paths::PERSON),
    ("POST", paths::PERSON_REFERENCES),
    ("GET", paths::PERSON_ATTENDANCE),
    ("PUT", paths::MARK),
    ("POST", paths::FINALIZE),
    ("POST", paths::REOPEN),
    ("PUT", paths::CROP_PERSON),
    ("DELETE", paths::CROP_PERSON),
    ("GET", paths::CONSENT),
    ("PUT", paths::CONSENT),
    ("DELETE", paths::PERSON),
    ("GET", paths::PERSON_EXPORT),
    ("DELETE", paths::CROP),
    ("DELETE", paths::PHOTO),
    ("DELETE", paths::SESSION),
    ("GET", paths::AUDIT),
    ("GET", paths::AUDIT_CSV),
    ("GET", paths::RETENTION),
    ("POST", paths::PURGE),
    ("GET", paths::SETTINGS),
];

/// Defines the `paths` module once: a constant per path and `paths::ALL`, every path by name
/// (www/client/contract.js's `API_PATHS` is generated from it).
macro_rules! api_paths {
    ($($(#[doc = $doc:literal])+ $name:ident = $path:literal,)+) => {
        /// The API's paths under [`API_BASE`], `{id}` (and `{person_id}`) standing for a number.
        pub mod paths {
            $($(#[doc = $doc])+ pub const $name: &str = $path;)+
            /// Every path by its constant's name.
            pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $path)),+];
        }
    };
}

api_paths! {
    /// Who the token is.
    ME = "/me/",
    /// Accounts (admins): list, create.
    USERS = "/users/",
    /// An account's tokens (admins): issue one, revoke all.
    USER_TOKENS = "/users/{id}/tokens/",
    /// Classes: the caller's; create (admins).
    CLASSES = "/classes/",
    /// One class: read; change and delete (admins).
    CLASS = "/classes/{id}/",
    /// A class's roster: list, add a pupil.
    CLASS_PUPILS = "/classes/{id}/pupils/",
    /// A pupil on a class's roster: take them off it.
    CLASS_PUPIL = "/classes/{id}/pupils/{person_id}/",
    /// A class's attendance over a range, pupils × lessons.
    CLASS_ATTENDANCE = "/classes/{id}/attendance/",
    /// The same as CSV.
    CLASS_ATTENDANCE_CSV = "/classes/{id}/attendance.csv",
    /// Sessions (lessons): the caller's, create.
    SESSIONS = "/sessions/",
    /// One session.
    SESSION = "/sessions/{id}/",
    /// A session's crops: list, upload one.
    SESSION_CROPS = "/sessions/{id}/face-crops/",
    /// A session's photos: list, register one.
    SESSION_PHOTOS = "/sessions/{id}/photos/",
    /// Run the assignment over a session.
    ASSIGNMENTS = "/sessions/{id}/assignments/",
    /// A session's register.
    ATTENDANCE = "/sessions/{id}/attendance/",
    /// A session's register as CSV.
    ATTENDANCE_CSV = "/sessions/{id}/attendance.csv",
    /// A stored photo's image.
    PHOTO_IMAGE = "/photos/{id}/image/",
    /// A crop's image.
    CROP_IMAGE = "/face-crops/{id}/image/",
    /// Post a crop's vector.
    CROP_EMBEDDING = "/face-crops/{id}/embedding/",
    /// Post many vectors.
    EMBEDDINGS_BATCH = "/face-crops/embeddings-batch/",
    /// Pupils: the caller's; enroll by name (old clients).
    PEOPLE = "/people/",
    /// One pupil: read, fix the name or school number.
    PERSON = "/people/{id}/",
    /// Enroll crops as a pupil's reference faces, by id.
    PERSON_REFERENCES = "/people/{id}/references/",
    /// A pupil's attendance over a range.
    PERSON_ATTENDANCE = "/people/{id}/attendance/",
    /// A pupil's mark by hand in a session's register.
    MARK = "/sessions/{id}/attendance/{person_id}/",
    /// Finalise a session's register.
    FINALIZE = "/sessions/{id}/finalize/",
    /// Reopen a finalised register.
    REOPEN = "/sessions/{id}/reopen/",
    /// The teacher's word on whose face a crop is: set, take back.
    CROP_PERSON = "/face-crops/{id}/person/",
    /// A pupil's consent: the history; one more record.
    CONSENT = "/people/{id}/consent/",
    /// Everything held about a pupil, as a ZIP (admins).
    PERSON_EXPORT = "/people/{id}/export/",
    /// One crop: erase it.
    CROP = "/face-crops/{id}/",
    /// One photo: erase it with its crops.
    PHOTO = "/photos/{id}/",
    /// The audit log (admins).
    AUDIT = "/audit/",
    /// The audit log as CSV (admins).
    AUDIT_CSV = "/audit.csv",
    /// The retention schedule in force.
    RETENTION = "/retention/",
    /// Purge what the schedule says is due (admins; a dry run by default).
    PURGE = "/retention/purge/",
    /// The deployment's settings and what it holds, for an impact assessment (admins).
    SETTINGS = "/settings/",
    /// The old system's per-crop call (answered 410 `EndpointMoved`).
    OLD_GENERATE_EMBEDDING = "/face-crops/{id}/generate-embedding/",
    /// The old system's batch call (answered 410 `EndpointMoved`).
    OLD_GENERATE_EMBEDDINGS_BATCH = "/face-crops/generate-embeddings-batch/",
}

/// Every `/api` route; all of them need the bearer token.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    use paths::*;
    Router::new()
        .route(ME, get(accounts::me))
        .route(USERS, get(accounts::list_users).post(accounts::add_user))
        .route(USER_TOKENS, post(accounts::add_token).delete(accounts::revoke_tokens))
        .route(CLASSES, get(classes::list_classes).post(classes::create_class))
        .route(CLASS, get(classes::get_class).patch(classes::patch_class).delete(classes::delete_class))
        .route(CLASS_PUPILS, get(classes::roster).post(classes::add_pupil))
        .route(CLASS_PUPIL, delete(classes::remove_pupil))
        .route(CLASS_ATTENDANCE, get(reports::class_report))
        .route(CLASS_ATTENDANCE_CSV, get(reports::class_report_csv))
        .route(SESSIONS, get(list_sessions).post(create_session))
        .route(SESSION, get(get_session).delete(privacy::delete_session))
        // Images may be large; every other body is JSON and gets the smaller app-wide limit.
        .route(SESSION_CROPS, get(list_crops).post(upload_crop).layer(image_limit()))
        .route(SESSION_PHOTOS, get(list_photos).post(upload_photo).layer(image_limit()))
        .route(ASSIGNMENTS, post(register::assign))
        .route(ATTENDANCE, get(register::attendance))
        .route(ATTENDANCE_CSV, get(register::attendance_csv))
        .route(PHOTO_IMAGE, get(photo_image))
        .route(CROP_IMAGE, get(crop_image))
        .route(CROP_EMBEDDING, post(post_embedding))
        .route(EMBEDDINGS_BATCH, post(post_embeddings_batch))
        .route(PEOPLE, get(classes::list_people).post(classes::enroll_by_name))
        .route(PERSON, get(classes::get_person).patch(classes::patch_person).delete(privacy::erase_person))
        .route(CONSENT, get(privacy::get_consent).put(privacy::put_consent))
        .route(PERSON_EXPORT, get(privacy::export))
        .route(CROP, delete(privacy::delete_crop))
        .route(PHOTO, delete(privacy::delete_photo))
        .route(AUDIT, get(audit::list))
        .route(AUDIT_CSV, get(audit::csv))
        .route(RETENTION, get(purge::schedule))
        .route(PURGE, post(purge::run))
        .route(SETTINGS, get(settings::settings))
        .route(PERSON_REFERENCES, post(classes::enroll))
        .route(PERSON_ATTENDANCE, get(reports::pupil_history))
        .route(MARK, put(record::set_mark))
        .route(FINALIZE, post(record::finalize))
        .route(REOPEN, post(record::reopen))
        .route(CROP_PERSON, put(record::set_verdict).delete(record::clear_verdict))
        // Layers run last-added first: the token, then the Idempotency-Key (it needs the caller).
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotent))
        .route_layer(axum::middleware::from_fn_with_state(state, accounts::require_token))
        // The old system's calls, answered for anyone: where vectors come from now.
        .route(OLD_GENERATE_EMBEDDING, any(old_embedding_url))
        .route(OLD_GENERATE_EMBEDDINGS_BATCH, any(old_embedding_url))
        .fallback(unknown_path)
}

/// Largest image body (a crop or a whole photo) accepted.
pub const MAX_IMAGE_BODY: usize = 16 << 20;
/// Largest JSON body accepted: a full batch of 1,000 vectors of 512 values fits.
pub const MAX_JSON_BODY: usize = 8 << 20;

fn image_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(MAX_IMAGE_BODY)
}

/// The old `generate-embedding(s)` URLs: the server no longer runs a model. (`OriginalUri`:
/// the whole path, not the part under `API_BASE` that the nested router sees.)
async fn old_embedding_url(OriginalUri(uri): OriginalUri) -> AppError {
    AppError::EndpointMoved(uri.path().to_string())
}

/// Any other `/api/attendance/…` path: JSON, never an empty 404.
async fn unknown_path(OriginalUri(uri): OriginalUri, request: Request) -> AppError {
    AppError::NotFound(format!("no API call {} {}; see the README's API table", request.method(), uri.path()))
}

async fn create_session(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, AppError> {
    let new: NewSession = parse(&body)?;
    let name = checked_name(&new.name, "a session's name")?;
    let starts_at = new.starts_at.as_deref().map(time::lesson_start).transpose().map_err(AppError::InvalidRequest)?;
    let id = state
        .write(move |db, _| {
            let tx = db.transaction()?;
            let class = match new.class_id {
                Some(class) => {
                    scope::class(&tx, &caller, class)?;
                    class
                }
                None => classes::default_class(&tx, &caller)?,
            };
            tx.execute(
                "INSERT INTO sessions (name, class_id, starts_at) VALUES (?1, ?2, COALESCE(?3, datetime('now')))",
                params![name, class, starts_at],
            )?;
            let id = tx.last_insert_rowid();
            let starts_at: String = tx.query_row("SELECT starts_at FROM sessions WHERE id = ?1", [id], |r| r.get(0))?;
            tx.commit()?;
            Ok(SessionCreated { status: Status::Success, id, name, class_id: class, starts_at })
        })
        .await?;
    Ok(created(id))
}

/// The sessions of the classes the caller reaches (`?2`), or session `?1` alone.
const SESSIONS_SQL: &str = concat!(
    "SELECT s.id, s.name, s.created_at, (SELECT COUNT(*) FROM face_crops c WHERE c.session_id = s.id),
            s.class_id, s.starts_at, EXISTS (SELECT 1 FROM registers r WHERE r.session_id = s.id)
     FROM sessions s WHERE (?1 IS NULL OR s.id = ?1) AND ",
    scope::teaches!("s.class_id"),
    " ORDER BY s.id"
);

fn sessions(db: &Connection, caller: &Caller, one: Option<i64>) -> Result<Vec<SessionSummary>, AppError> {
    let mut stmt = db.prepare(SESSIONS_SQL)?;
    let rows = stmt.query_map(params![one, caller.restriction()], |r| {
        Ok(SessionSummary {
            id: r.get(0)?,
            name: r.get(1)?,
            created_at: r.get(2)?,
            crops: r.get(3)?,
            class_id: r.get(4)?,
            starts_at: r.get(5)?,
            finalized: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

async fn list_sessions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<SessionSummary>>, AppError> {
    state.read(move |db, _| sessions(db, &caller, None)).await.map(Json)
}

async fn get_session(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
) -> Result<Json<SessionSummary>, AppError> {
    state
        .read(move |db, _| {
            sessions(db, &caller, Some(session))?
                .pop()
                .ok_or_else(|| AppError::NotFound(format!("no session {session}")))
        })
        .await
        .map(Json)
}

/// `count` finite numbers separated by commas, or an `InvalidRequest` naming `what`.
fn numbers(text: &str, count: usize, what: &str) -> Result<Vec<f64>, AppError> {
    let values: Vec<f64> =
        text.split(',').map(|v| v.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| {
            AppError::InvalidRequest(format!("{what} must be {count} comma-separated numbers, got {text:?}"))
        })?;
    if values.len() != count || !values.iter().all(|v| v.is_finite()) {
        return Err(AppError::InvalidRequest(format!("{what} must be {count} finite numbers, got {text:?}")));
    }
    Ok(values)
}

/// Where a crop was found, checked for form (its photo is checked in the write): box,
/// landmarks and score. Stored as JSON text of [`FaceBox`] and `[[x, y], …]`.
fn crop_origin(q: &UploadQuery) -> Result<(Option<String>, Option<String>), AppError> {
    if let Some(score) = q.score {
        if !(0.0..=1.0).contains(&score) {
            return Err(AppError::InvalidRequest(format!("score must lie in 0–1, got {score}")));
        }
    }
    let bbox = q.bbox.as_deref().map(|b| numbers(b, 4, "box")).transpose()?;
    if bbox.as_ref().is_some_and(|b| b[2] < 0.0 || b[3] < 0.0) {
        return Err(AppError::InvalidRequest("box width and height must not be negative".into()));
    }
    let landmarks = q.landmarks.as_deref().map(|l| numbers(l, 10, "landmarks")).transpose()?;
    let bbox = bbox.map(|b| FaceBox { x: b[0], y: b[1], width: b[2], height: b[3] });
    let landmarks = landmarks.map(|l| l.chunks(2).map(|p| [p[0], p[1]]).collect::<Vec<_>>());
    // Plain numbers: serializing them cannot fail.
    let bbox = bbox.map(|b| serde_json::to_string(&b).unwrap_or_default());
    let landmarks = landmarks.map(|l| serde_json::to_string(&l).unwrap_or_default());
    Ok((bbox, landmarks))
}

/// The JPEG quality an image carrying metadata is stored re-encoded at.
const REENCODE_QUALITY: u8 = 92;

/// Decodes an uploaded image once (bounded, on a blocking thread), so that only images the
/// embedder can read are stored, and only their pixels: an image that is not a plain JPEG (EXIF
/// with GPS, XMP, ICC, comments — `stored_image::keeps_as_is`) is stored re-encoded from its
/// decoded pixels, orientation applied. `(content type, width, height, the bytes to store)`.
async fn checked_image(body: &Bytes) -> Result<(&'static str, u32, u32, Bytes), AppError> {
    checked(body, false).await.map(|(image, _)| image)
}

/// [`checked_image`] for a face crop, with its pixels' sharpness (`quality::rgb_sharpness`, for
/// the face's quality), read from the decoded upload before any re-encoding.
async fn checked_crop(body: &Bytes) -> Result<((&'static str, u32, u32, Bytes), Option<f32>), AppError> {
    checked(body, true).await
}

async fn checked(body: &Bytes, sharpness: bool) -> Result<((&'static str, u32, u32, Bytes), Option<f32>), AppError> {
    let bytes = body.clone();
    crate::blocking(move || {
        let image = decode_image(&bytes, &Limits::default())?;
        let (width, height) = (image.width(), image.height());
        let sharp = sharpness
            .then(|| facenet_attendance::quality::rgb_sharpness(image.as_raw(), width as usize, height as usize))
            .flatten();
        if stored_image::keeps_as_is(&bytes) {
            return Ok((("image/jpeg", width, height, bytes), sharp));
        }
        let plain = facenet_wasm::encode_jpeg(&image, REENCODE_QUALITY)?;
        Ok((("image/jpeg", width, height, Bytes::from(plain)), sharp))
    })
    .await
}

/// The crop's bytes are the request body.
async fn upload_crop(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    let (bbox, landmarks) = crop_origin(&query)?;
    let filename = checked_name(query.filename.as_deref().unwrap_or("crop"), "filename")?;
    let ((content_type, width, height, body), sharpness) = checked_crop(&body).await?;
    let answer = state
        .write(move |db, _| {
            scope::session(db, &caller, session)?;
            if let Some(photo) = query.photo_id {
                let found: Option<i64> = db
                    .query_row("SELECT session_id FROM photos WHERE id = ?1", [photo], |r| r.get(0))
                    .optional()?;
                if found != Some(session) {
                    return Err(AppError::NotFound(format!("no photo {photo} in session {session}")));
                }
            }
            db.execute(
                "INSERT INTO face_crops (session_id, filename, content_type, image, width, height, photo_id, box, landmarks, score, sharpness)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    session,
                    filename,
                    content_type,
                    body.as_ref(),
                    width,
                    height,
                    query.photo_id,
                    bbox,
                    landmarks,
                    query.score,
                    sharpness
                ],
            )?;
            Ok(CropCreated {
                status: Status::Success,
                crop_id: db.last_insert_rowid(),
                filename,
                width,
                height,
                photo_id: query.photo_id,
            })
        })
        .await?;
    Ok(created(answer))
}

async fn list_crops(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
) -> Result<Json<Vec<Crop>>, AppError> {
    state
        .read(move |db, _| {
            scope::session(db, &caller, session)?;
            let mut stmt = db.prepare(
                "SELECT c.id, c.filename, c.width, c.height, c.person_id, p.name,
                        (SELECT group_concat(model_name) FROM embeddings e WHERE e.crop_id = c.id),
                        c.photo_id, c.box, c.landmarks, c.score
                 FROM face_crops c LEFT JOIN people p ON p.id = c.person_id WHERE c.session_id = ?1 ORDER BY c.id",
            )?;
            let rows = stmt.query_map([session], |r| {
                let models: Option<String> = r.get(6)?;
                let box_text: Option<String> = r.get(8)?;
                let landmarks_text: Option<String> = r.get(9)?;
                Ok(Crop {
                    id: r.get(0)?,
                    filename: r.get(1)?,
                    width: r.get(2)?,
                    height: r.get(3)?,
                    person_id: r.get(4)?,
                    person_name: r.get(5)?,
                    embeddings: models.map(|m| m.split(',').map(str::to_string).collect()).unwrap_or_default(),
                    photo_id: r.get(7)?,
                    bbox: box_text.and_then(|t| serde_json::from_str(&t).ok()),
                    landmarks: landmarks_text.and_then(|t| serde_json::from_str(&t).ok()),
                    score: r.get(10)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .map(Json)
}

/// A photo's metadata ([`PhotoInfo`] as JSON: the default, only crops leave the browser), or
/// the photo itself as the raw body with `?filename=` (decoded once, bounded, so only images
/// are stored).
async fn upload_photo(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
    Query(query): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (info, image) = if is_json {
        let mut info: PhotoInfo = parse(&body)?;
        info.filename = checked_name(&info.filename, "filename")?;
        if info.width == 0 || info.height == 0 {
            return Err(AppError::InvalidRequest("a photo's width and height must be positive".into()));
        }
        (info, None)
    } else {
        let filename = checked_name(query.filename.as_deref().unwrap_or("photo"), "filename")?;
        let (content_type, width, height, stored) = checked_image(&body).await?;
        let info = PhotoInfo { filename, width, height, size: Some(body.len() as u64) };
        (info, Some((content_type, stored)))
    };
    let answer = state
        .write(move |db, _| {
            scope::session(db, &caller, session)?;
            db.execute(
                "INSERT INTO photos (session_id, filename, width, height, size, content_type, image) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    session,
                    info.filename,
                    info.width,
                    info.height,
                    info.size,
                    image.as_ref().map(|i| i.0),
                    image.as_ref().map(|i| i.1.as_ref())
                ],
            )?;
            Ok(PhotoCreated {
                status: Status::Success,
                photo_id: db.last_insert_rowid(),
                filename: info.filename,
                width: info.width,
                height: info.height,
                image_stored: image.is_some(),
            })
        })
        .await?;
    Ok(created(answer))
}

async fn list_photos(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
) -> Result<Json<Vec<Photo>>, AppError> {
    state
        .read(move |db, _| {
            scope::session(db, &caller, session)?;
            let mut stmt = db.prepare(
                "SELECT p.id, p.filename, p.width, p.height, p.size, p.image IS NOT NULL,
                        (SELECT COUNT(*) FROM face_crops c WHERE c.photo_id = p.id)
                 FROM photos p WHERE p.session_id = ?1 ORDER BY p.id",
            )?;
            let rows = stmt.query_map([session], |r| {
                Ok(Photo {
                    id: r.get(0)?,
                    filename: r.get(1)?,
                    width: r.get(2)?,
                    height: r.get(3)?,
                    size: r.get(4)?,
                    image_stored: r.get(5)?,
                    crops: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .map(Json)
}

async fn photo_image(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let found: Option<(Option<String>, Option<Vec<u8>>)> = state
        .read(move |db, _| {
            scope::photo(db, &caller, id)?;
            Ok(db
                .query_row("SELECT content_type, image FROM photos WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
        .await?;
    match found {
        None => Err(AppError::NotFound(format!("no photo {id}"))),
        Some((Some(content_type), Some(bytes))) => Ok(image_answer(content_type, bytes)),
        Some(_) => Err(AppError::NotFound(format!(
            "photo {id} was registered without its image (only its crops were uploaded)"
        ))),
    }
}

async fn crop_image(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let found: Option<(String, Vec<u8>)> = state
        .read(move |db, _| {
            scope::crop(db, &caller, id)?;
            Ok(db
                .query_row("SELECT content_type, image FROM face_crops WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?)
        })
        .await?;
    let (content_type, bytes) = found.ok_or(AppError::CropNotFound(id))?;
    Ok(image_answer(content_type, bytes))
}

/// Checks a posted vector against the served model (the attendance crate's rule).
fn validate(state: &AppState, model: &str, version: Option<&str>, v: &[f64]) -> Result<Vec<f32>, AppError> {
    let served = vector::Served { models: &state.models, version: &state.model_version };
    vector::validate(&served, model, version, v).map_err(|e| AppError::InvalidEmbedding(e.to_string()))
}

/// Validates and stores one vector on `db` (a connection or a batch's transaction): the same
/// vector twice is stored once; a different one needs `force_regenerate`.
fn store(
    db: &Connection,
    state: &AppState,
    caller: &Caller,
    crop: i64,
    post: &EmbeddingPost,
    version: Option<&str>,
) -> Result<EmbeddingStored, AppError> {
    let vector = validate(state, &post.model_name, version, &post.embedding)?;
    scope::crop(db, caller, crop)?;
    let message = match db::vector_of(db, crop, &post.model_name, &state.model_version)? {
        Some(old) if old.iter().zip(&vector).all(|(a, b)| (a - b).abs() <= 1e-6) => {
            "embedding already stored (unchanged)"
        }
        Some(_) if !post.force_regenerate => return Err(AppError::EmbeddingExists(crop, post.model_name.clone())),
        old => {
            db.execute(
                "INSERT INTO embeddings (crop_id, model_name, model_version, dimension, vector) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (crop_id, model_name) DO UPDATE SET model_version = excluded.model_version,
                 dimension = excluded.dimension, vector = excluded.vector, created_at = datetime('now')",
                params![crop, post.model_name, state.model_version, vector.len(), vector_to_blob(&vector)],
            )?;
            if old.is_some() {
                "embedding replaced"
            } else {
                "embedding stored"
            }
        }
    };
    tracing::info!(crop, model = %post.model_name, dimension = vector.len(), "crop {crop}: {} {}-d {message}",
        post.model_name, vector.len());
    Ok(EmbeddingStored {
        status: Status::Success,
        crop_id: crop,
        embedding_model: post.model_name.clone(),
        embedding_dimension: vector.len(),
        message,
    })
}

async fn post_embedding(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(crop): Path<i64>,
    body: Bytes,
) -> Result<Json<EmbeddingStored>, AppError> {
    let post: EmbeddingPost = parse(&body)?;
    // Validated before the writer is taken: a malformed vector never waits behind a batch.
    validate(&state, &post.model_name, post.model_version.as_deref(), &post.embedding)?;
    state.write(move |db, state| store(db, state, &caller, crop, &post, post.model_version.as_deref())).await.map(Json)
}

/// The most items one batch may carry: a batch holds the writer for its whole transaction.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// Each item succeeds or fails alone; the answer lists one result per item, in order. The
/// stored ones are written in one transaction, so a crash mid-batch leaves none of them half-done.
async fn post_embeddings_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Json<BatchAnswer>, AppError> {
    let batch: BatchPost = parse(&body)?;
    if batch.items.len() > MAX_BATCH_ITEMS {
        return Err(AppError::InvalidRequest(format!(
            "{} items in one batch; at most {MAX_BATCH_ITEMS}: split it into several posts",
            batch.items.len()
        )));
    }
    state
        .write(move |db, state| {
            let tx = db.transaction()?;
            let mut failed = 0;
            let results: Vec<BatchResult> = batch
                .items
                .into_iter()
                .map(|item| {
                    let version = item.model_version.or_else(|| batch.model_version.clone());
                    let post = EmbeddingPost {
                        model_name: batch.model_name.clone(),
                        model_version: None,
                        embedding: item.embedding,
                        force_regenerate: item.force_regenerate,
                    };
                    match store(&tx, state, &caller, item.crop_id, &post, version.as_deref()) {
                        Ok(stored) => BatchResult::Stored(stored),
                        Err(e) => {
                            failed += 1;
                            BatchResult::Failed {
                                status: Status::Error,
                                crop_id: item.crop_id,
                                error_type: e.code(),
                                message: e.to_string(),
                            }
                        }
                    }
                })
                .collect();
            tx.commit()?;
            let status = match failed {
                0 => Status::Success,
                n if n == results.len() => Status::Error,
                _ => Status::Partial,
            };
            Ok(BatchAnswer { status, stored: results.len() - failed, failed, results })
        })
        .await
        .map(Json)
}
