//! From a session's vectors to its register: the assignment, the register (JSON) and its CSV.
//! The rules — faces matched one-to-one per photo to the class roster's reference faces, a
//! teacher's verdicts and marks by hand, the rest clustered, the register's lines and CSV — are
//! the attendance crate's (`crates/attendance`); what is the server's here: reading the store,
//! one large clustering per core at a time, a finalised register read back as it was stored,
//! the answers.

use crate::db;
use crate::error::AppError;
use crate::scope::{self, Caller};
use crate::wire::{
    AssignRequest, Assigned, Assignment, Cluster, Register, RegisterCrop, RegisterEntry, RegisterQuery, Status,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::{Extension, Json};
use facenet_attendance::cluster::FALLBACK_THRESHOLD;
use facenet_attendance::{match_session, register_csv, Decision, Doubt, Mark, RosterLine, Unsure};
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::time::Instant;

/// The outcome of one assignment over a session.
pub(crate) struct Outcome {
    pub(crate) class_id: i64,
    pub(crate) model: String,
    pub(crate) threshold: f32,
    pub(crate) cluster_threshold: f32,
    pub(crate) decisions: Vec<Decision>,
    pub(crate) clusters: Vec<Vec<i64>>,
    pub(crate) not_embedded: Vec<i64>,
    /// The class's roster (id, name), by name.
    pub(crate) people: Vec<(i64, String)>,
    /// The teacher's marks by hand.
    pub(crate) marks: Vec<(i64, Mark)>,
}

/// The model and thresholds an assignment runs with, checked.
fn settings(state: &AppState, request: AssignRequest) -> Result<(String, f32, f32), AppError> {
    let model = request.model_name.unwrap_or_else(|| "facenet".into());
    if !state.dimensions.contains_key(&model) {
        return Err(AppError::InvalidRequest(format!("unknown model_name {model:?}")));
    }
    let threshold =
        request.threshold.unwrap_or_else(|| state.thresholds.get(&model).copied().unwrap_or(FALLBACK_THRESHOLD));
    let cluster_threshold = request.cluster_threshold.unwrap_or(threshold);
    if !(0.0..=2.0).contains(&threshold) || !(0.0..=2.0).contains(&cluster_threshold) {
        return Err(AppError::InvalidRequest("thresholds are cosine distances, between 0 and 2".into()));
    }
    Ok((model, threshold, cluster_threshold))
}

/// Runs the assignment (the rules are the attendance crate's: `match_session`, then
/// `cluster_unknown`) over the session's vectors and its class's roster, reading on `db` (a
/// reader, or the writer when finalising), matching and clustering after the reads.
pub(crate) fn assign_on(
    db: &Connection,
    state: &AppState,
    caller: &Caller,
    session: i64,
    request: AssignRequest,
) -> Result<Outcome, AppError> {
    let (model, threshold, cluster_threshold) = settings(state, request)?;
    let class_id = scope::session(db, caller, session)?.class_id;
    // The roster, and which of it may be matched: only pupils whose consent is given; the
    // others' faces stay unknown, and they are marked by hand.
    let (people, matchable): (Vec<(i64, String)>, Vec<i64>) = {
        let mut stmt = db.prepare(
            "SELECT p.id, p.name, p.consent = 'given' FROM people p JOIN roster r ON r.person_id = p.id
             WHERE r.class_id = ?1 ORDER BY p.name, p.id",
        )?;
        let rows =
            stmt.query_map([class_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))?;
        let rows: Vec<(i64, String, bool)> = rows.collect::<Result<_, _>>()?;
        let matchable = rows.iter().filter(|r| r.2).map(|r| r.0).collect();
        (rows.into_iter().map(|(id, name, _)| (id, name)).collect(), matchable)
    };
    let marks: Vec<(i64, Mark)> = {
        let mut stmt = db.prepare("SELECT person_id, mark FROM marks WHERE session_id = ?1")?;
        let rows = stmt.query_map([session], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let rows: Vec<(i64, String)> = rows.collect::<Result<_, _>>()?;
        rows.into_iter().filter_map(|(p, m)| Some((p, Mark::parse(&m)?))).collect()
    };
    let version = &state.model_version;
    let faces = db::lesson_faces(db, &model, version, session)?;
    let references = db::references(db, &model, version, class_id, session)?;
    let not_embedded = db::crops_without(db, session, &model, version)?;

    let matched = match_session(faces, &matchable, references, threshold);
    // The unknown faces are clustered so that one action can enroll each group; past
    // MAX_CLUSTERED (a session no class makes) each stays a group of its own, so that one
    // request costs seconds, not minutes.
    let unknown = matched.unknown.len();
    if unknown > MAX_CLUSTERED {
        tracing::warn!(
            session,
            unknown,
            "session {session}: {unknown} unknown faces; the first {MAX_CLUSTERED} are clustered, the rest left one per group"
        );
    }
    // A large clustering holds a core and its distance matrix for seconds: at most one per core
    // at a time (the others wait on their blocking thread); small ones, a register's usual
    // tens of faces, take milliseconds and never wait behind them.
    let _permit = (unknown.min(MAX_CLUSTERED) > SMALL_CLUSTERING)
        .then(|| tokio::runtime::Handle::current().block_on(state.heavy.acquire()))
        .transpose()
        .map_err(|e| AppError::Internal(format!("the clustering queue is closed: {e}")))?;
    let clusters = matched.groups(cluster_threshold, MAX_CLUSTERED);
    Ok(Outcome {
        class_id,
        model,
        threshold,
        cluster_threshold,
        decisions: matched.decisions,
        clusters,
        not_embedded,
        people,
        marks,
    })
}

/// Up to this many unknown faces (~30 ms) a clustering runs without waiting for a permit.
const SMALL_CLUSTERING: usize = 500;

/// The most unknown faces one assignment clusters: O(n²) time and memory, ~3.5 s and ~60 MB at
/// 5,000 (`cargo bench --workspace --profile release --bench cluster`).
pub const MAX_CLUSTERED: usize = 5_000;

/// `POST /sessions/{id}/assignments/`: every embedded crop with its pupil (or none), the
/// distance and margin that decided it, and the clusters of unknown crops.
pub(crate) async fn assign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
    body: Bytes,
) -> Result<Json<Assignment>, AppError> {
    let request: AssignRequest = if body.is_empty() { AssignRequest::default() } else { crate::body::parse(&body)? };
    let started = Instant::now();
    let o = crate::blocking(move || state.db.read(|db| assign_on(db, &state, &caller, session, request))).await?;
    log_assignment(session, &o, started);
    let names: BTreeMap<i64, &str> = o.people.iter().map(|(id, name)| (*id, name.as_str())).collect();
    let answered = |d: &Decision, person_id: i64, doubt: Option<&'static str>| Assigned {
        crop_id: d.crop_id,
        photo_id: d.photo_id,
        person_id,
        person_name: names.get(&person_id).map(|n| n.to_string()),
        distance: d.distance,
        margin: d.margin,
        enrolled: d.enrolled,
        doubt,
    };
    let assigned = o.decisions.iter().filter_map(|d| d.person_id.map(|p| answered(d, p, None))).collect();
    let unsure =
        o.decisions.iter().filter_map(|d| d.unsure.map(|u| answered(d, u.person_id, Some(u.doubt.code())))).collect();
    Ok(Json(Assignment {
        status: Status::Success,
        session_id: session,
        model_name: o.model.clone(),
        threshold: o.threshold,
        cluster_threshold: o.cluster_threshold,
        assigned,
        unsure,
        clusters: clusters(&o),
        not_embedded: o.not_embedded,
    }))
}

