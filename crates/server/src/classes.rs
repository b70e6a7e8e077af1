//! Classes, their teachers and rosters, and the pupils on them: the calls that read and change
//! them, and enrolment (a pupil's reference faces). Which class a call may reach is `scope.rs`'s.

use crate::answers::{checked_name, created};
use crate::audit::{self, About};
use crate::body::parse;
use crate::error::AppError;
use crate::scope::{self, teaches, Caller};
use crate::wire::{Class, ClassPost, Enroll, Enrolled, PersonPatch, Pupil, PupilPost, ReferencesPost, Status};
use crate::{privacy, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Json};
use facenet_attendance::consent::Consent;
use facenet_attendance::quality;
use facenet_attendance::retention::Schedule;
use rusqlite::{params, Connection, OptionalExtension};

/// The class a session goes to when it names none: a teacher's only class; for an admin (and
/// the server's `--token`), the "Imported" class of old clients and of migrated data, created on
/// first use.
pub(crate) fn default_class(db: &Connection, caller: &Caller) -> Result<i64, AppError> {
    if caller.admin {
        let found: Option<i64> =
            db.query_row("SELECT id FROM classes WHERE imported = 1 ORDER BY id", [], |r| r.get(0)).optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        db.execute("INSERT INTO classes (name, imported) VALUES ('Imported', 1)", [])?;
        return Ok(db.last_insert_rowid());
    }
    let mut stmt = db.prepare("SELECT class_id FROM class_teachers WHERE user_id = ?1 ORDER BY class_id")?;
    let classes: Vec<i64> = stmt.query_map([caller.restriction()], |r| r.get(0))?.collect::<Result<_, _>>()?;
    match classes[..] {
        [only] => Ok(only),
        _ => Err(AppError::InvalidRequest(format!(
            "class_id is required: you teach {} classes (GET /classes/ lists them)",
            classes.len()
        ))),
    }
}

const CLASSES_SQL: &str = concat!(
    "SELECT c.id, c.name,
            (SELECT json_group_array(user_id) FROM (SELECT user_id FROM class_teachers t WHERE t.class_id = c.id ORDER BY user_id)),
            (SELECT COUNT(*) FROM roster r WHERE r.class_id = c.id),
            (SELECT COUNT(*) FROM sessions s WHERE s.class_id = c.id)
     FROM classes c WHERE (?1 IS NULL OR c.id = ?1) AND ",
    teaches!("c.id"),
    " ORDER BY c.name, c.id"
);

