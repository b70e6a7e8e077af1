//! Galleries that grow: the references a pupil is matched against are their enrolled faces and,
//! besides them, the most recent faces a teacher confirmed as theirs in finalised registers.
//! A teacher who finalises a register has looked at it: its faces are confirmed, those the
//! matching named and those the teacher named by hand (usually the ones the references missed —
//! a new haircut, glasses, the classroom's light). As references they name the next lesson's
//! faces of the same look.
//!
//! ```text
//! a register finalised → confirmed_by: each face that counted for a pupil marked present
//!             (matched or given by the teacher; not enrolled, not unsure), kept by the backend
//! candidates: those faces, P's consent given (the backend's query), not of the lesson being matched
//!   → not poor (quality::assess, as enrolment refuses a poor reference)
//!   → per pupil, the GALLERY_SIZE most recent (lesson start, then crop id)
//!   → appended to the enrolled references (which are always kept)
//! ```
//!
//! The backend keeps only what each finalised register confirmed (facenet-server's
//! `register_faces`, the Django app's `RegisterFace`) and chooses the gallery from it at every
//! assignment, so a reopened register, an erased face or pupil, a refused or withdrawn consent
//! or a purged lesson face (retention's `lesson_faces_days`) leaves the gallery at once.

use crate::quality::{assess, Geometry};
use crate::{Reference, RosterLine};
use std::collections::BTreeMap;

/// The most confirmed faces kept per pupil beside the enrolled ones. Measured over lessons
/// composed from DeepFace's identities (tests/naming.rs, "Galleries over lessons"): see
/// models/README.md.
pub const GALLERY_SIZE: usize = 3;

/// A face a finalised register confirmed as a pupil's ([`confirmed_by`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmed {
    /// The pupil it counted for.
    pub person_id: i64,
    /// The crop's id (orders faces of one lesson).
    pub crop_id: i64,
    /// When its lesson started, as the backend stores it (ISO 8601: sorts as text).
    pub lesson_start: String,
    /// Its vector, of the model the assignment is for.
    pub vector: Vec<f32>,
    /// Its geometry, when known (a face without is never poor).
    pub geometry: Option<Geometry>,
}

/// The faces a finalised register confirms, `(crop_id, person_id)`: every face that counted for
/// a pupil the register has present (a mark by hand of absent or excused overrules the faces:
/// the teacher disagreed), except the pupil's enrolled faces, which are references already.
/// Unsure faces never counted, so never appear.
pub fn confirmed_by(lines: &[RosterLine]) -> Vec<(i64, i64)> {
    lines
        .iter()
        .filter(|line| line.present)
        .flat_map(|line| line.faces.iter().filter(|d| !d.enrolled).map(|d| (d.crop_id, line.person_id)))
        .collect()
}

/// The references to match against: every enrolled one, then each pupil's `size` most recent
/// confirmed faces that are not poor.
///
/// ```
/// use facenet_attendance::gallery::{grow, Confirmed};
/// use facenet_attendance::Reference;
///
/// let enrolled = vec![Reference { person_id: 1, vector: vec![1.0, 0.0] }];
/// let confirmed = |crop_id, day: &str| Confirmed {
///     person_id: 1, crop_id, lesson_start: format!("2026-09-{day}T09:00:00Z"), vector: vec![0.8, 0.6], geometry: None,
/// };
/// let references = grow(enrolled, vec![confirmed(5, "01"), confirmed(9, "03"), confirmed(7, "02")], 2);
/// assert_eq!(references.len(), 3); // the enrolled face, then the lessons of the 3rd and the 2nd
/// ```
pub fn grow(enrolled: Vec<Reference>, confirmed: Vec<Confirmed>, size: usize) -> Vec<Reference> {
    let chosen = chosen(&confirmed, size);
    let mut confirmed: Vec<Option<Confirmed>> = confirmed.into_iter().map(Some).collect();
    let mut references = enrolled;
    references.extend(
        chosen
            .into_iter()
            .filter_map(|i| confirmed[i].take())
            .map(|c| Reference { person_id: c.person_id, vector: c.vector }),
    );
    references
}

