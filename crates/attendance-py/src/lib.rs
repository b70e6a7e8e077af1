//! The attendance domain (`facenet-attendance`) as the Python module `facenet_attendance_rules`,
//! so that the Django app decides registers, counts reports and checks vectors with the very code
//! facenet-server runs. A thin layer: Python values in, the crate's functions, Python values out.
//! Vectors cross as the bytes both backends store (f32, little-endian), so nothing is converted
//! twice; a refused value raises `ValueError` with the crate's message.
//!
//! ```text
//! assign(faces, people, references, threshold, cluster_threshold, max_clustered)
//!   faces       [(crop_id, photo_id | None, person_id | None, verdict, vector bytes, geometry | None)]
//!               verdict: None (the matching decides) | "nobody" | a person_id (the teacher's word)
//!               geometry: (width, height, score | None, [[x, y] × 5] | None, sharpness | None)
//!   people      [person_id]                 the roster, in tie-breaking order (by name)
//!   references  [(person_id, vector bytes)]
//!   → (decisions [(crop_id, photo_id, person_id | None, distance | None, margin | None, enrolled, by_teacher,
//!                  unsure person_id | None, doubt code | None)],
//!      clusters  [[crop_id]])
//! register(people [(person_id, name)], decisions, marks [(person_id, mark)])
//!   → [(person_id, name, present, mark, by_hand, [decision], [unsure decision])]
//! confirmed_by(people, decisions, marks) → [(crop_id, person_id)]   the faces a finalised register confirms
//! gallery([(person_id, crop_id, lesson_start, geometry | None)], size) → [index]   which become references,
//!   most recent first (GALLERY_SIZE: the size the backends use)
//! register_csv([(person_id, name, present, mark, by_hand, [(crop_id, distance | None)], [(crop_id, doubt)])]) → str
//! sharpness(rgb bytes, width, height) → float | None      a crop's, for its geometry
//! reference_concerns(geometry) → [(code, words)]          why a face cannot be a reference (empty: it can)
//! class_report(lessons [(session_id, name, starts_at, finalized)], pupils [(person_id, name, external_id | None)],
//!              recorded [(session_id, person_id, mark)])
//!   → [(person_id, name, external_id, [mark | None], counts)]   counts: (present, late, excused, absent, rate | None)
//! class_report_csv(lessons, pupils, recorded) → str
//! counts([mark]) → counts
//! validate_vector(models [(name, dimension)], served_version, model, version | None, [float]) → vector bytes
//! lesson_start(text) → "YYYY-MM-DD HH:MM:SS"       day(text) → "YYYY-MM-DD"
//! consent_standing([(state, by)]) → "not_asked" | "given" | "refused" | "withdrawn"   (oldest first)
//! retention_defaults() → {"lesson_faces_days", "photos_days", "leavers_days", "template_max_days", "keep_attendance_of_erased"}
//! retention_notice(those five) → [line]
//! reenrolment(oldest, today, template_max_days) → (by "YYYY-MM-DD", due)   REENROL_NOTICE_DAYS
//! audit_csv([(id, at, actor, action, person_id | None, session_id | None, class_id | None, detail json)]) → str
//! PURGE_KINDS: the kinds a purge counts, in order
//! csv_field(text) → the field as every CSV here writes it; BOM: what each CSV starts with
//! image_keeps_as_is(bytes) → whether an upload is stored byte for byte (a plain JPEG)
//! ```

use facenet_attendance::audit::{self, AuditLine};
use facenet_attendance::consent::{self, ConsentBy, ConsentRecord, ConsentState};
use facenet_attendance::gallery::{chosen, Confirmed, GALLERY_SIZE};
use facenet_attendance::quality::{self, Geometry};
use facenet_attendance::report::{self, Counts, Lesson, Pupil, Recorded};
use facenet_attendance::retention::{Schedule, PURGE_KINDS, REENROL_NOTICE_DAYS};
use facenet_attendance::{
    match_session, time, vector, Decision, Doubt, Face, Mark, Reference, RosterLine, Unsure, Verdict,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A stored vector: f32, little-endian.
fn vector(bytes: &[u8]) -> PyResult<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return Err(PyValueError::new_err(format!(
            "a vector is f32 values: {} bytes is not a multiple of 4",
            bytes.len()
        )));
    }
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn mark(name: &str) -> PyResult<Mark> {
    Mark::parse(name).ok_or_else(|| PyValueError::new_err(format!("not a mark: {name:?}")))
}

