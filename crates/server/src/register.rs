//! From a session's vectors to who was present: faces matched one-to-one per photo to the
//! enrolled people (`matching.rs`), the rest clustered; served as the assignment, the register
//! (JSON) and its CSV export.

use crate::cluster;
use crate::db::{self, StoredVector};
use crate::error::AppError;
use crate::matching::{match_photo, person_distances};
use crate::wire::{
    AssignRequest, Assigned, Assignment, Cluster, Register, RegisterCrop, RegisterEntry, RegisterQuery, Status,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::time::Instant;

/// One face of the session and what it was found to be.
struct Decision {
    crop_id: i64,
    photo_id: Option<i64>,
    person: Option<i64>,
    distance: f32,
    margin: Option<f32>,
    enrolled: bool,
}

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

/// Runs the assignment: enrolled crops keep their label (and take their person out of their
/// photo's matching); every other embedded crop is matched one-to-one within its photo (a crop
/// without a photo is a photo of its own); the unknown ones are clustered.
///
/// Reads on one reader connection, then matches and clusters without any connection held.
fn assign_session(state: &AppState, session: i64, request: AssignRequest) -> Result<Outcome, AppError> {
    let model = request.model_name.unwrap_or_else(|| "facenet".into());
    if !state.dimensions.contains_key(&model) {
        return Err(AppError::InvalidRequest(format!("unknown model_name {model:?}")));
    }
    let threshold = request
        .threshold
        .unwrap_or_else(|| state.thresholds.get(&model).copied().unwrap_or(cluster::FALLBACK_THRESHOLD));
    let cluster_threshold = request.cluster_threshold.unwrap_or(threshold);
    if !(0.0..=2.0).contains(&threshold) || !(0.0..=2.0).contains(&cluster_threshold) {
        return Err(AppError::InvalidRequest("thresholds are cosine distances, between 0 and 2".into()));
    }
    let (crops, references, people, not_embedded) = state.db.read(|db: &Connection| {
        crate::api::session_exists(db, session)?;
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

    // Each person's enrolled vectors, in the order of `people`.
    let index: BTreeMap<i64, usize> = people.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    let mut enrolled = vec![Vec::new(); people.len()];
    for r in references {
        if let Some(&i) = r.person_id.and_then(|p| index.get(&p)) {
            enrolled[i].push(r.vector);
        }
    }
    // Group the session's crops by photo; a crop without a photo stands alone.
    let mut photos: BTreeMap<(i64, i64), Vec<StoredVector>> = BTreeMap::new();
    for crop in crops {
        let key = match crop.photo_id {
            Some(photo) => (photo, 0),
            None => (-1, crop.crop_id),
        };
        photos.entry(key).or_default().push(crop);
    }
    let mut decisions = Vec::new();
    let (mut unknown, mut unknown_vectors) = (Vec::new(), Vec::new());
    for faces in photos.into_values() {
        let mut taken = vec![false; people.len()];
        let mut open = Vec::new();
        for crop in faces {
            match crop.person_id {
                Some(person) => {
                    if let Some(&i) = index.get(&person) {
                        taken[i] = true;
                    }
                    decisions.push(Decision {
                        crop_id: crop.crop_id,
                        photo_id: crop.photo_id,
                        person: Some(person),
                        distance: 0.0,
                        margin: None,
                        enrolled: true,
                    });
                }
                None => open.push(crop),
            }
        }
        let distances: Vec<Vec<f32>> = open.iter().map(|c| person_distances(&c.vector, &enrolled)).collect();
        for (crop, found) in open.into_iter().zip(match_photo(&distances, threshold, &taken)) {
            if found.is_none() {
                unknown.push(crop.crop_id);
                unknown_vectors.push(crop.vector);
            }
            decisions.push(Decision {
                crop_id: crop.crop_id,
                photo_id: crop.photo_id,
                person: found.map(|m| people[m.person].0),
                distance: found.map_or(f32::NAN, |m| m.distance),
                margin: found.map(|m| m.margin),
                enrolled: false,
            });
        }
    }
    decisions.sort_by_key(|d| d.crop_id);
    // The unknown faces, clustered (average linkage) so that one action can enroll each group;
    // past MAX_CLUSTERED (a session no class makes) each stays a group of its own, so that one
    // request costs seconds, not minutes.
    let clustered = unknown_vectors.len().min(MAX_CLUSTERED);
    if clustered < unknown_vectors.len() {
        tracing::warn!(
            session,
            unknown = unknown_vectors.len(),
            "session {session}: {} unknown faces; the first {MAX_CLUSTERED} are clustered, the rest left one per group",
            unknown_vectors.len()
        );
    }
    // A large clustering holds a core and its distance matrix for seconds: at most one per core
    // at a time (the others wait on their blocking thread); small ones, a register's usual
    // tens of faces, take milliseconds and never wait behind them.
    let _permit = (clustered > SMALL_CLUSTERING)
        .then(|| tokio::runtime::Handle::current().block_on(state.heavy.acquire()))
        .transpose()
        .map_err(|e| AppError::Internal(format!("the clustering queue is closed: {e}")))?;
    let mut clusters: Vec<Vec<i64>> = cluster::cluster(&unknown_vectors[..clustered], cluster_threshold)
        .into_iter()
        .map(|members| members.iter().map(|&i| unknown[i]).collect())
        .collect();
    clusters.extend(unknown[clustered..].iter().map(|&crop| vec![crop]));
    Ok(Outcome { model, threshold, cluster_threshold, decisions, clusters, not_embedded, people })
}

/// Up to this many unknown faces (~30 ms) a clustering runs without waiting for a permit.
const SMALL_CLUSTERING: usize = 500;

/// The most unknown faces one assignment clusters: O(n²) time and memory, ~3.5 s and ~60 MB at
/// 5,000 (`cargo bench -p facenet-server --bench cluster`).
pub const MAX_CLUSTERED: usize = 5_000;

/// `POST /sessions/{id}/assignments/`: every embedded crop with its person (or none), the
/// distance and margin that decided it, and the clusters of unknown crops.
pub(crate) async fn assign(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    body: Bytes,
) -> Result<Json<Assignment>, AppError> {
    let request: AssignRequest = if body.is_empty() { AssignRequest::default() } else { crate::api::parse(&body)? };
    let started = Instant::now();
    let o = crate::blocking(move || assign_session(&state, session, request)).await?;
    log_assignment(session, &o, started);
    let names: BTreeMap<i64, &str> = o.people.iter().map(|(id, name)| (*id, name.as_str())).collect();
    let assigned = o
        .decisions
        .iter()
        .filter_map(|d| {
            d.person.map(|p| Assigned {
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
    let assigned = o.decisions.iter().filter(|d| d.person.is_some()).count();
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

/// The register: every enrolled person, present or absent, with the crops (and distances)
/// that decided it; the unknown faces in clusters.
fn register(state: &AppState, session: i64, query: RegisterQuery) -> Result<Register, AppError> {
    let started = Instant::now();
    let o = assign_session(
        state,
        session,
        AssignRequest { model_name: query.model_name, threshold: query.threshold, cluster_threshold: None },
    )?;
    log_assignment(session, &o, started);
    let people = o
        .people
        .iter()
        .map(|(id, name)| {
            let crops: Vec<RegisterCrop> = o
                .decisions
                .iter()
                .filter(|d| d.person == Some(*id))
                .map(|d| RegisterCrop {
                    crop_id: d.crop_id,
                    photo_id: d.photo_id,
                    distance: d.distance,
                    margin: d.margin,
                    enrolled: d.enrolled,
                })
                .collect();
            RegisterEntry { person_id: *id, name: name.clone(), present: !crops.is_empty(), crops }
        })
        .collect();
    Ok(Register {
        status: Status::Success,
        session_id: session,
        model_name: o.model.clone(),
        threshold: o.threshold,
        people,
        unknown: clusters(&o),
        not_embedded: o.not_embedded,
    })
}

/// `GET /sessions/{id}/attendance/`
pub(crate) async fn attendance(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    Query(query): Query<RegisterQuery>,
) -> Result<Json<Register>, AppError> {
    crate::blocking(move || register(&state, session, query)).await.map(Json)
}

/// `GET /sessions/{id}/attendance.csv`: one row per enrolled person.
///
/// ```text
/// person_id,name,present,crop_ids,best_distance
/// 1,Ana,yes,12 17,0.213
/// 2,Ben,no,,
/// ```
pub(crate) async fn attendance_csv(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    Query(query): Query<RegisterQuery>,
) -> Result<Response, AppError> {
    let register = crate::blocking(move || register(&state, session, query)).await?;
    let mut csv = String::from("person_id,name,present,crop_ids,best_distance\n");
    for p in &register.people {
        let ids: Vec<String> = p.crops.iter().map(|c| c.crop_id.to_string()).collect();
        let best = p.crops.iter().map(|c| c.distance).filter(|d| d.is_finite()).fold(f32::INFINITY, f32::min);
        let best = if best.is_finite() { format!("{best:.3}") } else { String::new() };
        let present = if p.present { "yes" } else { "no" };
        csv.push_str(&format!("{},{},{present},{},{best}\n", p.person_id, csv_field(&p.name), ids.join(" ")));
    }
    let disposition = format!("attachment; filename=\"session-{session}-attendance.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        csv,
    )
        .into_response())
}

/// A CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so that spreadsheets do not run a name as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Ana"), "Ana");
        assert_eq!(csv_field("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
