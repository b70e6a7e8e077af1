//! Lessons with known people, from DeepFace's multi-photo identities (serengil/deepface, MIT,
//! `tests/unit/dataset/`, 13 people): nine enrolled from one photo each, four never enrolled.
//! Each lesson has two classroom-like photos composed from *other* photos of the people present
//! (their faces pasted on a canvas), some enrolled people left out, and unknown people in both
//! photos. Through the real path — detect, align, embed, match one-to-one per photo, cluster
//! the unknown — the register must mark every present person present, no absent one present,
//! and group each unknown person into one cluster. Also prints what independent
//! nearest-person assignment would have done on the same faces.
//!
//! The photos are not in this repository (see tests/deepface.rs in the core): read from
//! `$FACENET_DEEPFACE_DIR` or `../shared/datasets/deepface/`; without them the test says so.
//!
//! cargo test --release --workspace --test lessons -- --nocapture   (the workspace's features: no second tract build)

use facenet_attendance::{cluster, matching};
use facenet_wasm::{align_face, decode_image, Alignment, Detector, DetectorManifest, Embedder, Limits, Manifest};
use image::imageops::{self, FilterType};
use image::RgbImage;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dataset() -> Option<PathBuf> {
    let candidates =
        [std::env::var_os("FACENET_DEEPFACE_DIR").map(PathBuf::from), Some(root().join("../shared/datasets/deepface"))];
    candidates.into_iter().flatten().find(|p| p.join("img1.jpg").is_file())
}

/// The region around a photo's most confident face, scaled so the face box is `face` px wide.
fn face_region(detector: &mut Detector, photo: &RgbImage, face: u32) -> RgbImage {
    let f = detector.detect_rgb(photo).unwrap().into_iter().next().expect("a face");
    let b = f.bbox;
    let (x0, y0) = ((b.x - 0.5 * b.width).max(0.0) as u32, (b.y - 0.5 * b.height).max(0.0) as u32);
    let (x1, y1) =
        (((b.x + 1.5 * b.width) as u32).min(photo.width()), ((b.y + 1.5 * b.height) as u32).min(photo.height()));
    let region = imageops::crop_imm(photo, x0, y0, x1 - x0, y1 - y0).to_image();
    let scale = face as f32 / b.width;
    imageops::resize(
        &region,
        ((x1 - x0) as f32 * scale) as u32,
        ((y1 - y0) as f32 * scale) as u32,
        FilterType::Triangle,
    )
}

/// A 1600×900 classroom-like photo: the regions on a gray wall, on a grid.
fn compose(regions: &[&RgbImage]) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(1600, 900, image::Rgb([118, 112, 104]));
    for (k, region) in regions.iter().enumerate() {
        let (x, y) = (20 + (k % 6) as i64 * 262, 20 + (k / 6) as i64 * 290);
        imageops::overlay(&mut canvas, *region, x, y);
    }
    canvas
}

