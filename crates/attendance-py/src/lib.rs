//! The attendance domain (`facenet-attendance`) as the Python module `facenet_attendance_rules`,
//! so that the Django app decides registers with the very code facenet-server runs. A thin layer:
//! Python values in, the crate's functions, Python values out. Vectors cross as the bytes both
//! backends store (f32, little-endian), so nothing is converted twice.
//!
//! ```text
//! assign(faces, people, references, threshold, cluster_threshold, max_clustered)
//!   faces       [(crop_id, photo_id | None, person_id | None, vector bytes)]
//!   people      [person_id]                 in tie-breaking order (by name)
//!   references  [(person_id, vector bytes)]
//!   → (decisions [(crop_id, photo_id, person_id | None, distance | None, margin | None, enrolled)],
//!      clusters  [[crop_id]])
//! register_csv([(person_id, name, present, [(crop_id, distance | None)])]) → str
//! ```

use facenet_attendance::{cluster_unknown, match_session, Decision, Face, Mark, Reference, RosterLine};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A stored vector: f32, little-endian.
fn vector(bytes: &[u8]) -> PyResult<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return Err(PyValueError::new_err(format!("a vector is f32 values: {} bytes is not a multiple of 4", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

type PyFace = (i64, Option<i64>, Option<i64>, Vec<u8>);
type PyDecision = (i64, Option<i64>, Option<i64>, Option<f32>, Option<f32>, bool);

/// A lesson's faces to people (`match_session`), then the unknown ones clustered
/// (`cluster_unknown`): see the module's shapes.
#[pyfunction]
fn assign(
    faces: Vec<PyFace>,
    people: Vec<i64>,
    references: Vec<(i64, Vec<u8>)>,
    threshold: f32,
    cluster_threshold: f32,
    max_clustered: usize,
) -> PyResult<(Vec<PyDecision>, Vec<Vec<i64>>)> {
    let faces = faces
        .into_iter()
        .map(|(crop_id, photo_id, person_id, v)| Ok(Face { crop_id, photo_id, person_id, verdict: None, vector: vector(&v)? }))
        .collect::<PyResult<Vec<_>>>()?;
    let references = references
        .into_iter()
        .map(|(person_id, v)| Ok(Reference { person_id, vector: vector(&v)? }))
        .collect::<PyResult<Vec<_>>>()?;
    let matched = match_session(faces, &people, references, threshold);
    let clusters = cluster_unknown(&matched.unknown, cluster_threshold, max_clustered);
    let decisions = matched
        .decisions
        .iter()
        .map(|d| (d.crop_id, d.photo_id, d.person_id, Some(d.distance).filter(|x| !x.is_nan()), d.margin, d.enrolled))
        .collect();
    Ok((decisions, clusters))
}

/// The register as CSV (`register_csv`), from its lines.
#[pyfunction]
fn register_csv(lines: Vec<(i64, String, bool, Vec<(i64, Option<f32>)>)>) -> String {
    let lines: Vec<RosterLine> = lines
        .into_iter()
        .map(|(person_id, name, present, faces)| RosterLine {
            person_id,
            name,
            present,
            mark: if present { Mark::Present } else { Mark::Absent },
            by_hand: false,
            faces: faces
                .into_iter()
                .map(|(crop_id, distance)| Decision {
                    crop_id,
                    photo_id: None,
                    person_id: Some(person_id),
                    distance: distance.unwrap_or(f32::NAN),
                    margin: None,
                    enrolled: false,
                    by_teacher: false,
                })
                .collect(),
        })
        .collect();
    facenet_attendance::register_csv(&lines)
}

/// The module Django imports.
#[pymodule]
fn facenet_attendance_rules(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(assign, m)?)?;
    m.add_function(wrap_pyfunction!(register_csv, m)?)?;
    Ok(())
}
