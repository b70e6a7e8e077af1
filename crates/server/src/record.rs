//! The register as a record: a teacher's marks by hand and word on whose face a crop is, while
//! the register is open; finalising stores it as it is (marks, faces, model, thresholds, who,
//! when) and it does not change afterwards; reopening is an explicit act, recorded like
//! finalising (`register_events`).

use crate::audit::{self, About};
use crate::body::parse;
use crate::error::AppError;
use crate::register::{assign_on, current, from_lines, stored};
use crate::scope::{self, Caller};
use crate::wire::{AssignRequest, Finalized, MarkPut, Register, RegisterQuery, Status, VerdictPut, VerdictSet};
use crate::{privacy, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use facenet_attendance::{gallery, Mark};
use rusqlite::{params, Connection};

/// `PUT /sessions/{id}/attendance/{person_id}/` `{"mark"}`: a pupil of the roster marked by hand
/// (`null` gives the mark back to the faces); the register as it is now.
pub(crate) async fn set_mark(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((session, person)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Json<Register>, AppError> {
    let put: MarkPut = parse(&body)?;
    let mark = match put.mark.as_deref() {
        None => None,
        Some(name) => Some(Mark::parse(name).ok_or_else(|| {
            AppError::InvalidRequest(format!("mark must be present, absent, late, excused or null; got {name:?}"))
        })?),
    };
    state
        .write(move |db, state| {
            let scope = scope::open_session(db, &caller, session)?;
            scope::on_roster(db, scope.class_id, person)?;
            match mark {
                Some(mark) => db.execute(
                    "INSERT INTO marks (session_id, person_id, mark, by_name) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (session_id, person_id) DO UPDATE SET mark = excluded.mark,
                     by_name = excluded.by_name, at = datetime('now')",
                    params![session, person, mark.as_str(), caller.name],
                )?,
                None => db.execute("DELETE FROM marks WHERE session_id = ?1 AND person_id = ?2", [session, person])?,
            };
            audit::record(
                db,
                &caller.name,
                "mark",
                About { person: Some(person), session: Some(session), class: Some(scope.class_id) },
                serde_json::json!({"mark": mark.map(Mark::as_str)}),
            )?;
            current(db, state, &caller, session, RegisterQuery::default())
        })
        .await
        .map(Json)
}

/// `POST /sessions/{id}/finalize/` (optional body `{"model_name", "threshold"}`): the register
/// computed and stored as it is, in one transaction on the writer (no mark can slip in between).
pub(crate) async fn finalize(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
    body: Bytes,
) -> Result<Json<Register>, AppError> {
    let request: AssignRequest = if body.is_empty() { AssignRequest::default() } else { parse(&body)? };
    state
        .write(move |db, state| {
            let tx = db.transaction()?;
            scope::open_session(&tx, &caller, session)?;
            let outcome = assign_on(&tx, state, &caller, session, request)?;
            let lines = facenet_attendance::register(&outcome.people, &outcome.decisions, &outcome.marks);
            let confirmed = gallery::confirmed_by(&lines);
            let mut register = from_lines(state, session, outcome, lines);
            let at: String = tx.query_row("SELECT datetime('now')", [], |r| r.get(0))?;
            register.finalized = Some(Finalized { at: at.clone(), by: caller.name.clone() });
            let crops: Vec<i64> = {
                let mut stmt = tx.prepare("SELECT id FROM face_crops WHERE session_id = ?1 ORDER BY id")?;
                let rows = stmt.query_map([session], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            let answer = serde_json::to_string(&register).map_err(|e| AppError::Internal(e.to_string()))?;
            let crop_ids = serde_json::to_string(&crops).map_err(|e| AppError::Internal(e.to_string()))?;
            tx.execute(
                "INSERT INTO registers (session_id, finalized_at, finalized_by, crop_ids, answer) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session, at, caller.name, crop_ids, answer],
            )?;
            for line in &register.people {
                tx.execute(
                    "INSERT INTO register_marks (session_id, person_id, mark) VALUES (?1, ?2, ?3)",
                    params![session, line.person_id, line.mark],
                )?;
            }
            // What the register confirms grows its pupils' galleries (facenet_attendance::gallery).
            for (crop, person) in &confirmed {
                tx.execute(
                    "INSERT INTO register_faces (session_id, crop_id, person_id) VALUES (?1, ?2, ?3)",
                    params![session, crop, person],
                )?;
            }
            event(&tx, session, "finalize", &caller)?;
            audit::record(&tx, &caller.name, "finalize", About { session: Some(session), class: Some(register.class_id), ..About::default() },
                serde_json::json!({"model_name": register.model_name, "model_version": register.model_version,
                                   "threshold": register.threshold, "pupils": register.people.len(),
                                   "gallery_faces": confirmed.len()}))?;
            tx.commit()?;
            tracing::info!(session, pupils = register.people.len(), "session {session}: register finalised by {}", caller.name);
            Ok(register)
        })
        .await
        .map(Json)
}

fn event(db: &Connection, session: i64, action: &str, caller: &Caller) -> Result<(), AppError> {
    db.execute(
        "INSERT INTO register_events (session_id, action, by_name) VALUES (?1, ?2, ?3)",
        params![session, action, caller.name],
    )?;
    Ok(())
}

/// `POST /sessions/{id}/reopen/`: the stored register is dropped (its marks leave the reports
/// until it is finalised again), the act recorded; the register as it is now.
pub(crate) async fn reopen(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
) -> Result<Json<Register>, AppError> {
    state
        .write(move |db, state| {
            let tx = db.transaction()?;
            scope::session(&tx, &caller, session)?;
            if stored(&tx, session)?.is_none() {
                return Err(AppError::Conflict(format!("the register of session {session} is not finalised")));
            }
            tx.execute("DELETE FROM registers WHERE session_id = ?1", [session])?;
            event(&tx, session, "reopen", &caller)?;
            audit::record(
                &tx,
                &caller.name,
                "reopen",
                About { session: Some(session), ..About::default() },
                serde_json::json!({}),
            )?;
            let register = current(&tx, state, &caller, session, RegisterQuery::default())?;
            tx.commit()?;
            tracing::info!(session, "session {session}: register reopened by {}", caller.name);
            Ok(register)
        })
        .await
        .map(Json)
}

/// `PUT /face-crops/{id}/person/` `{"person_id": id | null}`: this face is that pupil of the
/// session's class, or nobody of it.
pub(crate) async fn set_verdict(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(crop): Path<i64>,
    body: Bytes,
) -> Result<Json<VerdictSet>, AppError> {
    let put: VerdictPut = parse(&body)?;
    verdict(state, caller, crop, Some(put.person_id)).await
}

/// `DELETE /face-crops/{id}/person/`: the matching decides this face again.
pub(crate) async fn clear_verdict(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(crop): Path<i64>,
) -> Result<Json<VerdictSet>, AppError> {
    verdict(state, caller, crop, None).await
}

async fn verdict(
    state: AppState,
    caller: Caller,
    crop: i64,
    given: Option<Option<i64>>,
) -> Result<Json<VerdictSet>, AppError> {
    state
        .write(move |db, _| {
            let session = scope::crop(db, &caller, crop)?;
            let scope = scope::open_session(db, &caller, session)?;
            let (verdict, person) = match given {
                None => (None, None),
                Some(None) => (Some("nobody"), None),
                Some(Some(person)) => {
                    scope::on_roster(db, scope.class_id, person)?;
                    privacy::require(db, person)?;
                    (Some("person"), Some(person))
                }
            };
            audit::record(
                db,
                &caller.name,
                "verdict",
                About { person, session: Some(session), class: Some(scope.class_id) },
                serde_json::json!({"crop_id": crop, "verdict": verdict}),
            )?;
            db.execute(
                "UPDATE face_crops SET verdict = ?1, verdict_person_id = ?2 WHERE id = ?3",
                params![verdict, person, crop],
            )?;
            Ok(VerdictSet { status: Status::Success, crop_id: crop, verdict, person_id: person })
        })
        .await
        .map(Json)
}
