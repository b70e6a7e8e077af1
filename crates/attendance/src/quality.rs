//! How far a face can be trusted, from what the pipeline already knows of it: its size in the
//! photo, the detector's confidence, its pose read from the five landmarks, and the sharpness of
//! its crop. A [`Quality::is_poor`] face is one FaceNet is known to lose or misname (calibrated
//! below); the register shows such faces as *unsure* (`match_session`) and enrolment refuses them
//! with their [`Concern`]s.
//!
//! ```text
//! landmarks: left eye L, right eye R, nose N, mouth corners ML, MR (image left/right)
//!   eye mid E = (L+R)/2, mouth mid M = (ML+MR)/2, the face's axis E→M, eye distance |R−L|
//!   yaw   = N's offset across the axis / |R−L|     0 frontal, ~0.5 the nose past an eye (a profile)
//!   pitch = N's position along the axis, E=0 M=1   ~0.55 level; low: looking up, high: down
//! sharpness = variance of the crop's Laplacian (grey)
//! each of size, score, yaw, pitch and sharpness → 0–1 (1 good, 0.5 at its limit, 0 far beyond);
//! the score is the least of them, and a face is poor below 0.5
//! ```
//!
//! Size and sharpness are calibrated by tests/quality.rs (DeepFace's portraits shrunk and blurred
//! against their people enrolled at full size): named right 50 % at 20 px, 77 % at 24, 96 % at
//! 28, 98 % at 32; blurred to sharpness ≤ 8 (σ 2.5 px at 80 px) 52 % and wrong pupils appear.
//! Pose and score have no failing faces in the photos we have: their limits lie outside every
//! face of the 13 identities (yaw ≤ 0.19, pitch 0.40–0.81, score ≥ 0.997) and take out profiles
//! and the detector's least sure finds.

/// Where and how sure the detector found a face, as a backend stores it (box and landmarks in
/// the photo's pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// The box's width.
    pub width: f32,
    /// The box's height.
    pub height: f32,
    /// The detector's score, 0–1, when known.
    pub score: Option<f32>,
    /// The five landmarks `[x, y]` (eyes, nose, mouth corners; image left then right), when known.
    pub landmarks: Option<[[f32; 2]; 5]>,
    /// The crop's [`sharpness`], when known.
    pub sharpness: Option<f32>,
}

/// One reason a face is poor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Concern {
    /// Fewer pixels than [`SMALL_PIXELS`] across the face.
    Small,
    /// A detector score under [`FAINT_SCORE`].
    Faint,
    /// Turned sideways beyond [`TURNED_YAW`].
    Turned,
    /// Looking up or down beyond [`TILTED_PITCH`].
    Tilted,
    /// A crop's [`sharpness`] under [`BLURRED_SHARPNESS`].
    Blurred,
}

impl Concern {
    /// Every concern, in order.
    pub const ALL: [Concern; 5] = [Concern::Small, Concern::Faint, Concern::Turned, Concern::Tilted, Concern::Blurred];

    /// The code both backends answer with (`small_face`, …).
    pub fn code(self) -> &'static str {
        match self {
            Concern::Small => "small_face",
            Concern::Faint => "faint_face",
            Concern::Turned => "turned_face",
            Concern::Tilted => "tilted_face",
            Concern::Blurred => "blurred_face",
        }
    }

    /// What a teacher reads.
    pub fn describe(self) -> &'static str {
        match self {
            Concern::Small => "the face is small in the photo",
            Concern::Faint => "the detector was not sure it is a face",
            Concern::Turned => "the face is turned sideways",
            Concern::Tilted => "the face looks up or down",
            Concern::Blurred => "the face is blurred",
        }
    }
}

/// The limits (each scores 0.5; see the module docs). A face's shorter box side under this many
/// pixels is small.
pub const SMALL_PIXELS: f32 = 28.0;
/// A detector score under this is faint.
pub const FAINT_SCORE: f32 = 0.75;
/// A crop's [`sharpness`] under this is blurred.
pub const BLURRED_SHARPNESS: f32 = 9.0;
/// A yaw (see the module docs) beyond this is turned.
pub const TURNED_YAW: f32 = 0.45;
/// A pitch this far from [`LEVEL_PITCH`] (either way) is tilted.
pub const TILTED_PITCH: f32 = 0.35;
/// The pitch of a level face (the identities' median is 0.56).
pub const LEVEL_PITCH: f32 = 0.55;

/// A face's quality: its features, their least score, and what makes it poor.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// The least of the features' scores, 0–1; a face under 0.5 is poor.
    pub score: f32,
    /// The shorter side of its box, in pixels.
    pub pixels: f32,
    /// Yaw and pitch from the landmarks (`None` without them).
    pub pose: Option<(f32, f32)>,
    /// Why it is poor (empty when it is not), in the order of [`Concern`].
    pub concerns: Vec<Concern>,
}

