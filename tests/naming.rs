//! Naming faces as a register does, on real multi-photo identities: pupils enrolled from one
//! photo each, then looked for in every other photo — portraits, two group photos
//! (`couple.jpg`, `selfie-many-people.jpg`), and the small background faces of all of them —
//! matched one-to-one per photo by the attendance domain (`facenet_attendance::match_session`,
//! what both backends run) at the shipped thresholds. Prints the table of models/README.md
//! ("Naming") and asserts the floors the issue set: ≥ 97 % of enrolled faces named right, no
//! face named as the wrong pupil, no stranger named. A second test lives the same faces as
//! lessons one after another, each register finalised after its teacher set it right, the
//! pupils' galleries growing from what the registers confirmed (`facenet_attendance::gallery`):
//! the table "Galleries over lessons".
//!
//! The photos: DeepFace's unit-test set (MIT; 61 photos of 13 people, read from
//! `$FACENET_DEEPFACE_DIR` or `../shared/datasets/deepface/`, checked against the sha256 list of
//! tests/golden/deepface-identities.json) and face-api's six samples (tests/photos/, 22
//! strangers). Without the DeepFace photos the test says so and checks nothing.
//!
//! ```text
//! 40 rounds; in round r: 3 of the 13 people (seeded) are not enrolled — their faces are strangers;
//!   every other person is enrolled from one photo (their r-th, cyclically);
//!   every other photo is a photo of the lesson; each face is
//!   right (its pupil) · wrong (another pupil) · missed (nobody) — for an enrolled person's face,
//!   named (anyone) — for a stranger's face: everyone else in the photos, and the 3 held out
//! ```
//!
//! `FACENET_DUMP_FACES=path` also writes every face's 512-d vector and its mirror image's, the
//! data `tools/projection.py` fits the 128-d projection on.
//!
//! cargo test --release --test naming -- --nocapture

mod common;
use common::*;
use facenet_attendance::gallery::{self, Confirmed, GALLERY_SIZE};
use facenet_attendance::quality::Geometry;
use facenet_attendance::{match_session, register, Decision, Face, Reference, Verdict};
use facenet_wasm::{align_face, decode_image, Alignment, Embedder, Limits, Manifest};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

const ROUNDS: usize = 40;
const HELD_OUT: usize = 3;
const NAMES: [&str; 2] = ["facenet", "facenet512"];

/// Who a face is, as far as naming is concerned.
#[derive(Clone, Copy, PartialEq)]
enum Label {
    /// One of the 13 people (index into the identities).
    Person(usize),
    /// Nobody of the 13.
    Stranger,
}

/// One face found in one photo, with its vectors of each name, plain and of its mirror image.
struct Found {
    photo: usize,
    file: String,
    label: Label,
    plain: [Vec<f32>; 2],
    flipped: [Vec<f32>; 2],
    /// As the detector found it.
    face: facenet_wasm::Face,
    /// Its crop's sharpness, as a backend reads it (for the dump).
    sharpness: f32,
}

/// Who each face of `file` is. A portrait's subject is its most confident face (every other one is
/// a stranger in the background); in the two group photos the one person of the 13 (the first
/// identity) is told by where her face is, checked by eye.
fn label(file: &str, index: usize, centre: (f32, f32), identity: Option<usize>) -> Label {
    let (x, y) = centre;
    match (file, identity) {
        (_, Some(person)) if index == 0 => Label::Person(person),
        ("couple.jpg", _) if x < 0.5 => Label::Person(0),
        ("selfie-many-people.jpg", _) if (0.1..0.35).contains(&x) && (0.45..0.75).contains(&y) => Label::Person(0),
        _ => Label::Stranger,
    }
}

