//! A lesson's faces to people: enrolled faces keep their label (and take their person out of
//! their photo's matching); every other face is matched one-to-one within its photo (a face
//! without a photo is a photo of its own); the faces matched to nobody are clustered. A match is
//! only *unsure* — shown to the teacher, not counted — when the face is poor
//! ([`crate::quality`]) or its person is not clearly nearer than the next ([`MIN_MARGIN`]).
//!
//! ```text
//! per photo: the teacher's verdicts and the enrolled faces take their people
//!   → the faces that are not poor, one-to-one against the people still free
//!       margin ≥ MIN_MARGIN: named        margin < MIN_MARGIN: unsure (close_call)
//!   → the poor faces, one-to-one against the people still free: unsure (their first concern)
//!   → the faces matched to nobody: unknown, for clustering (a poor one alone: it cannot be enrolled)
//! ```

use crate::cluster::cluster;
use crate::matching::{match_photo, person_distances, Match};
use crate::quality::{assess, Concern, Geometry};
use std::collections::BTreeMap;

/// A face is named only when its person is at least this much nearer than the runner-up (in
/// cosine distance). Calibrated over the naming test's 40 rounds (tests/naming.rs, at the shipped
/// 0.40): the smallest margin of a face named right was 0.090; 0.05 left every right name and
/// 0.10 would have lost 0.2 points (models/README.md, "Face quality and decision margins").
pub const MIN_MARGIN: f32 = 0.05;

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
    /// Where and how sure the detector found it, and its crop's sharpness, when known: a face
    /// without is never poor.
    pub geometry: Option<Geometry>,
}

/// Why a face that looks like a pupil does not count for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// The face is poor for this reason (the first of its [`crate::quality::Quality`]'s concerns).
    Poor(Concern),
    /// The pupil is nearer than the threshold but not [`MIN_MARGIN`] nearer than the next one.
    CloseCall,
}

impl Doubt {
    /// The code both backends answer with: a [`Concern::code`] or `close_call`.
    pub fn code(self) -> &'static str {
        match self {
            Doubt::Poor(concern) => concern.code(),
            Doubt::CloseCall => "close_call",
        }
    }

    /// What a teacher reads.
    pub fn describe(self) -> &'static str {
        match self {
            Doubt::Poor(concern) => concern.describe(),
            Doubt::CloseCall => "another pupil looks almost as alike",
        }
    }

    /// Every doubt: each concern, then the close call.
    pub fn all() -> impl Iterator<Item = Doubt> {
        Concern::ALL.into_iter().map(Doubt::Poor).chain([Doubt::CloseCall])
    }

    /// The doubt of a [`Doubt::code`], if it is one.
    pub fn parse(code: &str) -> Option<Doubt> {
        Doubt::all().find(|d| d.code() == code)
    }
}

/// A face that looks like a pupil, in doubt: the register shows it under them, unticked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsure {
    /// Whom it looks like.
    pub person_id: i64,
    /// Why it is not counted.
    pub doubt: Doubt,
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
    /// The person it is (`None`: unknown, or [`Decision::unsure`]).
    pub person_id: Option<i64>,
    /// Cosine distance to that person's (or the unsure candidate's) nearest reference: 0 for an
    /// enrolled face, NaN for an unknown one.
    pub distance: f32,
    /// How much nearer that person is than the runner-up (see [`crate::matching::Match`]);
    /// `None` for enrolled and unknown faces.
    pub margin: Option<f32>,
    /// A match in doubt: whom the face looks like and why it does not count (`person_id` is then
    /// `None`).
    pub unsure: Option<Unsure>,
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
    /// The faces matched to nobody that are not poor: (crop id, vector), in the order the photos
    /// were matched, for [`cluster_unknown`].
    pub unknown: Vec<(i64, Vec<f32>)>,
    /// The poor faces matched to nobody: never clustered with others (a group holding one could
    /// not be enrolled: enrolment refuses a poor face), each a group of its own.
    pub poor_unknown: Vec<i64>,
}

impl Matched {
    /// The unknown faces' groups: [`cluster_unknown`] of [`Matched::unknown`], then each of
    /// [`Matched::poor_unknown`] alone.
    pub fn groups(&self, threshold: f32, max: usize) -> Vec<Vec<i64>> {
        let mut groups = cluster_unknown(&self.unknown, threshold, max);
        groups.extend(self.poor_unknown.iter().map(|&crop| vec![crop]));
        groups
    }
}