/// A teacher's verdict as it crosses: `None`, `"nobody"` or a person id.
#[derive(FromPyObject)]
enum PyVerdict {
    Person(i64),
    Word(String),
}

fn verdict(v: Option<PyVerdict>) -> PyResult<Option<Verdict>> {
    match v {
        None => Ok(None),
        Some(PyVerdict::Person(p)) => Ok(Some(Verdict::Person(p))),
        Some(PyVerdict::Word(w)) if w == "nobody" => Ok(Some(Verdict::NotInClass)),
        Some(PyVerdict::Word(w)) => {
            Err(PyValueError::new_err(format!("a verdict is a person id or \"nobody\", not {w:?}")))
        }
    }
}

type PyGeometry = (f32, f32, Option<f32>, Option<Vec<[f32; 2]>>, Option<f32>);
type PyFace = (i64, Option<i64>, Option<i64>, Option<PyVerdict>, Vec<u8>, Option<PyGeometry>);
type PyDecision = (i64, Option<i64>, Option<i64>, Option<f32>, Option<f32>, bool, bool, Option<i64>, Option<String>);
type PyCounts = (u32, u32, u32, u32, Option<f64>);

fn geometry((width, height, score, landmarks, sharpness): PyGeometry) -> PyResult<Geometry> {
    let landmarks = landmarks
        .map(|l| {
            <[[f32; 2]; 5]>::try_from(l.as_slice())
                .map_err(|_| PyValueError::new_err(format!("landmarks are five [x, y] points, not {}", l.len())))
        })
        .transpose()?;
    Ok(Geometry { width, height, score, landmarks, sharpness })
}

fn py_decision(d: &Decision) -> PyDecision {
    (
        d.crop_id,
        d.photo_id,
        d.person_id,
        Some(d.distance).filter(|x| !x.is_nan()),
        d.margin,
        d.enrolled,
        d.by_teacher,
        d.unsure.map(|u| u.person_id),
        d.unsure.map(|u| u.doubt.code().to_string()),
    )
}

fn decision(
    (crop_id, photo_id, person_id, distance, margin, enrolled, by_teacher, unsure, doubt): PyDecision,
) -> PyResult<Decision> {
    let unsure = match (unsure, doubt) {
        (Some(person_id), Some(code)) => Some(Unsure { person_id, doubt: doubt_of(&code)? }),
        (None, None) => None,
        _ => return Err(PyValueError::new_err("an unsure decision has both a person and a doubt")),
    };
    Ok(Decision {
        crop_id,
        photo_id,
        person_id,
        distance: distance.unwrap_or(f32::NAN),
        margin,
        unsure,
        enrolled,
        by_teacher,
    })
}

fn doubt_of(code: &str) -> PyResult<Doubt> {
    Doubt::parse(code).ok_or_else(|| PyValueError::new_err(format!("not a doubt: {code:?}")))
}

fn py_counts(c: Counts) -> PyCounts {
    (c.present, c.late, c.excused, c.absent, c.rate())
}