fn find_faces(dir: &PathBuf, identities: &[Vec<String>], fixture: &serde_json::Value) -> Vec<Found> {
    let mut detector = detector();
    let onnx = read("models/facenet.onnx");
    let mut embedders: Vec<Embedder> =
        NAMES.iter().map(|n| Embedder::builder(&onnx, Manifest::facenet()).model(n).build().unwrap()).collect();
    // img11_reflection.jpg is img11.jpg mirrored: not a photo of its own.
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg") && !p.ends_with("img11_reflection.jpg"))
        .collect();
    files.sort();
    files.extend((1..=6).map(|i| repo(&format!("tests/photos/sample{i}.jpg"))));
    let mut found = Vec::new();
    for (photo, path) in files.iter().enumerate() {
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(path).unwrap();
        let identity = identities.iter().position(|g| g.contains(&file));
        if identity.is_some() {
            let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(fixture["sha256"][&file], hash.as_str(), "{file} is not the photo the table was measured on");
        }
        let image = decode_image(&bytes, &Limits::default()).unwrap();
        let faces = detector.detect_rgb(&image).unwrap();
        assert!(identity.is_none() || !faces.is_empty(), "{file}: no face found");
        for (index, face) in faces.iter().enumerate() {
            let b = face.bbox;
            let centre = ((b.x + b.width / 2.0) / image.width() as f32, (b.y + b.height / 2.0) / image.height() as f32);
            let crop = align_face(&image, face, Alignment::FivePoint, 160, 160).unwrap();
            let mirror = image::imageops::flip_horizontal(&crop);
            let mut embed = |crop: &image::RgbImage| -> [Vec<f32>; 2] {
                [0, 1].map(|m| embedders[m].embed_rgb(crop).unwrap().vector)
            };
            let (plain, flipped) = (embed(&crop), embed(&mirror));
            found.push(Found {
                photo,
                file: file.clone(),
                label: label(&file, index, centre, identity),
                plain,
                flipped,
                face: face.clone(),
                sharpness: crop_sharpness(&crop),
            });
        }
    }
    found
}

/// What one configuration does over every round.
#[derive(Default)]
struct Tally {
    /// Faces of enrolled people, and how they were named.
    enrolled: usize,
    right: usize,
    wrong: usize,
    missed: usize,
    /// Of the missed, those the register shows as unsure (poor or a close call).
    unsure: usize,
    /// Faces of people not enrolled, and how many were named anyway.
    strangers: usize,
    strangers_named: usize,
}

impl Tally {
    fn right_rate(&self) -> f64 {
        self.right as f64 / self.enrolled as f64
    }

    /// One decision about a face of `pupil` (`None`: a stranger's face).
    fn count(&mut self, pupil: Option<i64>, decision: &Decision) {
        match (pupil, decision.person_id) {
            (Some(p), Some(named)) if p == named => self.right += 1,
            (Some(_), Some(_)) => self.wrong += 1,
            (Some(_), None) => {
                self.missed += 1;
                self.unsure += usize::from(decision.unsure.is_some());
            }
            (None, named) => self.strangers_named += usize::from(named.is_some()),
        }
        match pupil {
            Some(_) => self.enrolled += 1,
            None => self.strangers += 1,
        }
    }

    fn add(&mut self, other: &Tally) {
        self.enrolled += other.enrolled;
        self.right += other.right;
        self.wrong += other.wrong;
        self.missed += other.missed;
        self.unsure += other.unsure;
        self.strangers += other.strangers;
        self.strangers_named += other.strangers_named;
    }
}

/// `HELD_OUT` distinct people of `n`, from a seeded generator (the same every run).
fn held_out(round: usize, n: usize) -> Vec<usize> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ round as u64;
    let mut held = Vec::new();
    while held.len() < HELD_OUT {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let p = ((state >> 33) % n as u64) as usize;
        if !held.contains(&p) {
            held.push(p);
        }
    }
    held
}

