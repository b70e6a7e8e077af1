//! A lesson's faces to people: enrolled faces keep their label (and take their person out of
//! their photo's matching); every other face is matched one-to-one within its photo (a face
//! without a photo is a photo of its own); the faces matched to nobody are clustered.

use crate::cluster::cluster;
use crate::matching::{match_photo, person_distances};
use std::collections::BTreeMap;

/// One embedded face of a lesson, as a backend stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// The crop's id.
    pub crop_id: i64,
    /// The photo it was cut from; `None`: a crop uploaded alone, a photo of its own.
    pub photo_id: Option<i64>,
    /// The person this face is enrolled as (one of their references), if it is.
    pub person_id: Option<i64>,
    /// What the teacher said this face is, if they did: it overrides both the enrolment label
    /// and the matching.
    pub verdict: Option<Verdict>,
    /// The face's vector, of the model the assignment is for.
    pub vector: Vec<f32>,
}

/// A teacher's word on one face of a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This face is that pupil (it takes them out of its photo's matching, as an enrolled face does).
    Person(i64),
    /// This face is nobody of the class: neither matched nor clustered.
    NotInClass,
}

/// One reference face of a person: what their faces in a lesson are compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The person it is a reference of.
    pub person_id: i64,
    /// Its vector, of the model the assignment is for.
    pub vector: Vec<f32>,
}

/// What one face was found to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The crop's id.
    pub crop_id: i64,
    /// The photo it was cut from.
    pub photo_id: Option<i64>,
    /// The person it is (`None`: unknown).
    pub person_id: Option<i64>,
    /// Cosine distance to that person's nearest reference: 0 for an enrolled face, NaN for an
    /// unknown one.
    pub distance: f32,
    /// How much nearer that person is than the runner-up (see [`crate::matching::Match`]);
    /// `None` for enrolled and unknown faces.
    pub margin: Option<f32>,
    /// Whether the face is one of the person's references rather than a match.
    pub enrolled: bool,
    /// Whether the teacher decided it ([`Verdict`]) rather than the matching.
    pub by_teacher: bool,
}

/// The outcome of [`match_session`].
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    /// One decision per face, by crop id.
    pub decisions: Vec<Decision>,
    /// The faces matched to nobody: (crop id, vector), in the order the photos were matched,
    /// for [`cluster_unknown`].
    pub unknown: Vec<(i64, Vec<f32>)>,
}

/// Decides every face of a lesson. `people` are the ids that can be matched (in the order ties
/// are broken in: the first of two equally near people wins); references of anyone else are
/// ignored, and so is an enrolled face's label for anyone else (the face still counts as that
/// person's, but takes nobody out of the matching). A teacher's [`Verdict`] decides its face
/// before anything else: `Person` as an enrolled face does (distance 0), `NotInClass` leaves the
/// face with nobody and out of the unknown faces.
///
/// ```text
/// photo 7: face 10 (enrolled as Ana), face 11, face 12     Ana taken in photo 7:
///   face 11 → Ben (0.31), face 12 → unknown                face 11 and 12 compete for Ben only
/// ```
pub fn match_session(faces: Vec<Face>, people: &[i64], references: Vec<Reference>, threshold: f32) -> Matched {
    // Each person's reference vectors, in the order of `people`.
    let index: BTreeMap<i64, usize> = people.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut enrolled = vec![Vec::new(); people.len()];
    for r in references {
        if let Some(&i) = index.get(&r.person_id) {
            enrolled[i].push(r.vector);
        }
    }
    // The faces by photo; a face without a photo stands alone.
    let mut photos: BTreeMap<(i64, i64), Vec<Face>> = BTreeMap::new();
    for face in faces {
        let key = match face.photo_id {
            Some(photo) => (photo, 0),
            None => (-1, face.crop_id),
        };
        photos.entry(key).or_default().push(face);
    }
    let mut decisions = Vec::new();
    let mut unknown = Vec::new();
    for faces in photos.into_values() {
        let mut taken = vec![false; people.len()];
        let mut open = Vec::new();
        for face in faces {
            let (person, by_teacher) = match (face.verdict, face.person_id) {
                (Some(Verdict::Person(person)), _) => (Some(person), true),
                (Some(Verdict::NotInClass), _) => (None, true),
                (None, Some(person)) => (Some(person), false),
                (None, None) => {
                    open.push(face);
                    continue;
                }
            };
            if let Some(&i) = person.and_then(|p| index.get(&p)) {
                taken[i] = true;
            }
            decisions.push(Decision {
                crop_id: face.crop_id,
                photo_id: face.photo_id,
                person_id: person,
                distance: if person.is_some() { 0.0 } else { f32::NAN },
                margin: None,
                enrolled: !by_teacher,
                by_teacher,
            });
        }
        let distances: Vec<Vec<f32>> = open.iter().map(|f| person_distances(&f.vector, &enrolled)).collect();
        for (face, found) in open.into_iter().zip(match_photo(&distances, threshold, &taken)) {
            decisions.push(Decision {
                crop_id: face.crop_id,
                photo_id: face.photo_id,
                person_id: found.map(|m| people[m.person]),
                distance: found.map_or(f32::NAN, |m| m.distance),
                margin: found.map(|m| m.margin),
                enrolled: false,
                by_teacher: false,
            });
            if found.is_none() {
                unknown.push((face.crop_id, face.vector));
            }
        }
    }
    decisions.sort_by_key(|d| d.crop_id);
    Matched { decisions, unknown }
}