/// A lesson's faces to the roster (`match_session`), then the unknown ones clustered
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
        .map(|(crop_id, photo_id, person_id, v, bytes, g)| {
            Ok(Face {
                crop_id,
                photo_id,
                person_id,
                verdict: verdict(v)?,
                vector: vector(&bytes)?,
                geometry: g.map(geometry).transpose()?,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let references = references
        .into_iter()
        .map(|(person_id, v)| Ok(Reference { person_id, vector: vector(&v)? }))
        .collect::<PyResult<Vec<_>>>()?;
    let matched = match_session(faces, &people, references, threshold);
    let clusters = matched.groups(cluster_threshold, max_clustered);
    Ok((matched.decisions.iter().map(py_decision).collect(), clusters))
}

type PyLine = (i64, String, bool, &'static str, bool, Vec<PyDecision>, Vec<PyDecision>);

/// The register's lines over the roster, with the teacher's marks (`register`).
#[pyfunction]
fn register(
    people: Vec<(i64, String)>,
    decisions: Vec<PyDecision>,
    marks: Vec<(i64, String)>,
) -> PyResult<Vec<PyLine>> {
    Ok(roster_lines(&people, decisions, marks)?
        .into_iter()
        .map(|l| {
            let faces = l.faces.iter().map(py_decision).collect();
            (
                l.person_id,
                l.name,
                l.present,
                l.mark.as_str(),
                l.by_hand,
                faces,
                l.unsure.iter().map(py_decision).collect(),
            )
        })
        .collect())
}

/// The faces the register over these decisions and marks confirms, once finalised
/// (`gallery::confirmed_by`): `[(crop_id, person_id)]`.
#[pyfunction]
fn confirmed_by(
    people: Vec<(i64, String)>,
    decisions: Vec<PyDecision>,
    marks: Vec<(i64, String)>,
) -> PyResult<Vec<(i64, i64)>> {
    Ok(facenet_attendance::gallery::confirmed_by(&roster_lines(&people, decisions, marks)?))
}

/// The crate's register lines from what crosses: decisions and marks by name.
fn roster_lines(
    people: &[(i64, String)],
    decisions: Vec<PyDecision>,
    marks: Vec<(i64, String)>,
) -> PyResult<Vec<RosterLine>> {
    let decisions = decisions.into_iter().map(decision).collect::<PyResult<Vec<_>>>()?;
    let marks = marks.into_iter().map(|(p, m)| Ok((p, mark(&m)?))).collect::<PyResult<Vec<_>>>()?;
    Ok(facenet_attendance::register(people, &decisions, &marks))
}

/// Which confirmed faces become references (`gallery::chosen`), by index, most recent first.
#[pyfunction]
fn gallery(confirmed: Vec<(i64, i64, String, Option<PyGeometry>)>, size: usize) -> PyResult<Vec<usize>> {
    let confirmed = confirmed
        .into_iter()
        .map(|(person_id, crop_id, lesson_start, g)| {
            Ok(Confirmed {
                person_id,
                crop_id,
                lesson_start,
                vector: Vec::new(),
                geometry: g.map(geometry).transpose()?,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(chosen(&confirmed, size))
}

type PyCsvLine = (i64, String, bool, String, bool, Vec<(i64, Option<f32>)>, Vec<(i64, String)>);

/// The register as CSV (`register_csv`), from its lines.
#[pyfunction]
fn register_csv(lines: Vec<PyCsvLine>) -> PyResult<String> {
    let lines = lines
        .into_iter()
        .map(|(person_id, name, present, m, by_hand, faces, unsure)| {
            let crop = |crop_id, distance: Option<f32>, unsure: Option<Unsure>| Decision {
                crop_id,
                photo_id: None,
                person_id: unsure.is_none().then_some(person_id),
                distance: distance.unwrap_or(f32::NAN),
                margin: None,
                unsure,
                enrolled: false,
                by_teacher: false,
            };
            Ok(RosterLine {
                person_id,
                name,
                present,
                mark: mark(&m)?,
                by_hand,
                faces: faces.into_iter().map(|(crop_id, distance)| crop(crop_id, distance, None)).collect(),
                unsure: unsure
                    .into_iter()
                    .map(|(crop_id, code)| Ok(crop(crop_id, None, Some(Unsure { person_id, doubt: doubt_of(&code)? }))))
                    .collect::<PyResult<_>>()?,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(facenet_attendance::register_csv(&lines))
}

/// A crop's sharpness from its decoded RGB pixels (`quality::rgb_sharpness`); `None` when the
/// bytes are not `width × height × 3` or the crop is under 3 × 3.
#[pyfunction]
fn sharpness(rgb: &[u8], width: usize, height: usize) -> Option<f32> {
    quality::rgb_sharpness(rgb, width, height)
}

/// Why a face cannot be a pupil's reference (`quality::assess`): `[(code, words)]`, empty when it can.
#[pyfunction]
fn reference_concerns(g: PyGeometry) -> PyResult<Vec<(&'static str, &'static str)>> {
    Ok(quality::assess(&geometry(g)?).concerns.iter().map(|c| (c.code(), c.describe())).collect())
}

type PyLesson = (i64, String, String, bool);
type PyPupil = (i64, String, Option<String>);

fn report_of(
    lessons: Vec<PyLesson>,
    pupils: Vec<PyPupil>,
    recorded: Vec<(i64, i64, String)>,
) -> PyResult<report::ClassReport> {
    let lessons = lessons
        .into_iter()
        .map(|(session_id, name, starts_at, finalized)| Lesson { session_id, name, starts_at, finalized })
        .collect();
    let pupils =
        pupils.into_iter().map(|(person_id, name, external_id)| Pupil { person_id, name, external_id }).collect();
    let recorded = recorded
        .into_iter()
        .map(|(session_id, person_id, m)| Ok(Recorded { session_id, person_id, mark: mark(&m)? }))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(report::class_report(lessons, pupils, &recorded))
}

/// A class's pupils × lessons from the finalised registers' marks (`report::class_report`).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn class_report(
    lessons: Vec<PyLesson>,
    pupils: Vec<PyPupil>,
    recorded: Vec<(i64, i64, String)>,
) -> PyResult<Vec<(i64, String, Option<String>, Vec<Option<&'static str>>, PyCounts)>> {
    Ok(report_of(lessons, pupils, recorded)?
        .rows
        .into_iter()
        .map(|r| {
            let marks = r.marks.iter().map(|m| m.map(Mark::as_str)).collect();
            (r.pupil.person_id, r.pupil.name, r.pupil.external_id, marks, py_counts(r.counts))
        })
        .collect())
}

/// The same table as CSV (`report::report_csv`).
#[pyfunction]
fn class_report_csv(
    lessons: Vec<PyLesson>,
    pupils: Vec<PyPupil>,
    recorded: Vec<(i64, i64, String)>,
) -> PyResult<String> {
    Ok(report::report_csv(&report_of(lessons, pupils, recorded)?))
}

/// How many of each mark, and the rate (`Counts::of`).
#[pyfunction]
fn counts(marks: Vec<String>) -> PyResult<PyCounts> {
    let marks = marks.iter().map(|m| mark(m)).collect::<PyResult<Vec<_>>>()?;
    Ok(py_counts(Counts::of(marks)))
}

/// A posted vector checked against the served model (`vector::validate`): the stored bytes.
#[pyfunction]
fn validate_vector(
    models: Vec<(String, usize)>,
    served_version: &str,
    model: &str,
    version: Option<&str>,
    values: Vec<f64>,
) -> PyResult<Vec<u8>> {
    let served = vector::Served { models: &models, version: served_version };
    let v = vector::validate(&served, model, version, &values).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

/// A lesson's start as stored (`time::lesson_start`).
#[pyfunction]
fn lesson_start(text: &str) -> PyResult<String> {
    time::lesson_start(text).map_err(PyValueError::new_err)
}

/// A calendar day, checked (`time::day`).
#[pyfunction]
fn day(text: &str) -> PyResult<String> {
    time::day(text).map_err(PyValueError::new_err)
}

/// A consent history's standing (`consent::standing`), oldest record first.
#[pyfunction]
fn consent_standing(records: Vec<(String, String)>) -> PyResult<&'static str> {
    let records = records
        .iter()
        .map(|(state, by)| {
            Ok(ConsentRecord {
                state: ConsentState::parse(state)
                    .ok_or_else(|| PyValueError::new_err(format!("not a consent state: {state:?}")))?,
                by: ConsentBy::parse(by)
                    .ok_or_else(|| PyValueError::new_err(format!("not a consenting party: {by:?}")))?,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(consent::standing(&records).as_str())
}

/// The default retention schedule, as a dict.
#[pyfunction]
fn retention_defaults(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    let s = Schedule::default();
    let d = pyo3::types::PyDict::new(py);
    d.set_item("lesson_faces_days", s.lesson_faces_days)?;
    d.set_item("photos_days", s.photos_days)?;
    d.set_item("leavers_days", s.leavers_days)?;
    d.set_item("template_max_days", s.template_max_days)?;
    d.set_item("keep_attendance_of_erased", s.keep_attendance_of_erased)?;
    Ok(d)
}

/// A schedule in words, for a notice to parents (`Schedule::describe`).
#[pyfunction]
fn retention_notice(
    lesson_faces_days: u32,
    photos_days: u32,
    leavers_days: u32,
    template_max_days: u32,
    keep_attendance_of_erased: bool,
) -> Vec<String> {
    Schedule { lesson_faces_days, photos_days, leavers_days, template_max_days, keep_attendance_of_erased }.describe()
}

/// When a pupil enrols again (`Schedule::reenrolment`): `(by, due)`.
#[pyfunction]
fn reenrolment(oldest: &str, today: &str, template_max_days: u32) -> PyResult<(String, bool)> {
    let schedule = Schedule { template_max_days, ..Schedule::default() };
    let r = schedule.reenrolment(oldest, today).map_err(PyValueError::new_err)?;
    Ok((r.by, r.due))
}

/// One audit entry as Python hands it over: id, at, actor, action, person, session, class, detail.
type PyAuditLine = (i64, String, String, String, Option<i64>, Option<i64>, Option<i64>, String);

/// The audit log as CSV (`audit::audit_csv`).
#[pyfunction]
fn audit_csv(lines: Vec<PyAuditLine>) -> String {
    let lines: Vec<AuditLine> = lines
        .into_iter()
        .map(|(id, at, actor, action, person_id, session_id, class_id, detail)| AuditLine {
            id,
            at,
            actor,
            action,
            person_id,
            session_id,
            class_id,
            detail,
        })
        .collect();
    audit::audit_csv(&lines)
}

/// A CSV field as every CSV here writes it (`csv_field`: quoted when needed, never a formula).
#[pyfunction]
fn csv_field(value: &str) -> String {
    facenet_attendance::csv_field(value)
}

/// Whether an uploaded image may be stored byte for byte (`stored_image::keeps_as_is`): a plain
/// JPEG; anything else is stored re-encoded from its pixels.
#[pyfunction]
fn image_keeps_as_is(data: &[u8]) -> bool {
    facenet_attendance::stored_image::keeps_as_is(data)
}

/// The module Django imports.
#[pymodule]
fn facenet_attendance_rules(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(assign, m)?)?;
    m.add_function(wrap_pyfunction!(register, m)?)?;
    m.add_function(wrap_pyfunction!(register_csv, m)?)?;
    m.add_function(wrap_pyfunction!(confirmed_by, m)?)?;
    m.add_function(wrap_pyfunction!(gallery, m)?)?;
    m.add("GALLERY_SIZE", GALLERY_SIZE)?;
    m.add_function(wrap_pyfunction!(class_report, m)?)?;
    m.add_function(wrap_pyfunction!(class_report_csv, m)?)?;
    m.add_function(wrap_pyfunction!(counts, m)?)?;
    m.add_function(wrap_pyfunction!(validate_vector, m)?)?;
    m.add_function(wrap_pyfunction!(lesson_start, m)?)?;
    m.add_function(wrap_pyfunction!(day, m)?)?;
    m.add_function(wrap_pyfunction!(consent_standing, m)?)?;
    m.add_function(wrap_pyfunction!(retention_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(retention_notice, m)?)?;
    m.add("PURGE_KINDS", PURGE_KINDS.to_vec())?;
    m.add_function(wrap_pyfunction!(reenrolment, m)?)?;
    m.add("REENROL_NOTICE_DAYS", REENROL_NOTICE_DAYS)?;
    m.add_function(wrap_pyfunction!(audit_csv, m)?)?;
    m.add_function(wrap_pyfunction!(csv_field, m)?)?;
    m.add("BOM", facenet_attendance::BOM)?;
    m.add_function(wrap_pyfunction!(image_keeps_as_is, m)?)?;
    m.add_function(wrap_pyfunction!(sharpness, m)?)?;
    m.add_function(wrap_pyfunction!(reference_concerns, m)?)?;
    Ok(())
}