fn name_faces(
    found: &[Found],
    identities: &[Vec<String>],
    vector: impl Fn(&Found) -> Vec<f32>,
    threshold: f32,
) -> Tally {
    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        let held = held_out(round, identities.len());
        // Person p is enrolled from the subject of their photo number `round` (cyclically).
        let enrolled_file = |p: usize| &identities[p][round % identities[p].len()];
        let people: Vec<i64> = (0..identities.len()).filter(|p| !held.contains(p)).map(|p| p as i64).collect();
        let references: Vec<Reference> = found
            .iter()
            .filter_map(|f| match f.label {
                Label::Person(p) if !held.contains(&p) && &f.file == enrolled_file(p) => {
                    Some(Reference { person_id: p as i64, vector: vector(f) })
                }
                _ => None,
            })
            .collect();
        assert_eq!(references.len(), people.len());
        let lesson: Vec<(usize, &Found)> = found
            .iter()
            .enumerate()
            .filter(|(_, f)| !people.iter().any(|&p| enrolled_file(p as usize) == &f.file))
            .collect();
        let faces = lesson.iter().map(|&(i, f)| lesson_face(i, f, vector(f))).collect();
        let matched = match_session(faces, &people, references, threshold);
        for decision in matched.decisions {
            tally.count(truth(&found[decision.crop_id as usize], &held), &decision);
        }
    }
    tally
}

/// Face number `index` of a lesson, as a backend hands it to the attendance domain.
fn lesson_face(index: usize, f: &Found, vector: Vec<f32>) -> Face {
    Face {
        crop_id: index as i64,
        photo_id: Some(f.photo as i64),
        person_id: None,
        verdict: None,
        vector,
        geometry: Some(geometry(f)),
    }
}

fn geometry(f: &Found) -> Geometry {
    Geometry {
        width: f.face.bbox.width,
        height: f.face.bbox.height,
        score: Some(f.face.score),
        landmarks: Some(f.face.landmarks),
        sharpness: Some(f.sharpness),
    }
}

/// The pupil a face is, when that person is enrolled in this round (else it is a stranger's).
fn truth(f: &Found, held: &[usize]) -> Option<i64> {
    match f.label {
        Label::Person(p) if !held.contains(&p) => Some(p as i64),
        _ => None,
    }
}

/// Lessons one after another, as a class lives them: in round r every person enrolled from their
/// r-th photo; lesson k holds each person's (r + k)-th photo (while they have one) and the six
/// face-api samples (strangers in every lesson). Each lesson is matched against the references
/// of that day (`gallery::grow` over what teachers confirmed before); then its teacher sets
/// right what the register got wrong (a verdict on each face it missed, was unsure of or named
/// wrong) and finalises it. The gallery takes what the finalised register confirms
/// (`gallery::confirmed_by`, shipped) — or, without `named_too`, only the faces the teacher set
/// right. Returns one tally per lesson (index 0 is lesson 1).
fn lessons(
    found: &[Found],
    identities: &[Vec<String>],
    vector: impl Fn(&Found) -> Vec<f32>,
    threshold: f32,
    size: usize,
    named_too: bool,
) -> Vec<Tally> {
    let most = identities.iter().map(Vec::len).max().unwrap();
    let mut tallies: Vec<Tally> = (1..most).map(|_| Tally::default()).collect();
    for round in 0..ROUNDS {
        let held = held_out(round, identities.len());
        let photo_of = |p: usize, k: usize| &identities[p][(round + k) % identities[p].len()];
        let people: Vec<i64> = (0..identities.len()).filter(|p| !held.contains(p)).map(|p| p as i64).collect();
        let enrolled: Vec<Reference> = found
            .iter()
            .filter_map(|f| match truth(f, &held) {
                Some(p) if &f.file == photo_of(p as usize, 0) => Some(Reference { person_id: p, vector: vector(f) }),
                _ => None,
            })
            .collect();
        let mut confirmed: Vec<Confirmed> = Vec::new();
        for (k, tally) in (1..most).zip(&mut tallies) {
            let in_lesson = |f: &Found| {
                let owner = identities.iter().position(|g| g.contains(&f.file));
                owner.map_or(true, |p| k < identities[p].len() && &f.file == photo_of(p, k))
            };
            let faces: Vec<Face> = found
                .iter()
                .enumerate()
                .filter(|(_, f)| in_lesson(f))
                .map(|(i, f)| lesson_face(i, f, vector(f)))
                .collect();
            let references = gallery::grow(enrolled.clone(), confirmed.clone(), size);
            let matched = match_session(faces.clone(), &people, references.clone(), threshold);
            // The teacher sets right every face of an enrolled pupil the register did not name
            // right (a verdict), and every stranger it named (not in the class); then finalises.
            let mut verdicts = BTreeMap::new();
            for decision in &matched.decisions {
                let pupil = truth(&found[decision.crop_id as usize], &held);
                tally.count(pupil, decision);
                if decision.person_id != pupil {
                    verdicts.insert(decision.crop_id, pupil.map_or(Verdict::NotInClass, Verdict::Person));
                }
            }
            let faces = faces.into_iter().map(|f| Face { verdict: verdicts.get(&f.crop_id).copied(), ..f }).collect();
            let finalised = match_session(faces, &people, references, threshold).decisions;
            let taken: Vec<(i64, i64)> = if named_too {
                let roster: Vec<(i64, String)> = people.iter().map(|&p| (p, p.to_string())).collect();
                gallery::confirmed_by(&register(&roster, &finalised, &[]))
            } else {
                finalised.iter().filter(|d| d.by_teacher).filter_map(|d| Some((d.crop_id, d.person_id?))).collect()
            };
            confirmed.extend(taken.into_iter().map(|(crop, person_id)| {
                let f = &found[crop as usize];
                Confirmed {
                    person_id,
                    crop_id: crop,
                    lesson_start: format!("lesson {k:02}"),
                    vector: vector(f),
                    geometry: Some(geometry(f)),
                }
            }));
        }
    }
    tallies
}