/// Groups the unknown faces (average linkage within `threshold`, [`cluster`]) so that one action
/// can enroll each group. Only the first `max` are clustered — O(n²) time and memory — and each
/// one past them stays a group of its own. Groups of crop ids, largest first.
pub fn cluster_unknown(unknown: &[(i64, Vec<f32>)], threshold: f32, max: usize) -> Vec<Vec<i64>> {
    let clustered = unknown.len().min(max);
    let vectors: Vec<&[f32]> = unknown[..clustered].iter().map(|(_, v)| v.as_slice()).collect();
    let mut groups: Vec<Vec<i64>> = cluster(&vectors, threshold)
        .into_iter()
        .map(|members| members.iter().map(|&i| unknown[i].0).collect())
        .collect();
    groups.extend(unknown[clustered..].iter().map(|(crop, _)| vec![*crop]));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(crop_id: i64, photo_id: Option<i64>, person_id: Option<i64>, angle_deg: f32) -> Face {
        let r = angle_deg.to_radians();
        Face { crop_id, photo_id, person_id, verdict: None, vector: vec![r.cos(), r.sin()] }
    }

    fn reference(person_id: i64, angle_deg: f32) -> Reference {
        let r = angle_deg.to_radians();
        Reference { person_id, vector: vec![r.cos(), r.sin()] }
    }

    #[test]
    fn an_enrolled_face_takes_its_person_out_of_its_photo_only() {
        // Ana at 0°, Ben at 90°. Photo 1: Ana's enrolled face and a face at 5° (Ana's look, but
        // Ana is taken in photo 1: unknown). Photo 2: a face at 5° → Ana. A lone crop at 88° → Ben.
        let faces = vec![
            face(1, Some(1), Some(100), 0.0),
            face(2, Some(1), None, 5.0),
            face(3, Some(2), None, 5.0),
            face(4, None, None, 88.0),
        ];
        let m = match_session(faces, &[100, 200], vec![reference(100, 0.0), reference(200, 90.0)], 0.1);
        let who: Vec<(i64, Option<i64>, bool)> =
            m.decisions.iter().map(|d| (d.crop_id, d.person_id, d.enrolled)).collect();
        assert_eq!(who, vec![(1, Some(100), true), (2, None, false), (3, Some(100), false), (4, Some(200), false)]);
        assert_eq!(m.unknown.iter().map(|(c, _)| *c).collect::<Vec<_>>(), vec![2]);
        assert!(m.decisions[1].distance.is_nan() && m.decisions[1].margin.is_none());
        // cos 5° = 0.99619: distance 0.0038; Ben is the runner-up at 1 − cos 85°, past the
        // threshold, so the margin is counted to the threshold: 0.1 − 0.0038.
        assert!((m.decisions[2].distance - (1.0 - 5f32.to_radians().cos())).abs() < 1e-6);
        assert!((m.decisions[2].margin.unwrap() - (0.1 - m.decisions[2].distance)).abs() < 1e-6);
    }

    #[test]
    fn a_teachers_verdict_overrides_the_label_and_the_matching() {
        // Photo 1: a face at 1° (Ana's look) that the teacher says is Ben; a face at 2° → Ana
        // (Ana is not taken: the first face is Ben's). A face the teacher says is nobody of the
        // class: no person, not among the unknown. A face enrolled as Ana that the teacher says is Ben.
        let mut faces = vec![
            face(1, Some(1), None, 1.0),
            face(2, Some(1), None, 2.0),
            face(3, Some(1), None, 45.0),
            face(4, Some(2), Some(100), 0.0),
        ];
        faces[0].verdict = Some(Verdict::Person(200));
        faces[2].verdict = Some(Verdict::NotInClass);
        faces[3].verdict = Some(Verdict::Person(200));
        let m = match_session(faces, &[100, 200], vec![reference(100, 0.0), reference(200, 90.0)], 0.1);
        let who: Vec<(i64, Option<i64>, bool, bool)> =
            m.decisions.iter().map(|d| (d.crop_id, d.person_id, d.enrolled, d.by_teacher)).collect();
        assert_eq!(
            who,
            vec![
                (1, Some(200), false, true),
                (2, Some(100), false, false),
                (3, None, false, true),
                (4, Some(200), false, true)
            ]
        );
        assert!(m.unknown.is_empty(), "a face that is nobody of the class is not clustered");
    }

    #[test]
    fn references_of_people_not_listed_are_ignored() {
        let faces = vec![face(1, Some(1), None, 0.0)];
        let m = match_session(faces, &[200], vec![reference(100, 0.0), reference(200, 90.0)], 0.1);
        assert_eq!(m.decisions[0].person_id, None);
    }

    #[test]
    fn past_the_maximum_each_unknown_face_is_a_group_of_its_own() {
        let unknown: Vec<(i64, Vec<f32>)> = (0..5).map(|i| (10 + i, vec![1.0, 0.001 * i as f32])).collect();
        assert_eq!(cluster_unknown(&unknown, 0.1, 10), vec![vec![10, 11, 12, 13, 14]]);
        assert_eq!(cluster_unknown(&unknown, 0.1, 3), vec![vec![10, 11, 12], vec![13], vec![14]]);
        assert_eq!(cluster_unknown(&[], 0.1, 3), Vec::<Vec<i64>>::new());
    }
}