/// The unknown faces' groups, as answered.
fn clusters(o: &Outcome) -> Vec<Cluster> {
    o.clusters.iter().map(|c| Cluster { crop_ids: c.clone() }).collect()
}

fn log_assignment(session: i64, o: &Outcome, started: Instant) {
    let assigned = o.decisions.iter().filter(|d| d.person_id.is_some()).count();
    let unsure = o.decisions.iter().filter(|d| d.unsure.is_some()).count();
    let unknown = o.decisions.len() - assigned - unsure;
    tracing::info!(
        session,
        model = %o.model,
        crops = o.decisions.len(),
        assigned,
        unsure,
        unknown,
        clusters = o.clusters.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "session {session}: {} crops, {assigned} assigned, {unsure} unsure, {unknown} unknown in {} clusters",
        o.decisions.len(),
        o.clusters.len()
    );
}

/// A register line as answered.
fn entry(line: RosterLine) -> RegisterEntry {
    let crop = |d: &Decision| RegisterCrop {
        crop_id: d.crop_id,
        photo_id: d.photo_id,
        distance: d.distance,
        margin: d.margin,
        enrolled: d.enrolled,
        by_teacher: d.by_teacher,
        doubt: d.unsure.map(|u| u.doubt.code().to_string()),
    };
    RegisterEntry {
        person_id: line.person_id,
        name: line.name,
        present: line.present,
        mark: line.mark.as_str().into(),
        by_hand: line.by_hand,
        crops: line.faces.iter().map(crop).collect(),
        unsure: line.unsure.iter().map(crop).collect(),
    }
}

