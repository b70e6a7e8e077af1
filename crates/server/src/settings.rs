//! `GET /settings/` (admins): every setting of this deployment that a data-protection impact
//! assessment asks about, read from what the server runs with, and what it holds now (counts,
//! never a name or a face). The Django app answers the same keys.
//!
//! ```text
//! {"backend": "facenet-server 0.1.0",
//!  "storage": {"engine": "sqlite", "location": "data/facenet.sqlite3", "erasure": "…"},
//!  "retention": {"lesson_faces_days": 30, …, "notice": ["…"]},
//!  "models": [{"model_name": "facenet", "model_version": "e9b31c60432e", "dimensions": 128, "threshold": 0.4}],
//!  "accounts": {"admins": 1, "teachers": 12, "live_tokens": 14, "server_token": false, "token_storage": "…"},
//!  "limits": {…}, "content_security_policy": "…", "held": {"pupils": 380, "consent_given": 371, …}}
//! ```

use crate::error::AppError;
use crate::scope::Caller;
use crate::statics::CONTENT_SECURITY_POLICY;
use crate::wire::{AccountsSetting, HeldCounts, LimitsSetting, ModelSetting, SettingsAnswer, StorageSetting};
use crate::{purge, AppState, FAILED_SIGN_INS_PER_MINUTE, MAX_IMAGE_BODY, REQUEST_TIMEOUT};
use axum::extract::State;
use axum::{Extension, Json};
use rusqlite::Connection;

/// What erasing does in SQLite here (db.rs, privacy.rs).
const SQLITE_ERASURE: &str = "rows deleted with secure_delete on (freed pages overwritten with zeros); \
     the write-ahead log checkpointed and truncated after every erasure and purge";

/// How tokens are kept (accounts.rs).
const TOKEN_STORAGE: &str =
    "128 random bits, shown once, stored as SHA-256 only; revocable, optionally expiring; kept by the page per tab";

fn count(db: &Connection, sql: &str) -> Result<i64, AppError> {
    Ok(db.query_row(sql, [], |r| r.get(0))?)
}

fn held(db: &Connection) -> Result<HeldCounts, AppError> {
    Ok(HeldCounts {
        pupils: count(db, "SELECT COUNT(*) FROM people WHERE erased_at IS NULL")?,
        consent_given: count(db, "SELECT COUNT(*) FROM people WHERE erased_at IS NULL AND consent = 'given'")?,
        reference_faces: count(db, "SELECT COUNT(*) FROM face_crops WHERE person_id IS NOT NULL")?,
        lesson_faces: count(db, "SELECT COUNT(*) FROM face_crops WHERE person_id IS NULL")?,
        gallery_faces: count(db, "SELECT COUNT(*) FROM register_faces")?,
        photo_images: count(db, "SELECT COUNT(*) FROM photos WHERE image IS NOT NULL")?,
        lessons: count(db, "SELECT COUNT(*) FROM sessions")?,
        audit_entries: count(db, "SELECT COUNT(*) FROM audit")?,
    })
}

fn accounts(db: &Connection, server_token: bool) -> Result<AccountsSetting, AppError> {
    Ok(AccountsSetting {
        admins: count(db, "SELECT COUNT(*) FROM users WHERE admin")?,
        teachers: count(db, "SELECT COUNT(*) FROM users WHERE NOT admin")?,
        live_tokens: count(
            db,
            "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > datetime('now'))",
        )?,
        server_token,
        token_storage: TOKEN_STORAGE,
    })
}

/// `GET /settings/` (admins).
pub(crate) async fn settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SettingsAnswer>, AppError> {
    caller.admin_only("reading the deployment's settings")?;
    state
        .read(|db, state| {
            let mut models: Vec<ModelSetting> = state
                .models
                .iter()
                .map(|(name, dimensions)| ModelSetting {
                    model_name: name.clone(),
                    model_version: state.model_version.clone(),
                    dimensions: *dimensions,
                    threshold: state.thresholds.get(name).copied(),
                    gallery_size: facenet_attendance::gallery::GALLERY_SIZE,
                })
                .collect();
            models.sort_by(|a, b| a.model_name.cmp(&b.model_name));
            Ok(SettingsAnswer {
                backend: format!("facenet-server {}", env!("CARGO_PKG_VERSION")),
                storage: StorageSetting {
                    engine: "sqlite",
                    location: state.db.path().display().to_string(),
                    erasure: SQLITE_ERASURE,
                },
                retention: purge::answer(&state.retention),
                models,
                accounts: accounts(db, state.token.is_some())?,
                limits: LimitsSetting {
                    failed_sign_ins_per_minute: FAILED_SIGN_INS_PER_MINUTE,
                    request_timeout_seconds: Some(REQUEST_TIMEOUT.as_secs()),
                    max_image_body: MAX_IMAGE_BODY,
                },
                content_security_policy: Some(CONTENT_SECURITY_POLICY),
                held: held(db)?,
            })
        })
        .await
        .map(Json)
}