/// Decides every face of a lesson (the rounds of the module docs). `people` are the ids that can
/// be matched (in the order ties are broken in: the first of two equally near people wins); references of anyone else are
/// ignored, and so is an enrolled face's label for anyone else (the face still counts as that
/// person's, but takes nobody out of the matching). A teacher's [`Verdict`] decides its face
/// before anything else: `Person` as an enrolled face does (distance 0), `NotInClass` leaves the
/// face with nobody and out of the unknown faces. An unsure face holds its person in its photo
/// (no other face there takes them) and is not among the unknown faces.
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
    let (mut decisions, mut unknown, mut poor_unknown) = (Vec::new(), Vec::new(), Vec::new());
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
                unsure: None,
                enrolled: !by_teacher,
                by_teacher,
            });
        }
        // The faces that are not poor first: a poor face takes only a person no good face took.
        let (good, poor): (Vec<(Face, Option<Concern>)>, _) = open
            .into_iter()
            .map(|f| {
                let concern = f.geometry.as_ref().and_then(|g| assess(g).concerns.first().copied());
                (f, concern)
            })
            .partition(|(_, concern)| concern.is_none());
        for round in [good, poor] {
            let distances: Vec<Vec<f32>> = round.iter().map(|(f, _)| person_distances(&f.vector, &enrolled)).collect();
            let found = match_photo(&distances, threshold, &taken);
            for ((face, concern), found) in round.into_iter().zip(found) {
                if let Some(m) = found {
                    taken[m.person] = true;
                }
                decisions.push(decide(&face, found, concern, people));
                match (found, concern) {
                    (Some(_), _) => {}
                    (None, None) => unknown.push((face.crop_id, face.vector)),
                    (None, Some(_)) => poor_unknown.push(face.crop_id),
                }
            }
        }
    }
    decisions.sort_by_key(|d| d.crop_id);
    Matched { decisions, unknown, poor_unknown }
}

/// One matched (or unmatched) face's decision: named, or unsure when it is poor (`concern`) or
/// its margin is under [`MIN_MARGIN`].
fn decide(face: &Face, found: Option<Match>, concern: Option<Concern>, people: &[i64]) -> Decision {
    let doubt = found.and_then(|m| match concern {
        Some(concern) => Some(Doubt::Poor(concern)),
        None if m.margin < MIN_MARGIN => Some(Doubt::CloseCall),
        None => None,
    });
    let person = found.map(|m| people[m.person]);
    Decision {
        crop_id: face.crop_id,
        photo_id: face.photo_id,
        person_id: if doubt.is_some() { None } else { person },
        distance: found.map_or(f32::NAN, |m| m.distance),
        margin: found.map(|m| m.margin),
        unsure: doubt.zip(person).map(|(doubt, person_id)| Unsure { person_id, doubt }),
        enrolled: false,
        by_teacher: false,
    }
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
        Face { crop_id, photo_id, person_id, verdict: None, vector: vec![r.cos(), r.sin()], geometry: None }
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
        // threshold but counted: a margin of cos 5° − cos 85°.
        let (d, margin) = (m.decisions[2].distance, m.decisions[2].margin.unwrap());
        assert!((d - (1.0 - 5f32.to_radians().cos())).abs() < 1e-6);
        assert!((margin - (5f32.to_radians().cos() - 85f32.to_radians().cos())).abs() < 1e-6);
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
    fn a_poor_face_or_a_close_call_is_unsure_and_holds_its_person() {
        // Ana at 0°, Ben at 40°. Photo 1: a face at 21° (0.0664 from Ana, 0.0545 from Ben): Ben
        // by a margin of 0.0119, a close call. Photo 2: a small face at 2° (Ana's look) and a
        // good one at 4°: the good one is matched first and takes Ana; the small one is left
        // unknown. Photo 3: a small face alone at 2°: unsure, Ana, small.
        let small = Geometry { width: 20.0, height: 24.0, score: Some(0.99), landmarks: None, sharpness: None };
        let mut faces = vec![face(1, Some(1), None, 21.0), face(2, Some(2), None, 2.0), face(3, Some(2), None, 4.0)];
        faces.push(face(4, Some(3), None, 2.0));
        faces[1].geometry = Some(small);
        faces[3].geometry = Some(small);
        let references = vec![reference(100, 0.0), reference(200, 40.0)];
        let m = match_session(faces, &[100, 200], references, 0.1);
        let got: Vec<(i64, Option<i64>, Option<Unsure>)> =
            m.decisions.iter().map(|d| (d.crop_id, d.person_id, d.unsure)).collect();
        let unsure = |person_id, doubt| Some(Unsure { person_id, doubt });
        assert_eq!(
            got,
            vec![
                (1, None, unsure(200, Doubt::CloseCall)),
                (2, None, None),
                (3, Some(100), None),
                (4, None, unsure(100, Doubt::Poor(Concern::Small))),
            ]
        );
        assert!(m.decisions[0].margin.unwrap() < MIN_MARGIN && m.decisions[0].distance < 0.1);
        assert!(m.unknown.is_empty(), "unsure faces are not clustered");
        assert_eq!(m.poor_unknown, [2], "a poor face matched to nobody is a group of its own");
        assert_eq!(m.groups(0.1, 10), [vec![2]]);
        assert_eq!(Doubt::parse("small_face"), Some(Doubt::Poor(Concern::Small)));
        assert_eq!(Doubt::parse(Doubt::CloseCall.code()), Some(Doubt::CloseCall));
        assert_eq!(Doubt::parse("nobody"), None);
    }

    #[test]
    fn past_the_maximum_each_unknown_face_is_a_group_of_its_own() {
        let unknown: Vec<(i64, Vec<f32>)> = (0..5).map(|i| (10 + i, vec![1.0, 0.001 * i as f32])).collect();
        assert_eq!(cluster_unknown(&unknown, 0.1, 10), vec![vec![10, 11, 12, 13, 14]]);
        assert_eq!(cluster_unknown(&unknown, 0.1, 3), vec![vec![10, 11, 12], vec![13], vec![14]]);
        assert_eq!(cluster_unknown(&[], 0.1, 3), Vec::<Vec<i64>>::new());
    }
}