/// The classes the caller reaches (or class `one` alone).
fn classes(db: &Connection, caller: &Caller, one: Option<i64>) -> Result<Vec<Class>, AppError> {
    let mut stmt = db.prepare(CLASSES_SQL)?;
    let rows = stmt.query_map(params![one, caller.restriction()], |r| {
        let teachers: String = r.get(2)?;
        Ok(Class {
            status: None,
            id: r.get(0)?,
            name: r.get(1)?,
            teacher_ids: serde_json::from_str(&teachers).unwrap_or_default(),
            pupils: r.get(3)?,
            sessions: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn class(db: &Connection, caller: &Caller, id: i64) -> Result<Class, AppError> {
    classes(db, caller, Some(id))?.pop().ok_or_else(|| AppError::NotFound(format!("no class {id}")))
}

/// Sets a class's teachers: every id must be an account.
fn set_teachers(db: &Connection, class: i64, teachers: &[i64]) -> Result<(), AppError> {
    db.execute("DELETE FROM class_teachers WHERE class_id = ?1", [class])?;
    for &user in teachers {
        let found: Option<i64> = db.query_row("SELECT id FROM users WHERE id = ?1", [user], |r| r.get(0)).optional()?;
        found.ok_or_else(|| AppError::InvalidRequest(format!("teacher_ids: no user {user}")))?;
        db.execute("INSERT OR IGNORE INTO class_teachers (class_id, user_id) VALUES (?1, ?2)", [class, user])?;
    }
    Ok(())
}

/// `GET /classes/`: the caller's classes (an admin's: all), by name.
pub(crate) async fn list_classes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<Class>>, AppError> {
    state.read(move |db, _| classes(db, &caller, None)).await.map(Json)
}

/// `GET /classes/{id}/`.
pub(crate) async fn get_class(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<Class>, AppError> {
    state.read(move |db, _| class(db, &caller, id)).await.map(Json)
}

/// `POST /classes/` (admins): `{"name", "teacher_ids"}` → 201.
pub(crate) async fn create_class(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, AppError> {
    caller.admin_only("creating classes")?;
    let post: ClassPost = parse(&body)?;
    let name = checked_name(post.name.as_deref().unwrap_or_default(), "a class's name")?;
    let answer = state
        .write(move |db, _| {
            let tx = db.transaction()?;
            tx.execute("INSERT INTO classes (name) VALUES (?1)", [&name])?;
            let id = tx.last_insert_rowid();
            set_teachers(&tx, id, post.teacher_ids.as_deref().unwrap_or_default())?;
            let class = class(&tx, &caller, id)?;
            audit::record(
                &tx,
                &caller.name,
                "class",
                About { class: Some(id), ..About::default() },
                serde_json::json!({"created": name, "teacher_ids": class.teacher_ids}),
            )?;
            tx.commit()?;
            tracing::info!(class = id, "class {id} ({name}) created by {}", caller.name);
            Ok(Class { status: Some(Status::Success), ..class })
        })
        .await?;
    Ok(created(answer))
}

/// `PATCH /classes/{id}/` (admins): a new name and/or teachers.
pub(crate) async fn patch_class(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<Class>, AppError> {
    let post: ClassPost = parse(&body)?;
    let name = post.name.as_deref().map(|n| checked_name(n, "a class's name")).transpose()?;
    state
        .write(move |db, _| {
            let tx = db.transaction()?;
            scope::class(&tx, &caller, id)?;
            caller.admin_only("changing a class")?;
            if let Some(name) = &name {
                tx.execute("UPDATE classes SET name = ?1 WHERE id = ?2", params![name, id])?;
            }
            if let Some(teachers) = &post.teacher_ids {
                set_teachers(&tx, id, teachers)?;
            }
            let class = class(&tx, &caller, id)?;
            audit::record(
                &tx,
                &caller.name,
                "class",
                About { class: Some(id), ..About::default() },
                serde_json::json!({"name": class.name, "teacher_ids": class.teacher_ids}),
            )?;
            tx.commit()?;
            Ok(Class { status: Some(Status::Success), ..class })
        })
        .await
        .map(Json)
}

/// `DELETE /classes/{id}/` (admins): the class with its lessons — their photos, crops, vectors,
/// marks and registers — in one transaction. Its pupils stay (on other rosters, or for an
/// admin to erase).
pub(crate) async fn delete_class(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    state
        .write(move |db, _| {
            let tx = db.transaction()?;
            scope::class(&tx, &caller, id)?;
            caller.admin_only("deleting a class")?;
            let in_class = "session_id IN (SELECT id FROM sessions WHERE class_id = ?1)";
            crate::idempotency::forget_crops(&tx, in_class, id)?;
            crate::idempotency::forget_photos(&tx, in_class, id)?;
            let crops = tx.execute(&format!("DELETE FROM face_crops WHERE {in_class}"), [id])?;
            let photos = tx.execute(&format!("DELETE FROM photos WHERE {in_class}"), [id])?;
            let sessions = tx.execute("DELETE FROM sessions WHERE class_id = ?1", [id])?;
            tx.execute("DELETE FROM classes WHERE id = ?1", [id])?;
            audit::record(&tx, &caller.name, "erase", About { class: Some(id), ..About::default() },
                serde_json::json!({"what": "class", "sessions": sessions, "crops": crops, "photos": photos}))?;
            tx.commit()?;
            privacy::checkpoint(db)?;
            tracing::info!(class = id, sessions, crops, photos, "class {id} deleted by {}", caller.name);
            Ok(serde_json::json!({"status": Status::Success, "id": id, "sessions": sessions, "crops": crops, "photos": photos}))
        })
        .await
        .map(Json)
}

const PUPILS_SQL: &str = concat!(
    "SELECT p.id, p.name, p.external_id, (SELECT COUNT(*) FROM face_crops c WHERE c.person_id = p.id), p.consent,
            (SELECT json_group_array(class_id) FROM
                (SELECT r.class_id FROM roster r WHERE r.person_id = p.id AND ",
    teaches!("r.class_id"),
    " ORDER BY r.class_id)),
            (SELECT MIN(c.created_at) FROM face_crops c WHERE c.person_id = p.id), date('now')
     FROM people p
     WHERE p.erased_at IS NULL AND (?1 IS NULL OR p.id IN (SELECT person_id FROM roster WHERE class_id = ?1))
       AND (?3 IS NULL OR p.id = ?3)
       AND (?2 IS NULL OR EXISTS (SELECT 1 FROM roster r WHERE r.person_id = p.id AND ",
    teaches!("r.class_id"),
    "))
     ORDER BY p.name, p.id"
);

/// The pupils the caller reaches: on class `roster`'s roster, or pupil `one`, or all.
fn pupils(
    db: &Connection,
    caller: &Caller,
    schedule: &Schedule,
    roster: Option<i64>,
    one: Option<i64>,
) -> Result<Vec<Pupil>, AppError> {
    let mut stmt = db.prepare(PUPILS_SQL)?;
    let rows = stmt.query_map(params![roster, caller.restriction(), one], |r| {
        let classes: String = r.get(5)?;
        let oldest: Option<String> = r.get(6)?;
        let today: String = r.get(7)?;
        let reenrol = oldest.and_then(|o| schedule.reenrolment(&o, &today).ok());
        Ok(Pupil {
            status: None,
            id: r.get(0)?,
            person_id: r.get(0)?,
            name: r.get(1)?,
            external_id: r.get(2)?,
            crops: r.get(3)?,
            class_ids: serde_json::from_str(&classes).unwrap_or_default(),
            consent: r.get(4)?,
            reenrol_due: reenrol.as_ref().is_some_and(|r| r.due),
            reenrol_by: reenrol.map(|r| r.by),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn pupil(db: &Connection, caller: &Caller, schedule: &Schedule, id: i64) -> Result<Pupil, AppError> {
    pupils(db, caller, schedule, None, Some(id))?.pop().ok_or_else(|| AppError::NotFound(format!("no pupil {id}")))
}

/// An external id as stored: trimmed, `None` when empty.
fn external_id(text: Option<&str>) -> Result<Option<String>, AppError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) => checked_name(id, "an external_id").map(Some),
    }
}

/// `GET /classes/{id}/pupils/`: the roster, by name.
pub(crate) async fn roster(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(class): Path<i64>,
) -> Result<Json<Vec<Pupil>>, AppError> {
    state
        .read(move |db, state| {
            scope::class(db, &caller, class)?;
            pupils(db, &caller, &state.retention, Some(class), None)
        })
        .await
        .map(Json)
}

/// `POST /classes/{id}/pupils/`: a new pupil onto the roster (`{"name", "external_id"?}`), or
/// one the caller reaches already (`{"person_id"}`) → 201. A school number that another pupil
/// has is that pupil: put on the roster when the caller reaches them, else a `Conflict` (a
/// teacher does not learn of, or reach, another class's pupil by guessing numbers).
pub(crate) async fn add_pupil(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(class): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    let post: PupilPost = parse(&body)?;
    let external = external_id(post.external_id.as_deref())?;
    let name = match (&post.person_id, &post.name) {
        (Some(_), _) => None,
        (None, Some(name)) => Some(checked_name(name, "a pupil's name")?),
        (None, None) => return Err(AppError::InvalidRequest("a pupil needs a name (or an existing person_id)".into())),
    };
    let answer = state
        .write(move |db, state| {
            let tx = db.transaction()?;
            scope::class(&tx, &caller, class)?;
            let person = match (post.person_id, name) {
                (Some(person), _) => {
                    scope::person(&tx, &caller, person)?;
                    person
                }
                (None, Some(name)) => {
                    let known: Option<i64> = match &external {
                        Some(ext) => tx.query_row("SELECT id FROM people WHERE external_id = ?1", [ext], |r| r.get(0)).optional()?,
                        None => None,
                    };
                    match known {
                        Some(person) => {
                            scope::person(&tx, &caller, person).map_err(|_| {
                                AppError::Conflict(format!(
                                    "external_id {:?} belongs to a pupil of another class; an admin can put them on this roster",
                                    external.as_deref().unwrap_or_default()
                                ))
                            })?;
                            person
                        }
                        None => {
                            tx.execute("INSERT INTO people (name, external_id) VALUES (?1, ?2)", params![name, external])?;
                            tx.last_insert_rowid()
                        }
                    }
                }
                (None, None) => unreachable!("refused above"),
            };
            tx.execute("INSERT OR IGNORE INTO roster (class_id, person_id) VALUES (?1, ?2)", [class, person])?;
            tx.execute("UPDATE people SET left_at = NULL WHERE id = ?1", [person])?;
            audit::record(&tx, &caller.name, "roster", About { person: Some(person), class: Some(class), ..About::default() },
                serde_json::json!({"added": true}))?;
            let pupil = pupil(&tx, &caller, &state.retention, person)?;
            tx.commit()?;
            Ok(Pupil { status: Some(Status::Success), ..pupil })
        })
        .await?;
    Ok(created(answer))
}

/// `DELETE /classes/{id}/pupils/{person_id}/`: off the roster (the pupil and their faces stay).
pub(crate) async fn remove_pupil(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((class, person)): Path<(i64, i64)>,
) -> Result<Json<serde_json::Value>, AppError> {
    state
        .write(move |db, state| {
            let tx = db.transaction()?;
            scope::class(&tx, &caller, class)?;
            if tx.execute("DELETE FROM roster WHERE class_id = ?1 AND person_id = ?2", [class, person])? == 0 {
                return Err(AppError::NotFound(format!("no pupil {person} on the roster of class {class}")));
            }
            // Off their last roster, a pupil is a leaver: their reference faces go at once or
            // after the schedule's days (purge.rs).
            let left = tx.execute(
                "UPDATE people SET left_at = datetime('now') WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM roster WHERE person_id = ?1)",
                [person],
            )? == 1;
            let erased = if left && state.retention.leavers_days == 0 { privacy::erase_biometrics(&tx, person)?.0.len() } else { 0 };
            audit::record(&tx, &caller.name, "roster", About { person: Some(person), class: Some(class), ..About::default() },
                serde_json::json!({"added": false, "left_school": left, "crops_erased": erased}))?;
            tx.commit()?;
            if erased > 0 {
                privacy::checkpoint(db)?;
            }
            Ok(serde_json::json!({"status": Status::Success, "class_id": class, "person_id": person}))
        })
        .await
        .map(Json)
}

/// `GET /people/`: every pupil the caller reaches, by name.
pub(crate) async fn list_people(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<Pupil>>, AppError> {
    state.read(move |db, state| pupils(db, &caller, &state.retention, None, None)).await.map(Json)
}

/// `GET /people/{id}/`.
pub(crate) async fn get_person(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<Pupil>, AppError> {
    state.read(move |db, state| pupil(db, &caller, &state.retention, id)).await.map(Json)
}

/// `PATCH /people/{id}/`: fix a pupil's name or school number.
pub(crate) async fn patch_person(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<Pupil>, AppError> {
    let patch: PersonPatch = parse(&body)?;
    let name = patch.name.as_deref().map(|n| checked_name(n, "a pupil's name")).transpose()?;
    let external = patch.external_id.as_deref().map(|e| external_id(Some(e))).transpose()?;
    state
        .write(move |db, state| {
            let tx = db.transaction()?;
            scope::person(&tx, &caller, id)?;
            if let Some(name) = &name {
                tx.execute("UPDATE people SET name = ?1 WHERE id = ?2", params![name, id])?;
            }
            if let Some(external) = &external {
                let other: Option<i64> = match external {
                    Some(ext) => tx
                        .query_row("SELECT id FROM people WHERE external_id = ?1 AND id <> ?2", params![ext, id], |r| {
                            r.get(0)
                        })
                        .optional()?,
                    None => None,
                };
                if other.is_some() {
                    return Err(AppError::Conflict("another pupil has that external_id".into()));
                }
                tx.execute("UPDATE people SET external_id = ?1 WHERE id = ?2", params![external, id])?;
            }
            let pupil = pupil(&tx, &caller, &state.retention, id)?;
            tx.commit()?;
            Ok(Pupil { status: Some(Status::Success), ..pupil })
        })
        .await
        .map(Json)
}

/// Labels `crops` as `person`'s references, all or none: each must be reachable and not
/// enrolled as anyone else (a crop is never relabelled silently). Their classes.
fn attach(db: &Connection, caller: &Caller, person: i64, crops: &[i64]) -> Result<(), AppError> {
    if crops.is_empty() {
        return Err(AppError::InvalidRequest("enrolling needs at least one crop_id".into()));
    }
    privacy::require(db, person)?;
    for &crop in crops {
        scope::crop(db, caller, crop)?;
        poor_reference(db, crop)?;
        let current: Option<i64> =
            db.query_row("SELECT person_id FROM face_crops WHERE id = ?1", [crop], |r| r.get(0))?;
        match current {
            Some(other) if other != person => {
                return Err(AppError::Conflict(format!("face crop {crop} is enrolled as pupil {other} already")))
            }
            _ => db.execute("UPDATE face_crops SET person_id = ?1 WHERE id = ?2", [person, crop])?,
        };
    }
    audit::record(
        db,
        &caller.name,
        "enrol",
        About { person: Some(person), ..About::default() },
        serde_json::json!({"crop_ids": crops}),
    )?;
    Ok(())
}

/// A crop too poor to be a reference (`quality::assess` of its geometry) is refused with its
/// concerns, as `small_face: the face is small in the photo; …`.
fn poor_reference(db: &Connection, crop: i64) -> Result<(), AppError> {
    let geometry = db.query_row(
        "SELECT width, height, box, landmarks, score, sharpness FROM face_crops WHERE id = ?1",
        [crop],
        |row| crate::db::geometry(row, 0),
    )?;
    let concerns = quality::assess(&geometry).concerns;
    if concerns.is_empty() {
        return Ok(());
    }
    let words: Vec<String> = concerns.iter().map(|c| format!("{}: {}", c.code(), c.describe())).collect();
    Err(AppError::PoorReference(crop, words.join("; ")))
}

/// `POST /people/{id}/references/`: these crops are that pupil's reference faces.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(person): Path<i64>,
    body: Bytes,
) -> Result<Json<Enrolled>, AppError> {
    let post: ReferencesPost = parse(&body)?;
    state
        .write(move |db, _| {
            let tx = db.transaction()?;
            scope::person(&tx, &caller, person)?;
            attach(&tx, &caller, person, &post.crop_ids)?;
            let name: String = tx.query_row("SELECT name FROM people WHERE id = ?1", [person], |r| r.get(0))?;
            tx.commit()?;
            Ok(Enrolled { status: Status::Success, person_id: person, name, crop_ids: post.crop_ids })
        })
        .await
        .map(Json)
}

/// `POST /people/` `{"name", "crop_ids"}` (old clients): enrols by name within the one class
/// the crops' sessions belong to — the pupil of that name on its roster; two of that name are a
/// `Conflict` (enrol by id). A name not on the roster yet becomes a new pupil on it, and the
/// answer is `ConsentRequired` naming them: their consent comes first, then the same call enrols.
pub(crate) async fn enroll_by_name(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Json<Enrolled>, AppError> {
    let enroll: Enroll = parse(&body)?;
    let name = checked_name(&enroll.name, "a person's name")?;
    if enroll.crop_ids.is_empty() {
        return Err(AppError::InvalidRequest("enrolling needs at least one crop_id".into()));
    }
    state
        .write(move |db, _| {
            let tx = db.transaction()?;
            let mut classes = Vec::new();
            for &crop in &enroll.crop_ids {
                let session = scope::crop(&tx, &caller, crop)?;
                classes.push(scope::session(&tx, &caller, session)?.class_id);
            }
            classes.sort_unstable();
            classes.dedup();
            let [class] = classes[..] else {
                return Err(AppError::InvalidRequest(
                    "these crops are of several classes: enrol by id (POST /people/{id}/references/)".into(),
                ));
            };
            let mut stmt = tx.prepare(
                "SELECT p.id FROM people p JOIN roster r ON r.person_id = p.id WHERE r.class_id = ?1 AND p.name = ?2",
            )?;
            let named: Vec<i64> = stmt.query_map(params![class, name], |r| r.get(0))?.collect::<Result<_, _>>()?;
            drop(stmt);
            let person = match named[..] {
                [] => {
                    // A new pupil joins the roster even though nothing can be enrolled until
                    // their consent is recorded: the answer says so, naming them.
                    tx.execute("INSERT INTO people (name) VALUES (?1)", [&name])?;
                    let person = tx.last_insert_rowid();
                    tx.execute("INSERT INTO roster (class_id, person_id) VALUES (?1, ?2)", [class, person])?;
                    audit::record(
                        &tx,
                        &caller.name,
                        "roster",
                        About { person: Some(person), class: Some(class), ..About::default() },
                        serde_json::json!({"added": true}),
                    )?;
                    tx.commit()?;
                    return Err(AppError::ConsentRequired(person, Consent::NotAsked.as_str()));
                }
                [person] => person,
                _ => {
                    return Err(AppError::Conflict(format!(
                        "{} pupils of class {class} are named {name:?}: enrol by id (POST /people/{{id}}/references/)",
                        named.len()
                    )))
                }
            };
            attach(&tx, &caller, person, &enroll.crop_ids)?;
            tx.commit()?;
            Ok(Enrolled { status: Status::Success, person_id: person, name, crop_ids: enroll.crop_ids })
        })
        .await
        .map(Json)
}
