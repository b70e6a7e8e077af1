//! Where a face becomes too poor to name: DeepFace's portraits shrunk and blurred until FaceNet
//! loses them, measured against their people enrolled from full-size photos — the calibration of
//! `facenet_attendance::quality`'s limits (models/README.md, "Face quality").
//!
//! ```text
//! every person of the 13 enrolled from their first photo, at full size;
//! each of their other photos shrunk so the face is S px across (S = 20 … 80), and, at 80 px,
//!   blurred (Gaussian σ in px of the shrunk photo), detected again, the subject's face embedded
//!   and matched alone against the 13 (facenet_attendance::match_session, shipped threshold):
//!   right · wrong · missed · not found, per size and blur; and what quality::assess says of it
//!   (the register itself, which leaves poor faces and close calls unsure, names nobody wrong)
//! ```
//!
//! `FACENET_SHOW_SHARPNESS=1` also prints each face's crop sharpness.
//!
//! cargo test --release --test quality -- --nocapture

mod common;
use common::*;
use facenet_attendance::quality::{assess, Geometry};
use facenet_attendance::{match_session, Face, Reference};
use facenet_wasm::{align_face, decode_image, Alignment, Detector, Embedder, Limits, Manifest};
use image::RgbImage;

/// The subject of a portrait: the detector's most confident face, its vector and geometry (with
/// its crop's sharpness as a backend reads it).
fn subject(detector: &mut Detector, embedder: &mut Embedder, photo: &RgbImage) -> Option<(Vec<f32>, Geometry)> {
    let faces = detector.detect_rgb(photo).unwrap();
    let face = faces.into_iter().next()?;
    let crop = align_face(photo, &face, Alignment::FivePoint, 160, 160)?;
    let geometry = Geometry {
        width: face.bbox.width,
        height: face.bbox.height,
        score: Some(face.score),
        landmarks: Some(face.landmarks),
        sharpness: Some(crop_sharpness(&crop)),
    };
    Some((embedder.embed_rgb(&crop).unwrap().vector, geometry))
}

#[derive(Default)]
struct Tally {
    faces: usize,
    right: usize,
    wrong: usize,
    missed: usize,
    lost: usize,
    poor: usize,
    poor_of_named_right: usize,
    sharpness: Vec<(f32, bool)>,
    wrong_not_poor: usize,
    registered_wrong: usize,
}