fn averaged(a: &[f32], b: &[f32]) -> Vec<f32> {
    let sum: Vec<f32> = a.iter().zip(b).map(|(x, y)| x + y).collect();
    let n = norm(&sum);
    sum.iter().map(|x| x / n).collect()
}

/// Every face of the photos and the identities, found once for the tests of this file (which run
/// at once: the second waits for the first).
fn photos(test: &str) -> Option<&'static (Vec<Found>, Vec<Vec<String>>)> {
    static FOUND: OnceLock<Option<(Vec<Found>, Vec<Vec<String>>)>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let (dir, fixture, identities) = deepface("naming")?;
        Some((find_faces(&dir, &identities, &fixture), identities))
    });
    if found.is_none() {
        eprintln!("{test}: NOT RUN (no DeepFace photos)");
    }
    found.as_ref()
}

#[test]
fn enrolled_pupils_are_named_and_nobody_else_is() {
    let Some((found, identities)) = photos("naming") else { return };
    if let Some(path) = std::env::var_os("FACENET_DUMP_FACES") {
        let faces: Vec<_> = found
            .iter()
            .map(|f| serde_json::json!({"file": f.file, "photo": f.photo, "label": match f.label { Label::Person(p) => p as i64, Label::Stranger => -1 },
                    "facenet": f.plain[0], "facenet512": f.plain[1], "facenet512_flip": f.flipped[1],
                    "box": [f.face.bbox.width, f.face.bbox.height], "score": f.face.score, "landmarks": f.face.landmarks, "sharpness": f.sharpness}))
            .collect();
        std::fs::write(&path, serde_json::to_string(&faces).unwrap()).unwrap();
        eprintln!("naming: {} faces written to {}", faces.len(), PathBuf::from(path).display());
    }
    let strangers = found.iter().filter(|f| f.label == Label::Stranger).count();
    eprintln!(
        "naming: {} faces in {} photos ({strangers} of people not among the 13); {ROUNDS} rounds, {HELD_OUT} people held out in each",
        found.len(),
        found.iter().map(|f| f.photo).max().unwrap() + 1
    );
    eprintln!("| name | vector | threshold | enrolled faces named right | wrong pupil | missed (unsure) | strangers named (of faces) |");
    eprintln!("| --- | --- | --- | --- | --- | --- | --- |");
    for (m, name) in NAMES.iter().enumerate() {
        let shipped = Manifest::facenet().output(name).unwrap().same_person_threshold.unwrap();
        let mut thresholds = vec![0.36, 0.38, 0.40, 0.42, 0.44, shipped];
        thresholds.sort_by(f32::total_cmp);
        thresholds.dedup();
        for flip in [false, true] {
            for &t in &thresholds {
                let vector = |f: &Found| if flip { averaged(&f.plain[m], &f.flipped[m]) } else { f.plain[m].clone() };
                let tally = name_faces(found, identities, vector, t);
                let default = if t == shipped { " (shipped)" } else { "" };
                eprintln!(
                    "| `{name}` | {} | {t:.2}{default} | {:.2} % ({} of {}) | {} | {} ({}) | {} (of {}) |",
                    if flip { "face + mirror, averaged" } else { "face" },
                    100.0 * tally.right_rate(),
                    tally.right,
                    tally.enrolled,
                    tally.wrong,
                    tally.missed,
                    tally.unsure,
                    tally.strangers_named,
                    tally.strangers,
                );
                if t == shipped && !flip {
                    assert!(tally.right_rate() >= 0.97, "{name}: {:.4} named right", tally.right_rate());
                    assert_eq!(tally.wrong, 0, "{name}: faces named as the wrong pupil");
                    assert_eq!(tally.strangers_named, 0, "{name}: strangers named");
                }
            }
        }
    }
}