impl Quality {
    /// Whether the face is too poor to be named, or enrolled, without a person's look.
    pub fn is_poor(&self) -> bool {
        !self.concerns.is_empty()
    }
}

/// A feature's score: 1 at or past `good`, 0.5 at `limit`, 0 at or past `limit − (good − limit)`,
/// linear between (the features where larger is better; pass negated values for the others).
fn graded(value: f32, limit: f32, good: f32) -> f32 {
    let span = good - limit;
    (0.5 + 0.5 * (value - limit) / span).clamp(0.0, 1.0)
}

/// How sharp a grey image is: the variance of its Laplacian (4-neighbour), over the inner pixels.
/// `grey` holds `width × height` bytes, row by row; `None` when it is smaller than 3 × 3 or the
/// lengths disagree. Calibrated on the page's crops (160 × 160 JPEG, quality 92): a face that
/// fills the crop scores ~100–400, a blurred one under ~[`BLURRED_SHARPNESS`].
pub fn sharpness(grey: &[u8], width: usize, height: usize) -> Option<f32> {
    if width < 3 || height < 3 || grey.len() != width * height {
        return None;
    }
    let at = |x: usize, y: usize| f64::from(grey[y * width + x]);
    let (mut sum, mut sum2, mut n) = (0.0, 0.0, 0.0);
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let v = at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y);
            sum += v;
            sum2 += v * v;
            n += 1.0;
        }
    }
    let mean = sum / n;
    Some((sum2 / n - mean * mean) as f32)
}

/// [`sharpness`] of RGB pixels (`width × height × 3` bytes, row by row), in the grey both
/// backends read a crop in: ITU-R 601 luma, `(19595 R + 38470 G + 7471 B + 2¹⁵) >> 16`, as
/// Pillow's `convert("L")` computes it.
pub fn rgb_sharpness(rgb: &[u8], width: usize, height: usize) -> Option<f32> {
    if rgb.len() != width * height * 3 {
        return None;
    }
    let grey: Vec<u8> = rgb
        .chunks_exact(3)
        .map(|p| ((19595 * u32::from(p[0]) + 38470 * u32::from(p[1]) + 7471 * u32::from(p[2]) + 0x8000) >> 16) as u8)
        .collect();
    sharpness(&grey, width, height)
}

/// Yaw and pitch of five landmarks (see the module docs); `None` when the eyes coincide.
pub fn pose(landmarks: &[[f32; 2]; 5]) -> Option<(f32, f32)> {
    let [l, r, n, ml, mr] = landmarks;
    let eyes = [(l[0] + r[0]) / 2.0, (l[1] + r[1]) / 2.0];
    let mouth = [(ml[0] + mr[0]) / 2.0, (ml[1] + mr[1]) / 2.0];
    let between = ((r[0] - l[0]).powi(2) + (r[1] - l[1]).powi(2)).sqrt();
    let axis = [mouth[0] - eyes[0], mouth[1] - eyes[1]];
    let length2 = axis[0] * axis[0] + axis[1] * axis[1];
    if !(between > 0.0 && length2 > 0.0) {
        return None;
    }
    let nose = [n[0] - eyes[0], n[1] - eyes[1]];
    let along = (nose[0] * axis[0] + nose[1] * axis[1]) / length2;
    let across = (nose[0] * axis[1] - nose[1] * axis[0]).abs() / length2.sqrt();
    Some((across / between, along))
}