#[test]
fn faces_are_poor_where_facenet_loses_them() {
    let Some((dir, _, identities)) = deepface("quality") else { return };
    let mut detector = detector();
    let mut embedder = embedder("facenet");
    let threshold = Manifest::facenet().output("facenet").unwrap().same_person_threshold.unwrap();
    let photo = |file: &str| decode_image(&std::fs::read(dir.join(file)).unwrap(), &Limits::default()).unwrap();
    let people: Vec<i64> = (0..identities.len() as i64).collect();
    let references: Vec<Reference> = identities
        .iter()
        .enumerate()
        .map(|(p, files)| Reference {
            person_id: p as i64,
            vector: subject(&mut detector, &mut embedder, &photo(&files[0])).unwrap().0,
        })
        .collect();
    // (size, blur σ) → tally
    let sizes = [20.0, 24.0, 28.0, 40.0, 80.0];
    let blurs = [1.5, 2.5];
    let cases: Vec<(f32, f32)> = sizes.iter().map(|&s| (s, 0.0)).chain(blurs.iter().map(|&b| (80.0, b))).collect();
    let mut tallies: Vec<Tally> = cases.iter().map(|_| Tally::default()).collect();
    for (p, files) in identities.iter().enumerate() {
        for file in &files[1..] {
            let full = photo(file);
            let Some((_, g)) = subject(&mut detector, &mut embedder, &full) else { continue };
            for (&(size, sigma), tally) in cases.iter().zip(&mut tallies) {
                let scale = size / g.width.min(g.height);
                if scale >= 1.0 {
                    continue;
                }
                let (w, h) = ((full.width() as f32 * scale) as u32, (full.height() as f32 * scale) as u32);
                let mut small =
                    image::imageops::resize(&full, w.max(1), h.max(1), image::imageops::FilterType::Triangle);
                if sigma > 0.0 {
                    small = image::imageops::blur(&small, sigma);
                }
                tally.faces += 1;
                let Some((vector, geometry)) = subject(&mut detector, &mut embedder, &small) else {
                    tally.lost += 1;
                    continue;
                };
                let face = Face {
                    crop_id: 0,
                    photo_id: None,
                    person_id: None,
                    verdict: None,
                    vector,
                    geometry: Some(geometry),
                };
                let decision = match_session(vec![face], &people, references.clone(), threshold).decisions[0];
                // What FaceNet alone names (a face alone has no rival in its photo: the same
                // matching in either round); the register names only `decision.person_id`.
                let named = decision.person_id.or(decision.unsure.map(|u| u.person_id));
                tally.registered_wrong += usize::from(decision.person_id.is_some_and(|n| n != p as i64));
                let poor = assess(&geometry).is_poor();
                tally.poor += usize::from(poor);
                tally.sharpness.push((geometry.sharpness.unwrap(), named == Some(p as i64)));
                match named {
                    Some(n) if n == p as i64 => {
                        tally.right += 1;
                        tally.poor_of_named_right += usize::from(poor);
                    }
                    Some(_) => {
                        tally.wrong += 1;
                        tally.wrong_not_poor += usize::from(!poor);
                    }
                    None => tally.missed += 1,
                }
            }
        }
    }
    eprintln!("| face across | blur σ | faces | named right | wrong pupil | missed | not found | poor (of them named right) |");
    eprintln!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (&(size, sigma), t) in cases.iter().zip(&tallies) {
        eprintln!(
            "| {size} px | {sigma} | {} | {:.1} % | {} | {} | {} | {} ({}) |",
            t.faces,
            100.0 * t.right as f64 / t.faces as f64,
            t.wrong,
            t.missed,
            t.lost,
            t.poor,
            t.poor_of_named_right
        );
        if std::env::var_os("FACENET_SHOW_SHARPNESS").is_some() {
            let mut s = t.sharpness.clone();
            s.sort_by(|a, b| a.0.total_cmp(&b.0));
            let shown: Vec<String> =
                s.iter().map(|(x, right)| format!("{x:.0}{}", if *right { "" } else { "✗" })).collect();
            eprintln!("  sharpness (✗: not named right): {}", shown.join(" "));
        }
    }
    // The calibration's claims: no pupil is named wrong from a face that is not poor; faces that
    // are not poor are named right ≥ 95 %; and a clean face of 40 px or more is never poor.
    let not_poor: usize = tallies.iter().map(|t| t.faces - t.lost - t.poor).sum();
    let right_not_poor: usize = tallies.iter().map(|t| t.right - t.poor_of_named_right).sum();
    eprintln!("faces not poor: {not_poor}, named right {:.1} %", 100.0 * right_not_poor as f64 / not_poor as f64);
    assert_eq!(
        tallies.iter().map(|t| t.wrong_not_poor).sum::<usize>(),
        0,
        "a face not poor was named as the wrong pupil"
    );
    assert_eq!(
        tallies.iter().map(|t| t.registered_wrong).sum::<usize>(),
        0,
        "the register (poor faces and close calls unsure) named a wrong pupil"
    );
    assert!(
        right_not_poor as f64 >= 0.95 * not_poor as f64,
        "{right_not_poor} of {not_poor} faces not poor named right"
    );
    for (&(size, sigma), t) in cases.iter().zip(&tallies) {
        if size >= 40.0 && sigma == 0.0 {
            assert_eq!(t.poor, 0, "{size} px: clean faces called poor");
        }
    }
}