#[test]
fn galleries_grown_from_confirmed_faces_name_more_over_lessons_and_nobody_wrong() {
    let Some((found, identities)) = photos("galleries") else { return };
    let lessons_shown = identities.iter().map(Vec::len).max().unwrap() - 1;
    eprintln!("galleries over lessons: {ROUNDS} rounds of {lessons_shown} lessons, {HELD_OUT} people held out in each");
    eprint!("| name | gallery (faces per pupil) | taken from |");
    (1..=lessons_shown).for_each(|k| eprint!(" lesson {k} |"));
    eprintln!(" lessons 2–{lessons_shown} named right | wrong pupil | strangers named (of faces) |");
    eprintln!("|{}", " --- |".repeat(lessons_shown + 6));
    for (m, name) in NAMES.iter().enumerate() {
        let threshold = Manifest::facenet().output(name).unwrap().same_person_threshold.unwrap();
        let vector = |f: &Found| f.plain[m].clone();
        let mut baseline = None;
        for (size, named_too) in
            [(0, true), (3, false), (10, false), (1, true), (2, true), (3, true), (5, true), (10, true)]
        {
            let tallies = lessons(found, identities, vector, threshold, size, named_too);
            let mut later = Tally::default();
            tallies[1..].iter().for_each(|t| later.add(t));
            let mut all = Tally::default();
            tallies.iter().for_each(|t| all.add(t));
            let taken = match (size, named_too) {
                (0, _) => "—",
                (_, false) => "the faces the teacher set right",
                (_, true) => "every face the register confirms",
            };
            let shipped = if size == GALLERY_SIZE && named_too { " (shipped)" } else { "" };
            eprint!("| `{name}` | {size}{shipped} | {taken} |");
            tallies.iter().for_each(|t| eprint!(" {:.1} % |", 100.0 * t.right_rate()));
            eprintln!(
                " {:.2} % ({} of {}) | {} | {} (of {}) |",
                100.0 * later.right_rate(),
                later.right,
                later.enrolled,
                all.wrong,
                all.strangers_named,
                all.strangers
            );
            let base = *baseline.get_or_insert(later.right);
            if size == GALLERY_SIZE && named_too {
                assert_eq!(all.wrong, 0, "{name}: a grown gallery named a face as the wrong pupil");
                assert_eq!(all.strangers_named, 0, "{name}: a grown gallery named a stranger");
                assert!(later.right >= base, "{name}: a grown gallery named fewer ({} < {base})", later.right);
            }
        }
    }
}
