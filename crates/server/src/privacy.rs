//! Pupils' data rights: consent (only `given` lets a face be enrolled or matched; anything else
//! erases the biometric data at once), erasure that is real (rows deleted with SQLite's
//! `secure_delete`, the WAL checkpointed and truncated so no old page image lingers), and the
//! export of everything held about one pupil. The rules — what a consent history means, the
//! retention defaults — are the attendance crate's (`consent`, `retention`).

use crate::answers::image_answer_bytes;
use crate::audit::{self, About};
use crate::body::parse;
use crate::error::AppError;
use crate::scope::{self, Caller};
use crate::wire::{ConsentAnswer, ConsentEntry, ConsentPut, Erased, Status};
use crate::zip::Zip;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use facenet_attendance::consent::{self, Consent, ConsentBy, ConsentRecord, ConsentState};
use rusqlite::{params, Connection, OptionalExtension};

/// A pupil's consent standing as stored beside their history.
pub(crate) fn standing(db: &Connection, person: i64) -> Result<Consent, AppError> {
    let text: Option<String> =
        db.query_row("SELECT consent FROM people WHERE id = ?1", [person], |r| r.get(0)).optional()?;
    Ok(text.as_deref().and_then(Consent::parse).unwrap_or(Consent::NotAsked))
}

/// `ConsentRequired` unless the pupil's face may be used.
pub(crate) fn require(db: &Connection, person: i64) -> Result<(), AppError> {
    let standing = standing(db, person)?;
    if standing.allows_biometrics() {
        Ok(())
    } else {
        Err(AppError::ConsentRequired(person, standing.as_str()))
    }
}

