//! The audit log: who did what to whom, when — append-only (the database refuses an update or a
//! delete of a row), never a vector or an image. Admins read it (`GET /audit/`, `/audit.csv`).
//!
//! ```text
//! at                   actor       action     person  session  class  detail
//! 2026-12-07 09:41:02  Ms Rivera   finalize   —       812      7      {"model_version":"e9b31c60432e","threshold":0.4}
//! 2026-12-07 09:40:17  Ms Rivera   mark       4411    812      7      {"mark":"late"}
//! ```

use crate::error::AppError;
use crate::reports::csv_answer;
use crate::scope::Caller;
use crate::wire::{AuditEntry, AuditQuery};
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Json};
use facenet_attendance::audit::{audit_csv, AuditLine};
use facenet_attendance::time;
use rusqlite::{params, Connection};

/// What an entry is about.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct About {
    pub(crate) person: Option<i64>,
    pub(crate) session: Option<i64>,
    pub(crate) class: Option<i64>,
}

/// Appends one entry.
pub(crate) fn record(
    db: &Connection,
    actor: &str,
    action: &str,
    about: About,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    db.execute(
        "INSERT INTO audit (actor, action, person_id, session_id, class_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![actor, action, about.person, about.session, about.class, detail.to_string()],
    )?;
    Ok(())
}

fn entries(db: &Connection, query: &AuditQuery) -> Result<Vec<AuditEntry>, AppError> {
    let day = |d: &Option<String>| d.as_deref().map(time::day).transpose().map_err(AppError::InvalidRequest);
    let (from, to) = (day(&query.from)?, day(&query.to)?);
    let mut stmt = db.prepare(
        "SELECT id, at, actor, action, person_id, session_id, class_id, detail FROM audit
         WHERE (?1 IS NULL OR substr(at, 1, 10) >= ?1) AND (?2 IS NULL OR substr(at, 1, 10) <= ?2)
           AND (?3 IS NULL OR person_id = ?3)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![from, to, query.person_id], |r| {
        let detail: String = r.get(7)?;
        Ok(AuditEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            person_id: r.get(4)?,
            session_id: r.get(5)?,
            class_id: r.get(6)?,
            detail: serde_json::from_str(&detail).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `GET /audit/?from=&to=&person_id=` (admins).
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    caller.admin_only("reading the audit log")?;
    state.read(move |db, _| entries(db, &query)).await.map(Json)
}

/// `GET /audit.csv` (admins): the same entries, formula-safe, with a BOM.
pub(crate) async fn csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    caller.admin_only("reading the audit log")?;
    let rows = state.read(move |db, _| entries(db, &query)).await?;
    let lines: Vec<AuditLine> = rows
        .into_iter()
        .map(|e| AuditLine {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            person_id: e.person_id,
            session_id: e.session_id,
            class_id: e.class_id,
            detail: e.detail.to_string(),
        })
        .collect();
    let out = audit_csv(&lines);
    Ok(csv_answer("audit.csv", out))
}
