//! From a session's vectors to who was present: faces matched one-to-one per photo to the
//! enrolled people (`matching.rs`), the rest clustered; served as the assignment, the register
//! (JSON) and its CSV export.

use crate::cluster;
use crate::db::{self, StoredVector};
use crate::error::AppError;
use crate::matching::{match_photo, person_distances};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// Which vectors and thresholds an assignment uses; every field optional.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct AssignRequest {
    model_name: Option<String>,
    threshold: Option<f32>,
    cluster_threshold: Option<f32>,
}

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
    let db = state.db();
    let crops = db::vectors(&db, &model, Some(session))?;
    let references = db::vectors(&db, &model, None)?;
    let people: Vec<(i64, String)> = {
        let mut stmt = db.prepare("SELECT id, name FROM people ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let not_embedded = db::crops_without(&db, session, &model)?;
    drop(db);

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
    // The unknown faces, clustered (average linkage) so that one action can enroll each group.
    let clusters = cluster::cluster(&unknown_vectors, cluster_threshold)
        .into_iter()
        .map(|members| members.iter().map(|&i| unknown[i]).collect())
        .collect();
    Ok(Outcome { model, threshold, cluster_threshold, decisions, clusters, not_embedded, people })
}

/// `POST /sessions/{id}/assignments/`: every embedded crop with its person (or none), the
/// distance and margin that decided it, and the clusters of unknown crops.
pub(crate) async fn assign(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    crate::api::session_exists(&state, session)?;
    let request: AssignRequest = if body.is_empty() { AssignRequest::default() } else { crate::api::parse(&body)? };
    let started = Instant::now();
    let o = {
        let state = state.clone();
        crate::blocking(move || assign_session(&state, session, request)).await?
    };
    let names: BTreeMap<i64, &str> = o.people.iter().map(|(id, name)| (*id, name.as_str())).collect();
    let assigned: Vec<Value> = o
        .decisions
        .iter()
        .filter_map(|d| {
            d.person.map(|p| {
                json!({"crop_id": d.crop_id, "photo_id": d.photo_id, "person_id": p, "person_name": names.get(&p),
                       "distance": d.distance, "margin": d.margin, "enrolled": d.enrolled})
            })
        })
        .collect();
    log_assignment(session, &o, started);
    Ok(Json(json!({
        "status": "success", "session_id": session, "model_name": o.model,
        "threshold": o.threshold, "cluster_threshold": o.cluster_threshold,
        "assigned": assigned,
        "clusters": o.clusters.iter().map(|c| json!({"crop_ids": c})).collect::<Vec<_>>(),
        "not_embedded": o.not_embedded,
    })))
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

/// Query of the register: the model and threshold, as for an assignment.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RegisterQuery {
    model_name: Option<String>,
    threshold: Option<f32>,
}

/// The register: every enrolled person, present or absent, with the crops (and distances)
/// that decided it; the unknown faces in clusters.
fn register(state: &AppState, session: i64, query: RegisterQuery) -> Result<Value, AppError> {
    crate::api::session_exists(state, session)?;
    let started = Instant::now();
    let o = assign_session(
        state,
        session,
        AssignRequest { model_name: query.model_name, threshold: query.threshold, cluster_threshold: None },
    )?;
    log_assignment(session, &o, started);
    let people: Vec<Value> = o
        .people
        .iter()
        .map(|(id, name)| {
            let crops: Vec<Value> = o
                .decisions
                .iter()
                .filter(|d| d.person == Some(*id))
                .map(|d| json!({"crop_id": d.crop_id, "photo_id": d.photo_id, "distance": d.distance, "margin": d.margin, "enrolled": d.enrolled}))
                .collect();
            json!({"person_id": id, "name": name, "present": !crops.is_empty(), "crops": crops})
        })
        .collect();
    Ok(json!({
        "status": "success", "session_id": session, "model_name": o.model, "threshold": o.threshold,
        "people": people,
        "unknown": o.clusters.iter().map(|c| json!({"crop_ids": c})).collect::<Vec<_>>(),
        "not_embedded": o.not_embedded,
    }))
}

/// `GET /sessions/{id}/attendance/`
pub(crate) async fn attendance(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    Query(query): Query<RegisterQuery>,
) -> Result<Json<Value>, AppError> {
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
    for p in register["people"].as_array().into_iter().flatten() {
        let crops = p["crops"].as_array().cloned().unwrap_or_default();
        let ids: Vec<String> = crops.iter().map(|c| c["crop_id"].to_string()).collect();
        let best = crops.iter().filter_map(|c| c["distance"].as_f64()).fold(f64::INFINITY, f64::min);
        let best = if best.is_finite() { format!("{best:.3}") } else { String::new() };
        let present = if p["present"].as_bool() == Some(true) { "yes" } else { "no" };
        csv.push_str(&format!(
            "{},{},{present},{},{best}\n",
            p["person_id"],
            csv_field(p["name"].as_str().unwrap_or("")),
            ids.join(" ")
        ));
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
