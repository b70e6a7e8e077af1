//! The attendance domain, written once: what a lesson's faces mean for its register. No SQL,
//! HTTP, async or model here — the backends (facenet-server today) read their store, call this,
//! and answer; a rule changed here changes for every backend.
//!
//! ```text
//! a lesson's faces: (crop, photo, enrolled as?, vector)   the references: (person, vector)
//!   → match_session    one-to-one per photo, within the threshold (matching.rs); poor faces
//!                      (quality.rs) and close calls (MIN_MARGIN) unsure, not counted
//!   (the references: enrolled faces + gallery::grow, the most recent faces teachers confirmed)
//!   → cluster_unknown  the faces matched to nobody, average linkage (cluster.rs)
//!   → register         every pupil of the roster with their mark: the faces', or the teacher's by hand
//!   → register_csv     one row per pupil, formula-safe, UTF-8 with a BOM
//! a pupil's consent history → consent::standing: only `given` lets their face be enrolled or matched
//! retention::Schedule: how long faces, photos and enrolment faces are kept (the defaults, the notice,
//!   when a pupil enrols again)
//! audit::audit_csv: the audit log as a spreadsheet
//! quality::assess: a face's quality (size, detector score, pose, sharpness) and why it is poor
//! a posted vector → vector::validate: the served model, version, dimension, finite, unit norm
//! finalised registers' marks over a range
//!   → class_report     pupils × lessons, counts and rate (report.rs); report_csv
//!   → Counts::of       a pupil's history: counts and rate
//! ```
//!
//! ```
//! use facenet_attendance::{match_session, register, Face, Reference};
//!
//! let (ana, ben) = (1, 2);
//! let references = vec![Reference { person_id: ana, vector: vec![1.0, 0.0] }, Reference { person_id: ben, vector: vec![0.0, 1.0] }];
//! // One photo, two faces: one near Ana, one far from everybody.
//! let faces = vec![
//!     Face { crop_id: 10, photo_id: Some(7), person_id: None, verdict: None, vector: vec![0.99, 0.1], geometry: None },
//!     Face { crop_id: 11, photo_id: Some(7), person_id: None, verdict: None, vector: vec![-1.0, 0.0], geometry: None },
//! ];
//! let matched = match_session(faces, &[ana, ben], references, 0.42);
//! assert_eq!(matched.decisions[0].person_id, Some(ana));
//! assert_eq!(matched.unknown.len(), 1);
//! let lines = register(&[(ana, "Ana".into()), (ben, "Ben".into())], &matched.decisions, &[]);
//! assert!(lines[0].present && !lines[1].present);
//! ```

mod assignment;
pub mod audit;
pub mod cluster;
pub mod consent;
pub mod gallery;
mod mark;
pub mod matching;
pub mod quality;
mod register;
pub mod report;
pub mod retention;
pub mod stored_image;
pub mod time;
pub mod vector;

pub use assignment::{
    cluster_unknown, match_session, Decision, Doubt, Face, Matched, Reference, Unsure, Verdict, MIN_MARGIN,
};
pub use mark::Mark;
pub use register::{csv_field, register, register_csv, RosterLine, BOM};

/// Cosine similarity of two vectors; distances here are `1 − cosine`. The same arithmetic, in
/// the same order, as the core's `facenet_wasm::cosine`, so that a backend's distances equal the
/// ones the core's tests compute.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}