/// The quality of a face found as `geometry` describes.
///
/// ```
/// use facenet_attendance::quality::{assess, Concern, Geometry};
/// // A frontal face 120 px wide, found with 0.99.
/// let frontal = [[40.0, 50.0], [80.0, 50.0], [60.0, 72.0], [45.0, 95.0], [75.0, 95.0]];
/// let face = Geometry { width: 120.0, height: 150.0, score: Some(0.99), landmarks: Some(frontal), sharpness: Some(150.0) };
/// assert!(!assess(&face).is_poor());
/// // The same face 24 px wide, its nose past the right eye.
/// let turned = frontal.map(|[x, y]| [x / 4.0, y / 4.0]);
/// let mut turned_nose = turned;
/// turned_nose[2][0] = 21.0;
/// let far = Geometry { width: 24.0, height: 30.0, score: Some(0.99), landmarks: Some(turned_nose), sharpness: None };
/// assert_eq!(assess(&far).concerns, [Concern::Small, Concern::Turned]);
/// ```
pub fn assess(geometry: &Geometry) -> Quality {
    let pixels = geometry.width.min(geometry.height);
    let pose = geometry.landmarks.as_ref().and_then(pose);
    let mut scores = vec![(Concern::Small, graded(pixels, SMALL_PIXELS, 2.0 * SMALL_PIXELS))];
    if let Some(score) = geometry.score {
        scores.push((Concern::Faint, graded(score, FAINT_SCORE, 0.95)));
    }
    if let Some((yaw, pitch)) = pose {
        scores.push((Concern::Turned, graded(-yaw, -TURNED_YAW, -0.15)));
        scores.push((Concern::Tilted, graded(-(pitch - LEVEL_PITCH).abs(), -TILTED_PITCH, -0.15)));
    }
    if let Some(sharp) = geometry.sharpness {
        scores.push((Concern::Blurred, graded(sharp, BLURRED_SHARPNESS, 2.0 * BLURRED_SHARPNESS)));
    }
    let score = scores.iter().map(|(_, s)| *s).fold(1.0, f32::min);
    let concerns = scores.iter().filter(|(_, s)| *s < 0.5).map(|(c, _)| *c).collect();
    Quality { score, pixels, pose, concerns }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRONTAL: [[f32; 2]; 5] = [[40.0, 50.0], [80.0, 50.0], [60.0, 72.0], [45.0, 95.0], [75.0, 95.0]];

    #[test]
    fn a_frontal_face_has_no_yaw_and_its_nose_halfway() {
        let (yaw, pitch) = pose(&FRONTAL).unwrap();
        assert!(yaw.abs() < 1e-6 && (pitch - 22.0 / 45.0).abs() < 1e-6, "{yaw} {pitch}");
        // Rolled by 90°: the same pose.
        let rolled = FRONTAL.map(|[x, y]| [-y, x]);
        let (y2, p2) = pose(&rolled).unwrap();
        assert!((y2 - yaw).abs() < 1e-5 && (p2 - pitch).abs() < 1e-5);
        // Eyes on one point: no pose.
        assert_eq!(pose(&[[1.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 3.0], [2.0, 3.0]]), None);
    }

    #[test]
    fn sharpness_is_the_laplacians_variance_in_601_grey() {
        // A flat image: 0; under 3 × 3: none.
        assert_eq!(sharpness(&[7; 16], 4, 4), Some(0.0));
        assert_eq!(sharpness(&[0; 4], 2, 2), None);
        // Stripes of 0 and 100 across 4 × 3: Laplacians ±200 at the two inner pixels, variance 40000.
        assert_eq!(sharpness(&[0, 100, 0, 100, 0, 100, 0, 100, 0, 100, 0, 100], 4, 3), Some(40000.0));
        // Pure red 255 is grey 76, as in Pillow: Laplacians ±152.
        let red_stripes: Vec<u8> = (0..12).flat_map(|i| if i % 2 == 1 { [255, 0, 0] } else { [0, 0, 0] }).collect();
        assert_eq!(rgb_sharpness(&red_stripes, 4, 3), Some((2.0f32 * 76.0).powi(2)));
        assert_eq!(rgb_sharpness(&red_stripes, 4, 4), None);
    }

    #[test]
    fn each_feature_past_its_limit_is_its_concern() {
        let face = |width: f32, score: Option<f32>, landmarks: Option<[[f32; 2]; 5]>| Geometry {
            width,
            height: width * 1.2,
            score,
            landmarks,
            sharpness: None,
        };
        let good = assess(&face(120.0, Some(0.99), Some(FRONTAL)));
        assert_eq!((good.score, good.concerns.as_slice()), (1.0, &[][..]));
        assert_eq!(assess(&face(SMALL_PIXELS - 1.0, None, None)).concerns, [Concern::Small]);
        assert_eq!(assess(&face(SMALL_PIXELS, None, None)).score, 0.5);
        assert_eq!(assess(&face(120.0, Some(0.5), None)).concerns, [Concern::Faint]);
        let mut up = FRONTAL;
        up[2][1] = 55.0; // the nose near the eyes' line: pitch 0.11
        assert_eq!(assess(&face(120.0, None, Some(up))).concerns, [Concern::Tilted]);
        let mut side = FRONTAL;
        side[2][0] = 80.0; // the nose under the right eye: yaw 0.5
        assert_eq!(assess(&face(120.0, None, Some(side))).concerns, [Concern::Turned]);
        // The score is the least feature's, graded between limit and good.
        let q = assess(&face(42.0, Some(0.99), Some(FRONTAL)));
        assert!((q.score - 0.75).abs() < 1e-6 && !q.is_poor(), "{q:?}");
        let blurred = Geometry { sharpness: Some(5.0), ..face(120.0, None, None) };
        assert_eq!(assess(&blurred).concerns, [Concern::Blurred]);
    }
}