/// Every consent record of a pupil, oldest first.
fn history(db: &Connection, person: i64) -> Result<Vec<ConsentEntry>, AppError> {
    let mut stmt =
        db.prepare("SELECT state, by_whom, purpose, recorded_by, at FROM consents WHERE person_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([person], |r| {
        Ok(ConsentEntry { state: r.get(0)?, by: r.get(1)?, purpose: r.get(2)?, recorded_by: r.get(3)?, at: r.get(4)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn answer(db: &Connection, person: i64) -> Result<ConsentAnswer, AppError> {
    Ok(ConsentAnswer {
        status: Status::Success,
        person_id: person,
        consent: standing(db, person)?.as_str(),
        history: history(db, person)?,
        erased_crop_ids: None,
    })
}

/// `GET /people/{id}/consent/`: the standing and the history.
pub(crate) async fn get_consent(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person): Path<i64>,
) -> Result<Json<ConsentAnswer>, AppError> {
    state
        .read(move |db, _| {
            scope::person(db, &caller, person)?;
            answer(db, person)
        })
        .await
        .map(Json)
}

/// `PUT /people/{id}/consent/` `{"state", "by", "purpose"}`: one more record; a standing other
/// than `given` erases the pupil's biometric data in the same transaction.
pub(crate) async fn put_consent(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person): Path<i64>,
    body: Bytes,
) -> Result<Json<ConsentAnswer>, AppError> {
    let put: ConsentPut = parse(&body)?;
    let state_ = ConsentState::parse(&put.state).ok_or_else(|| {
        AppError::InvalidRequest(format!("state must be given, refused or withdrawn; got {:?}", put.state))
    })?;
    let by = ConsentBy::parse(&put.by)
        .ok_or_else(|| AppError::InvalidRequest(format!("by must be guardian or pupil; got {:?}", put.by)))?;
    let purpose = checked_text(&put.purpose, "purpose")?;
    let erased = state
        .write(move |db, _| {
            let tx = db.transaction()?;
            scope::person(&tx, &caller, person)?;
            tx.execute(
                "INSERT INTO consents (person_id, state, by_whom, purpose, recorded_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![person, state_.as_str(), by.as_str(), purpose, caller.name],
            )?;
            let records: Vec<ConsentRecord> = {
                let mut stmt = tx.prepare("SELECT state, by_whom FROM consents WHERE person_id = ?1 ORDER BY id")?;
                let rows = stmt.query_map([person], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                let rows: Vec<(String, String)> = rows.collect::<Result<_, _>>()?;
                rows.iter()
                    .filter_map(|(s, b)| {
                        Some(ConsentRecord { state: ConsentState::parse(s)?, by: ConsentBy::parse(b)? })
                    })
                    .collect()
            };
            let standing = consent::standing(&records);
            tx.execute("UPDATE people SET consent = ?1 WHERE id = ?2", params![standing.as_str(), person])?;
            let erased = if standing.allows_biometrics() { Vec::new() } else { erase_biometrics(&tx, person)?.0 };
            audit::record(
                &tx,
                &caller.name,
                "consent",
                About { person: Some(person), ..About::default() },
                serde_json::json!({"state": state_.as_str(), "by": by.as_str(), "standing": standing.as_str(),
                                   "crops_erased": erased.len()}),
            )?;
            let answer = ConsentAnswer { erased_crop_ids: Some(erased), ..answer(&tx, person)? };
            tx.commit()?;
            Ok(answer)
        })
        .await?;
    if erased.erased_crop_ids.as_ref().is_some_and(|ids| !ids.is_empty()) {
        state.write(|db, _| checkpoint(db)).await?;
    }
    Ok(Json(erased))
}

/// A free text of at most 2,000 characters (a consent's purpose), trimmed.
fn checked_text(text: &str, what: &str) -> Result<String, AppError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 2000 {
        return Err(AppError::InvalidRequest(format!("{what} must be 1–2000 characters")));
    }
    Ok(t.to_string())
}

/// Deletes the face crops `condition` (on `?1`) selects, with their vectors; their ids, which an
/// erasure answers so that a page can drop what it still holds of them (its upload queue).
fn delete_crops(db: &Connection, condition: &str, param: i64) -> Result<Vec<i64>, AppError> {
    crate::idempotency::forget_crops(db, condition, param)?;
    let mut stmt = db.prepare(&format!("DELETE FROM face_crops WHERE {condition} RETURNING id"))?;
    let mut ids: Vec<i64> = stmt.query_map([param], |r| r.get(0))?.collect::<Result<_, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Erases a pupil's biometric data: their reference crops with every vector of them, their
/// gallery (the lesson faces registers confirmed as theirs: the faces stay, anonymous, under the
/// lesson faces' retention), and every teacher's verdict naming them. The crops' ids, and how
/// many verdicts were cleared.
pub(crate) fn erase_biometrics(db: &Connection, person: i64) -> Result<(Vec<i64>, usize), AppError> {
    let crops = delete_crops(db, "person_id = ?1", person)?;
    db.execute("DELETE FROM register_faces WHERE person_id = ?1", [person])?;
    let verdicts = db.execute(
        "UPDATE face_crops SET verdict = NULL, verdict_person_id = NULL WHERE verdict_person_id = ?1",
        [person],
    )?;
    Ok((crops, verdicts))
}

/// After an erasure: the WAL's frames (old page images, the erased bytes among them) written
/// back and the WAL truncated; `secure_delete` has zeroed the freed space in the file itself.
pub(crate) fn checkpoint(db: &Connection) -> Result<(), AppError> {
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// `DELETE /people/{id}/` (admins): the pupil erased — biometric data, rosters, open marks;
/// their finalised attendance marks kept as the school's record (the person row stays, marked
/// erased) unless the retention schedule says to erase those too (then the row, their marks and
/// their lines in stored registers go).
pub(crate) async fn erase_person(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person): Path<i64>,
) -> Result<Json<Erased>, AppError> {
    let erased = state
        .write(move |db, state| {
            let tx = db.transaction()?;
            scope::person(&tx, &caller, person)?;
            caller.admin_only("erasing a pupil")?;
            let (crop_ids, _) = erase_biometrics(&tx, person)?;
            tx.execute("DELETE FROM roster WHERE person_id = ?1", [person])?;
            tx.execute("DELETE FROM marks WHERE person_id = ?1", [person])?;
            let keep = state.retention.keep_attendance_of_erased;
            if keep {
                tx.execute(
                    "UPDATE people SET erased_at = datetime('now'), left_at = COALESCE(left_at, datetime('now')) WHERE id = ?1",
                    [person],
                )?;
            } else {
                strip_from_stored_registers(&tx, person)?;
                tx.execute("DELETE FROM register_marks WHERE person_id = ?1", [person])?;
                tx.execute("DELETE FROM consents WHERE person_id = ?1", [person])?;
                tx.execute("DELETE FROM people WHERE id = ?1", [person])?;
            }
            audit::record(
                &tx,
                &caller.name,
                "erase",
                About { person: Some(person), ..About::default() },
                serde_json::json!({"what": "pupil", "crops": crop_ids.len(), "attendance_kept": keep}),
            )?;
            tx.commit()?;
            checkpoint(db)?;
            Ok(Erased::of("pupil", person, crop_ids, Some(keep)))
        })
        .await?;
    tracing::info!(person, crops = erased.crops, "pupil {person} erased by an admin");
    Ok(Json(erased))
}

/// A pupil's lines taken out of every stored register (their name is in it).
fn strip_from_stored_registers(db: &Connection, person: i64) -> Result<(), AppError> {
    let mut stmt = db.prepare(
        "SELECT r.session_id, r.answer FROM registers r JOIN register_marks m ON m.session_id = r.session_id WHERE m.person_id = ?1",
    )?;
    let rows: Vec<(i64, String)> =
        stmt.query_map([person], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for (session, answer) in rows {
        let mut value: serde_json::Value =
            serde_json::from_str(&answer).map_err(|e| AppError::Internal(format!("stored register {session}: {e}")))?;
        if let Some(people) = value.get_mut("people").and_then(|p| p.as_array_mut()) {
            people.retain(|line| line.get("person_id").and_then(|v| v.as_i64()) != Some(person));
        }
        db.execute("UPDATE registers SET answer = ?1 WHERE session_id = ?2", params![value.to_string(), session])?;
    }
    Ok(())
}

/// Erases `what` (`id`) of lesson `session` in one transaction — a teacher only while its
/// register is open, an admin whatever is asked —, audits it and truncates the WAL. `erase`
/// deletes the rows and says which crops went.
fn erase_from_lesson(
    db: &mut Connection,
    caller: &Caller,
    session: i64,
    what: &'static str,
    id: i64,
    erase: impl FnOnce(&Connection) -> Result<Vec<i64>, AppError>,
) -> Result<Erased, AppError> {
    let tx = db.transaction()?;
    let scope =
        if caller.admin { scope::session(&tx, caller, session)? } else { scope::open_session(&tx, caller, session)? };
    let crops = erase(&tx)?;
    audit::record(
        &tx,
        &caller.name,
        "erase",
        About { session: Some(session), class: Some(scope.class_id), ..About::default() },
        serde_json::json!({"what": what, "id": id, "crops": crops.len()}),
    )?;
    tx.commit()?;
    checkpoint(db)?;
    Ok(Erased::of(what, id, crops, None))
}

/// `DELETE /face-crops/{id}/`: one face and its vectors.
pub(crate) async fn delete_crop(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(crop): Path<i64>,
) -> Result<Json<Erased>, AppError> {
    state
        .write(move |db, _| {
            let session = scope::crop(db, &caller, crop)?;
            erase_from_lesson(db, &caller, session, "crop", crop, |tx| delete_crops(tx, "id = ?1", crop))
        })
        .await
        .map(Json)
}

/// `DELETE /photos/{id}/`: a photo with the faces cut from it.
pub(crate) async fn delete_photo(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(photo): Path<i64>,
) -> Result<Json<Erased>, AppError> {
    state
        .write(move |db, _| {
            scope::photo(db, &caller, photo)?;
            let session: i64 = db.query_row("SELECT session_id FROM photos WHERE id = ?1", [photo], |r| r.get(0))?;
            erase_from_lesson(db, &caller, session, "photo", photo, |tx| {
                let crops = delete_crops(tx, "photo_id = ?1", photo)?;
                crate::idempotency::forget_photos(tx, "id = ?1", photo)?;
                tx.execute("DELETE FROM photos WHERE id = ?1", [photo])?;
                Ok(crops)
            })
        })
        .await
        .map(Json)
}

/// `DELETE /sessions/{id}/`: a lesson with its photos, faces, vectors, marks and register.
pub(crate) async fn delete_session(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
) -> Result<Json<Erased>, AppError> {
    state
        .write(move |db, _| {
            erase_from_lesson(db, &caller, session, "session", session, |tx| {
                let crops = delete_crops(tx, "session_id = ?1", session)?;
                crate::idempotency::forget_photos(tx, "session_id = ?1", session)?;
                tx.execute("DELETE FROM photos WHERE session_id = ?1", [session])?;
                tx.execute("DELETE FROM sessions WHERE id = ?1", [session])?;
                Ok(crops)
            })
        })
        .await
        .map(Json)
}

/// `GET /people/{id}/export/` (admins): everything held about the pupil, for an access request,
/// as a ZIP: `pupil.json` (record, rosters, consent history, marks, finalised marks, audit
/// entries about them, vectors with their model and version) and `crops/<id>.<ext>` (their
/// reference faces).
pub(crate) async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person): Path<i64>,
) -> Result<Response, AppError> {
    let (zip, name) = state
        .write(move |db, _| {
            scope::person(db, &caller, person)?;
            caller.admin_only("exporting a pupil's data")?;
            let value = |sql: &str| -> Result<serde_json::Value, AppError> {
                let text: String = db.query_row(sql, [person], |r| r.get(0))?;
                serde_json::from_str(&text).map_err(|e| AppError::Internal(e.to_string()))
            };
            let pupil = value(
                "SELECT json_object('person_id', id, 'name', name, 'external_id', external_id, 'created_at', created_at,
                        'consent', consent, 'left_at', left_at, 'erased_at', erased_at) FROM people WHERE id = ?1",
            )?;
            let list = |sql: &str| value(&format!("SELECT COALESCE(json_group_array(json(x)), '[]') FROM ({sql})"));
            let rosters = list("SELECT json_object('class_id', r.class_id, 'class', c.name, 'added_at', r.added_at) AS x
                                FROM roster r JOIN classes c ON c.id = r.class_id WHERE r.person_id = ?1")?;
            let consents = list("SELECT json_object('state', state, 'by', by_whom, 'purpose', purpose, 'recorded_by', recorded_by, 'at', at) AS x
                                 FROM consents WHERE person_id = ?1 ORDER BY id")?;
            let marks = list("SELECT json_object('session_id', session_id, 'mark', mark, 'by', by_name, 'at', at) AS x
                              FROM marks WHERE person_id = ?1")?;
            let finalised = list("SELECT json_object('session_id', m.session_id, 'lesson', s.name, 'starts_at', s.starts_at, 'mark', m.mark) AS x
                                  FROM register_marks m JOIN sessions s ON s.id = m.session_id WHERE m.person_id = ?1")?;
            let audit = list("SELECT json_object('at', at, 'actor', actor, 'action', action, 'session_id', session_id, 'detail', json(detail)) AS x
                              FROM audit WHERE person_id = ?1 ORDER BY id")?;
            let mut zip = Zip::default();
            let mut vectors = Vec::new();
            // Their reference faces, and the lesson faces their gallery holds (register_faces).
            let mut stmt = db.prepare(
                "SELECT id, content_type, image, session_id, created_at, person_id IS NOT NULL FROM face_crops
                 WHERE person_id = ?1 OR id IN (SELECT crop_id FROM register_faces WHERE person_id = ?1) ORDER BY id",
            )?;
            let crops: Vec<(i64, String, Vec<u8>, i64, String, bool)> = stmt
                .query_map([person], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
                .collect::<Result<_, _>>()?;
            let ids = |reference: bool| crops.iter().filter(|c| c.5 == reference).map(|c| c.0).collect::<Vec<_>>();
            for (crop, content_type, image, session, at, _) in &crops {
                let ext = content_type.rsplit('/').next().unwrap_or("bin");
                zip.add(&format!("crops/{crop}.{ext}"), image);
                let mut vs = db.prepare("SELECT model_name, model_version, vector, created_at FROM embeddings WHERE crop_id = ?1")?;
                let rows = vs.query_map([crop], |r| {
                    Ok(serde_json::json!({"crop_id": crop, "session_id": session, "crop_created_at": at, "model_name": r.get::<_, String>(0)?,
                        "model_version": r.get::<_, String>(1)?, "vector": crate::db::blob_to_vector(&r.get::<_, Vec<u8>>(2)?),
                        "created_at": r.get::<_, String>(3)?}))
                })?;
                for row in rows {
                    vectors.push(row?);
                }
            }
            let document = serde_json::json!({
                "pupil": pupil, "rosters": rosters, "consent_history": consents, "open_marks": marks,
                "finalised_marks": finalised, "reference_faces": ids(true), "gallery_faces": ids(false),
                "vectors": vectors, "audit": audit,
            });
            zip.add("pupil.json", serde_json::to_string_pretty(&document).unwrap_or_default().as_bytes());
            audit::record(db, &caller.name, "export", About { person: Some(person), ..About::default() }, serde_json::json!({}))?;
            let name = pupil.get("name").and_then(|n| n.as_str()).unwrap_or("pupil").to_string();
            Ok((zip.finish(), name))
        })
        .await?;
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let disposition = format!("attachment; filename=\"pupil-{person}-{safe}.zip\"");
    Ok(image_answer_bytes("application/zip", zip, Some(disposition)).into_response())
}