/// The register computed now (the attendance crate's `register` over the class's roster).
pub(crate) fn computed(state: &AppState, session: i64, o: Outcome) -> Register {
    let lines = facenet_attendance::register(&o.people, &o.decisions, &o.marks);
    from_lines(state, session, o, lines)
}

/// The register of `o` from its lines, for a caller that reads the lines too (finalising).
pub(crate) fn from_lines(state: &AppState, session: i64, o: Outcome, lines: Vec<RosterLine>) -> Register {
    Register {
        status: Status::Success,
        session_id: session,
        class_id: o.class_id,
        model_name: o.model.clone(),
        model_version: state.model_version.clone(),
        threshold: o.threshold,
        people: lines.into_iter().map(entry).collect(),
        unknown: clusters(&o),
        not_embedded: o.not_embedded,
        finalized: None,
        waiting: Vec::new(),
    }
}

/// A finalised register as stored, with the crops added since (`waiting`); `None` while open.
pub(crate) fn stored(db: &Connection, session: i64) -> Result<Option<Register>, AppError> {
    let row: Option<(String, String)> = db
        .query_row("SELECT answer, crop_ids FROM registers WHERE session_id = ?1", [session], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((answer, crop_ids)) = row else { return Ok(None) };
    let mut register: Register = serde_json::from_str(&answer)
        .map_err(|e| AppError::Internal(format!("session {session}: the stored register does not read back: {e}")))?;
    let known: Vec<i64> = serde_json::from_str(&crop_ids).unwrap_or_default();
    let mut stmt = db.prepare("SELECT id FROM face_crops WHERE session_id = ?1 ORDER BY id")?;
    let all: Vec<i64> = stmt.query_map([session], |r| r.get(0))?.collect::<Result<_, _>>()?;
    register.waiting = all.into_iter().filter(|id| known.binary_search(id).is_err()).collect();
    Ok(Some(register))
}

/// The register as it is: the stored one once finalised, else computed now.
pub(crate) fn current(
    db: &Connection,
    state: &AppState,
    caller: &Caller,
    session: i64,
    query: RegisterQuery,
) -> Result<Register, AppError> {
    scope::session(db, caller, session)?;
    if let Some(register) = stored(db, session)? {
        return Ok(register);
    }
    let started = Instant::now();
    let request = AssignRequest { model_name: query.model_name, threshold: query.threshold, cluster_threshold: None };
    let o = assign_on(db, state, caller, session, request)?;
    log_assignment(session, &o, started);
    Ok(computed(state, session, o))
}

/// `GET /sessions/{id}/attendance/`: every pupil of the class's roster with their mark and the
/// crops (and distances) that decided it; the unknown faces in clusters. Once finalised, the
/// register as it was stored.
pub(crate) async fn attendance(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
    Query(query): Query<RegisterQuery>,
) -> Result<Json<Register>, AppError> {
    crate::blocking(move || state.db.read(|db| current(db, &state, &caller, session, query))).await.map(Json)
}

/// A register's lines back as the attendance crate's, for its CSV.
fn lines(register: &Register) -> Vec<RosterLine> {
    register
        .people
        .iter()
        .map(|e| RosterLine {
            person_id: e.person_id,
            name: e.name.clone(),
            present: e.present,
            mark: Mark::parse(&e.mark).unwrap_or(Mark::Absent),
            by_hand: e.by_hand,
            faces: e.crops.iter().map(|c| decision(c, Some(e.person_id), None)).collect(),
            unsure: e
                .unsure
                .iter()
                .map(|c| {
                    let doubt = c.doubt.as_deref().and_then(Doubt::parse).unwrap_or(Doubt::CloseCall);
                    decision(c, None, Some(Unsure { person_id: e.person_id, doubt }))
                })
                .collect(),
        })
        .collect()
}

/// A register crop back as the decision it was answered from.
fn decision(c: &RegisterCrop, person_id: Option<i64>, unsure: Option<Unsure>) -> Decision {
    Decision {
        crop_id: c.crop_id,
        photo_id: c.photo_id,
        person_id,
        distance: c.distance,
        margin: c.margin,
        unsure,
        enrolled: c.enrolled,
        by_teacher: c.by_teacher,
    }
}

/// `GET /sessions/{id}/attendance.csv`: one row per pupil of the roster (`register_csv`).
pub(crate) async fn attendance_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(session): Path<i64>,
    Query(query): Query<RegisterQuery>,
) -> Result<Response, AppError> {
    let register = crate::blocking(move || state.db.read(|db| current(db, &state, &caller, session, query))).await?;
    let csv = register_csv(&lines(&register));
    Ok(crate::reports::csv_answer(&format!("session-{session}-attendance.csv"), csv))
}