/// Which of `confirmed` [`grow`] keeps, by index, most recent first: per pupil the `size` most
/// recent (lesson start, then crop id) that are not poor. Reads no vector (a backend that keeps
/// vectors apart passes them empty).
pub fn chosen(confirmed: &[Confirmed], size: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..confirmed.len())
        .filter(|&i| !confirmed[i].geometry.as_ref().is_some_and(|g| assess(g).is_poor()))
        .collect();
    // Most recent first: a later lesson, then a later crop of the same lesson.
    order.sort_by(|&a, &b| {
        let (a, b) = (&confirmed[a], &confirmed[b]);
        b.lesson_start.cmp(&a.lesson_start).then(b.crop_id.cmp(&a.crop_id))
    });
    let mut kept: BTreeMap<i64, usize> = BTreeMap::new();
    order.retain(|&i| {
        let n = kept.entry(confirmed[i].person_id).or_default();
        *n += 1;
        *n <= size
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(person_id: i64, crop_id: i64, day: u32, width: f32) -> Confirmed {
        Confirmed {
            person_id,
            crop_id,
            lesson_start: format!("2026-09-{day:02}T09:00:00Z"),
            vector: vec![crop_id as f32],
            geometry: Some(Geometry { width, height: width, score: None, landmarks: None, sharpness: None }),
        }
    }

    #[test]
    fn each_pupil_keeps_the_most_recent_faces_that_are_not_poor_beside_every_enrolled_one() {
        let enrolled =
            vec![Reference { person_id: 1, vector: vec![-1.0] }, Reference { person_id: 1, vector: vec![-2.0] }];
        let confirmed = vec![
            face(1, 10, 1, 100.0),
            face(1, 11, 3, 100.0),
            face(1, 12, 3, 100.0),
            face(1, 13, 4, 20.0), // the newest, but small: never a reference
            face(1, 14, 2, 100.0),
            face(2, 20, 1, 100.0),
        ];
        let got: Vec<(i64, f32)> = grow(enrolled, confirmed, 3).iter().map(|r| (r.person_id, r.vector[0])).collect();
        assert_eq!(got, [(1, -1.0), (1, -2.0), (1, 12.0), (1, 11.0), (1, 14.0), (2, 20.0)]);
    }

    #[test]
    fn a_register_confirms_the_matched_and_given_faces_of_present_pupils_only() {
        use crate::{match_session, register, Face, Mark, Verdict};
        let face = |crop_id, person_id, verdict, vector: Vec<f32>| Face {
            crop_id,
            photo_id: Some(crop_id),
            person_id,
            verdict,
            vector,
            geometry: None,
        };
        let references = vec![
            Reference { person_id: 1, vector: vec![1.0, 0.0] },
            Reference { person_id: 2, vector: vec![0.0, 1.0] },
        ];
        let faces = vec![
            face(10, Some(1), None, vec![1.0, 0.0]), // Ana's enrolled face: a reference already
            face(11, None, None, vec![0.99, 0.1]),   // matched to Ana
            face(12, None, Some(Verdict::Person(2)), vec![-1.0, 0.0]), // given to Ben by the teacher
            face(13, None, None, vec![0.1, 0.99]),   // matched to Ben
            face(14, None, None, vec![0.05, -0.99]), // matched to Cy, marked absent by hand
        ];
        let references = [references, vec![Reference { person_id: 3, vector: vec![0.0, -1.0] }]].concat();
        let matched = match_session(faces, &[1, 2, 3], references, 0.4);
        let people = [(1, "Ana".to_string()), (2, "Ben".to_string()), (3, "Cy".to_string())];
        let lines = register(&people, &matched.decisions, &[(3, Mark::Absent)]);
        assert_eq!(confirmed_by(&lines), [(11, 1), (12, 2), (13, 2)]);
    }

    #[test]
    fn a_gallery_of_size_zero_is_the_enrolled_faces() {
        let enrolled = vec![Reference { person_id: 1, vector: vec![1.0] }];
        assert_eq!(grow(enrolled.clone(), vec![face(1, 10, 1, 100.0)], 0), enrolled);
    }
}