#[test]
fn the_register_of_composed_lessons_is_right() {
    let Some(dir) = dataset() else {
        eprintln!("lessons: NOT RUN — the DeepFace photos are not here (set FACENET_DEEPFACE_DIR, or lay them at ../shared/datasets/deepface/)");
        return;
    };
    let fixture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("tests/golden/deepface-identities.json")).unwrap()).unwrap();
    let identities: Vec<Vec<String>> = serde_json::from_value(fixture["identities"].clone()).unwrap();
    let read = |p: &str| std::fs::read(root().join(p)).unwrap();
    let mut detector =
        Detector::builder(read("models/retinaface.onnx"), DetectorManifest::retinaface()).build().unwrap();
    let mut embedder = Embedder::builder(read("models/facenet.onnx"), Manifest::facenet()).build().unwrap();
    let threshold = Manifest::facenet().output("facenet").unwrap().same_person_threshold.unwrap();
    let photo = |file: &str| decode_image(&std::fs::read(dir.join(file)).unwrap(), &Limits::default()).unwrap();
    let embed_faces = |detector: &mut Detector, embedder: &mut Embedder, image: &RgbImage| -> Vec<Vec<f32>> {
        let faces = detector.detect_rgb(image).unwrap();
        faces
            .iter()
            .map(|f| embedder.embed_rgb(&align_face(image, f, Alignment::FivePoint, 160, 160).unwrap()).unwrap().vector)
            .collect()
    };

    // Nine people enrolled from their first photo; four (9–12) never enrolled.
    let enrolled: Vec<Vec<Vec<f32>>> = identities[..9]
        .iter()
        .map(|files| {
            let image = photo(&files[0]);
            vec![embed_faces(&mut detector, &mut embedder, &image).into_iter().next().expect("a face")]
        })
        .collect();
    // Each photo's face region is cut once (decode, detect, crop, scale), however many lessons
    // and lesson photos paste it.
    let mut cut: BTreeMap<String, RgbImage> = BTreeMap::new();
    let mut pastes = 0;
    // Lessons: (enrolled people present, unknown people present); each person's two other photos
    // go one to each of the lesson's two photos (or the same other photo twice if there is one).
    let lessons: [(&[usize], &[usize]); 3] =
        [(&[0, 1, 2, 3, 4, 5], &[9, 10]), (&[3, 4, 5, 6, 7, 8], &[11, 12]), (&[0, 2, 4, 6, 8], &[9, 12])];
    let (mut right, mut missed, mut false_present, mut nearest_false, mut unknown_ok) = (0, 0, 0, 0, 0);
    for (l, (present, strangers)) in lessons.iter().enumerate() {
        let mut photos = [Vec::new(), Vec::new()];
        let mut truth = [Vec::new(), Vec::new()]; // identity of each pasted face, in order
        for &person in present.iter().chain(strangers.iter()) {
            // Never the enrollment photo (files[0]); the two photos of a lesson take two others
            // where the person has them.
            let others = &identities[person][1..];
            for (p, file) in [&others[l % others.len()], &others[(l + 1) % others.len()]].into_iter().enumerate() {
                let region = cut.entry(file.clone()).or_insert_with(|| face_region(&mut detector, &photo(file), 100));
                photos[p].push(region.clone());
                pastes += 1;
                truth[p].push(person);
            }
        }
        let mut marked: BTreeSet<usize> = BTreeSet::new();
        let mut nearest_marked: BTreeSet<usize> = BTreeSet::new();
        let mut unknown_vectors = Vec::new();
        let mut unknown_truth = Vec::new();
        for p in 0..2 {
            let regions: Vec<&RgbImage> = photos[p].iter().collect();
            let composed = compose(&regions);
            let faces = detector.detect_rgb(&composed).unwrap();
            assert_eq!(faces.len(), regions.len(), "lesson {l}, photo {p}: every pasted face found");
            let vectors: Vec<Vec<f32>> = faces
                .iter()
                .map(|f| {
                    embedder
                        .embed_rgb(&align_face(&composed, f, Alignment::FivePoint, 160, 160).unwrap())
                        .unwrap()
                        .vector
                })
                .collect();
            // Which pasted face each detection is: the grid cell its centre falls in.
            let cell = |f: &facenet_wasm::Face| {
                let (cx, cy) = (f.bbox.x + f.bbox.width / 2.0, f.bbox.y + f.bbox.height / 2.0);
                ((cx as i64 - 20) / 262 + 6 * ((cy as i64 - 20) / 290)) as usize
            };
            let distances: Vec<Vec<f32>> = vectors.iter().map(|v| matching::person_distances(v, &enrolled)).collect();
            let matched = matching::match_photo(&distances, threshold, &vec![false; enrolled.len()]);
            for (k, found) in matched.iter().enumerate() {
                let who = truth[p][cell(&faces[k])];
                match found {
                    Some(m) => {
                        marked.insert(m.person);
                    }
                    None => {
                        unknown_vectors.push(vectors[k].clone());
                        unknown_truth.push(who);
                    }
                }
                let nearest =
                    distances[k].iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).filter(|(_, d)| **d <= threshold);
                if let Some((person, _)) = nearest {
                    nearest_marked.insert(person);
                }
            }
        }
        let should: BTreeSet<usize> = present.iter().copied().collect();
        right += should.intersection(&marked).count();
        missed += should.difference(&marked).count();
        false_present += marked.difference(&should).count();
        nearest_false += nearest_marked.difference(&should).count();
        // Unknown faces: one cluster per stranger (and no enrolled person's face among them).
        let clusters = cluster::cluster(&unknown_vectors, threshold);
        let mut by_cluster: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (c, members) in clusters.iter().enumerate() {
            for &m in members {
                by_cluster.entry(c).or_default().insert(unknown_truth[m]);
            }
        }
        let pure = by_cluster.values().all(|people| people.len() == 1);
        let one_each = strangers
            .iter()
            .all(|s| clusters.iter().filter(|c| c.iter().any(|&m| unknown_truth[m] == *s)).count() == 1);
        if pure && one_each && clusters.len() == strangers.len() {
            unknown_ok += 1;
        }
        eprintln!(
            "lesson {l}: {} enrolled present → marked {:?}; strangers {:?} → {} clusters {:?}",
            present.len(),
            marked,
            strangers,
            clusters.len(),
            by_cluster.values().collect::<Vec<_>>()
        );
    }
    eprintln!("{pastes} faces pasted into the lesson photos, cut from {} distinct photos", cut.len());
    eprintln!(
        "3 lessons: {right} present people marked present, {missed} missed, {false_present} absent people marked present \
         (independent nearest person: {nearest_false}); unknown people grouped one cluster each in {unknown_ok} of 3 lessons"
    );
    assert_eq!((missed, false_present), (0, 0));
    assert_eq!(unknown_ok, 3);
}
