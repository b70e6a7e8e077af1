//! From a session's vectors to who was present, served as the assignment, the register (JSON)
//! and its CSV export. The rules — faces matched one-to-one per photo to the enrolled people, the
//! rest clustered, the register's lines and CSV — are the attendance crate's
//! (`crates/attendance`); what is the server's here: reading the store, one large clustering per
//! core at a time, the answers.

use crate::db::{self, StoredVector};
use crate::error::AppError;
use crate::wire::{
    AssignRequest, Assigned, Assignment, Cluster, Register, RegisterCrop, RegisterEntry, RegisterQuery, Status,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use facenet_attendance::cluster::FALLBACK_THRESHOLD;
use facenet_attendance::{cluster_unknown, match_session, register_csv, Decision, Face, Reference, RosterLine};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::time::Instant;

/// The outcome of one assignment over a session.
struct Outcome {
    model: String,
    threshold: f32,
    cluster_threshold: f32,
    decisions: Vec<Decision>,
    clusters: Vec<Vec<i64>>,
    not_embedded: Vec<i64>,
    people: Vec<(i64, String)>,
}

fn face(v: StoredVector) -> Face {
    Face { crop_id: v.crop_id, photo_id: v.photo_id, person_id: v.person_id, vector: v.vector }
}

/// Runs the assignment (the rules are the attendance crate's: `match_session`, then
/// `cluster_unknown`) over the session's vectors and every enrolled person.
///
/// Reads on one reader connection, then matches and clusters without any connection held.
fn assign_session(state: &AppState, session: i64, request: AssignRequest) -> Result<Outcome, AppError> {
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
    let (crops, references, people, not_embedded) = state.db.read(|db: &Connection| {
        db::session_exists(db, session)?;
        let people: Vec<(i64, String)> = {
            let mut stmt = db.prepare("SELECT id, name FROM people ORDER BY name")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        Ok((
            db::vectors(db, &model, Some(session))?,
            db::vectors(db, &model, None)?,
            people,
            db::crops_without(db, session, &model)?,
        ))
    })?;

    let ids: Vec<i64> = people.iter().map(|(id, _)| *id).collect();
    let references =
        references.into_iter().filter_map(|r| Some(Reference { person_id: r.person_id?, vector: r.vector })).collect();
    let matched = match_session(crops.into_iter().map(face).collect(), &ids, references, threshold);
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
    let clusters = cluster_unknown(&matched.unknown, cluster_threshold, MAX_CLUSTERED);
    Ok(Outcome { model, threshold, cluster_threshold, decisions: matched.decisions, clusters, not_embedded, people })
}

/// Up to this many unknown faces (~30 ms) a clustering runs without waiting for a permit.
const SMALL_CLUSTERING: usize = 500;

/// The most unknown faces one assignment clusters: O(n²) time and memory, ~3.5 s and ~60 MB at
/// 5,000 (`cargo bench --workspace --profile release --bench cluster`).
pub const MAX_CLUSTERED: usize = 5_000;

/// `POST /sessions/{id}/assignments/`: every embedded crop with its person (or none), the
/// distance and margin that decided it, and the clusters of unknown crops.
pub(crate) async fn assign(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    body: Bytes,
) -> Result<Json<Assignment>, AppError> {
    let request: AssignRequest = if body.is_empty() { AssignRequest::default() } else { crate::body::parse(&body)? };
    let started = Instant::now();
    let o = crate::blocking(move || assign_session(&state, session, request)).await?;
    log_assignment(session, &o, started);
    let names: BTreeMap<i64, &str> = o.people.iter().map(|(id, name)| (*id, name.as_str())).collect();
    let assigned = o
        .decisions
        .iter()
        .filter_map(|d| {
            d.person_id.map(|p| Assigned {
                crop_id: d.crop_id,
                photo_id: d.photo_id,
                person_id: p,
                person_name: names.get(&p).map(|n| n.to_string()),
                distance: d.distance,
                margin: d.margin,
                enrolled: d.enrolled,
            })
        })
        .collect();
    Ok(Json(Assignment {
        status: Status::Success,
        session_id: session,
        model_name: o.model.clone(),
        threshold: o.threshold,
        cluster_threshold: o.cluster_threshold,
        assigned,
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
    tracing::info!(
        session,
        model = %o.model,
        crops = o.decisions.len(),
        assigned,
        unknown = o.decisions.len() - assigned,
        clusters = o.clusters.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "session {session}: {} crops, {assigned} assigned, {} unknown in {} clusters",
        o.decisions.len(),
        o.decisions.len() - assigned,
        o.clusters.len()
    );
}

/// The register's lines (the attendance crate's `register`) over every enrolled person, and
/// the assignment they come from.
fn register_lines(
    state: &AppState,
    session: i64,
    query: RegisterQuery,
) -> Result<(Outcome, Vec<RosterLine>), AppError> {
    let started = Instant::now();
    let o = assign_session(
        state,
        session,
        AssignRequest { model_name: query.model_name, threshold: query.threshold, cluster_threshold: None },
    )?;
    log_assignment(session, &o, started);
    let lines = facenet_attendance::register(&o.people, &o.decisions);
    Ok((o, lines))
}

/// A register line as answered.
fn entry(line: RosterLine) -> RegisterEntry {
    let crops = line
        .faces
        .iter()
        .map(|d| RegisterCrop {
            crop_id: d.crop_id,
            photo_id: d.photo_id,
            distance: d.distance,
            margin: d.margin,
            enrolled: d.enrolled,
        })
        .collect();
    RegisterEntry { person_id: line.person_id, name: line.name, present: line.present, crops }
}

/// `GET /sessions/{id}/attendance/`: every enrolled person, present or absent, with the crops
/// (and distances) that decided it; the unknown faces in clusters.
pub(crate) async fn attendance(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    Query(query): Query<RegisterQuery>,
) -> Result<Json<Register>, AppError> {
    let (o, lines) = crate::blocking(move || register_lines(&state, session, query)).await?;
    Ok(Json(Register {
        status: Status::Success,
        session_id: session,
        model_name: o.model.clone(),
        threshold: o.threshold,
        people: lines.into_iter().map(entry).collect(),
        unknown: clusters(&o),
        not_embedded: o.not_embedded,
    }))
}

/// `GET /sessions/{id}/attendance.csv`: one row per enrolled person (`register_csv`).
pub(crate) async fn attendance_csv(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    Query(query): Query<RegisterQuery>,
) -> Result<Response, AppError> {
    let (_, lines) = crate::blocking(move || register_lines(&state, session, query)).await?;
    let csv = register_csv(&lines);
    let disposition = format!("attachment; filename=\"session-{session}-attendance.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        csv,
    )
        .into_response())
}
