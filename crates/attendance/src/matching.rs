//! Who is in each photo: faces matched one-to-one to enrolled people.
//!
//! A person appears at most once in a photo, so the faces of one photo are not assigned to
//! their nearest person independently (two faces could both take the same look-alike): each
//! photo is solved as a minimum-cost matching between its faces and the enrolled people, where
//! leaving a face unknown costs the threshold. A face therefore goes to a person only when
//! that person is nearer than the threshold *and* no better use of that person exists in the
//! same photo.
//!
//! ```text
//! faces × people distances (nearest enrolled crop of each person), threshold 0.42:
//!            Ana   Ben
//!   face 1   0.30  0.35     independent nearest: both faces → Ana
//!   face 2   0.32  0.80     matching: face 1 → Ben, face 2 → Ana: 0.35 + 0.32 = 0.67, less
//!                           than face 1 → Ana with face 2 unknown: 0.30 + 0.42 = 0.72
//! ```
//!
//! Leaving a face unknown costs the threshold, so a second-best person is taken only when the
//! photo as a whole is explained better that way.

use crate::cosine;

/// One face's assignment: the person's index, the distance, and how much nearer that person is
/// than the runner-up (the next nearest person, however far; 2, the farthest a cosine distance
/// goes, when there is none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// Index into the people given to [`match_photo`].
    pub person: usize,
    /// Cosine distance from the face to that person's nearest enrolled crop.
    pub distance: f32,
    /// Runner-up distance − `distance` (≥ 0 unless the matching gave up the nearest person).
    pub margin: f32,
}

/// The runner-up distance when a face has only one person to be compared with.
pub const NO_RUNNER_UP: f32 = 2.0;

/// The distance from `face` to each person: to the nearest of that person's enrolled vectors.
pub fn person_distances(face: &[f32], people: &[Vec<Vec<f32>>]) -> Vec<f32> {
    people.iter().map(|refs| refs.iter().map(|r| 1.0 - cosine(face, r)).fold(f32::INFINITY, f32::min)).collect()
}

/// Matches the faces of one photo to people, one-to-one, within `threshold`.
/// `distances[f][p]`: face `f` to person `p`. Returns one entry per face (`None`: unknown).
/// People in `taken` (already in the photo, e.g. through an enrolled crop) are not matched.
pub fn match_photo(distances: &[Vec<f32>], threshold: f32, taken: &[bool]) -> Vec<Option<Match>> {
    let faces = distances.len();
    let people = distances.first().map_or(0, Vec::len);
    // Square cost matrix: faces × (people + one "unknown" column per face).
    let n = faces.max(people + faces);
    let unknown = threshold as f64;
    let cost = |f: usize, c: usize| -> f64 {
        if f >= faces {
            0.0 // padding rows
        } else if c < people {
            let d = distances[f][c];
            if d <= threshold && d.is_finite() && !taken.get(c).copied().unwrap_or(false) {
                d as f64
            } else {
                // Never better than staying unknown.
                unknown + 1.0
            }
        } else {
            unknown
        }
    };
    let assignment = hungarian(n, cost);
    (0..faces)
        .map(|f| {
            let p = assignment[f];
            if p >= people || !(distances[f][p] <= threshold) || taken.get(p).copied().unwrap_or(false) {
                return None;
            }
            let distance = distances[f][p];
            let runner_up = (0..people)
                .filter(|&q| q != p)
                .map(|q| distances[f][q])
                .filter(|d| d.is_finite())
                .fold(NO_RUNNER_UP, f32::min);
            Some(Match { person: p, distance, margin: runner_up - distance })
        })
        .collect()
}

/// Minimum-cost perfect matching on an `n × n` cost matrix (the Hungarian method with
/// potentials, O(n³)): returns the column of each row.
fn hungarian(n: usize, cost: impl Fn(usize, usize) -> f64) -> Vec<usize> {
    // 1-based potentials u (rows), v (columns); way[j]: previous column on the augmenting path;
    // owner[j]: the row matched to column j (0 = none).
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut owner, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for row in 1..=n {
        owner[0] = row;
        let mut j0 = 0;
        let mut min = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = owner[j0];
            let (mut delta, mut j1) = (f64::INFINITY, 0);
            for j in 1..=n {
                if !used[j] {
                    let reduced = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if reduced < min[j] {
                        min[j] = reduced;
                        way[j] = j0;
                    }
                    if min[j] < delta {
                        delta = min[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[owner[j]] += delta;
                    v[j] -= delta;
                } else {
                    min[j] -= delta;
                }
            }
            j0 = j1;
            if owner[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            owner[j0] = owner[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut column = vec![0; n];
    for j in 1..=n {
        if owner[j] > 0 {
            column[owner[j] - 1] = j - 1;
        }
    }
    column
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_used_once_per_photo() {
        // The example of the module docs: independent nearest would give Ana twice.
        let d = vec![vec![0.30, 0.35], vec![0.32, 0.80]];
        let m = match_photo(&d, 0.42, &[false, false]);
        assert_eq!(m[0].map(|m| m.person), Some(1));
        assert_eq!(m[1].map(|m| m.person), Some(0));
        // Face 1 gave up Ana (0.30) for Ben (0.35): its margin is negative, −0.05.
        assert!((m[0].unwrap().margin + 0.05).abs() < 1e-6);
        // Face 2: runner-up Ben at 0.80, beyond the threshold but counted: 0.80 − 0.32.
        assert!((m[1].unwrap().margin - 0.48).abs() < 1e-6);
        // With Ben farther (0.41), leaving face 2 unknown is cheaper: 0.30 + 0.42 < 0.41 + 0.32.
        let m = match_photo(&[vec![0.30, 0.41], vec![0.32, 0.80]], 0.42, &[false, false]);
        assert_eq!((m[0].map(|m| m.person), m[1]), (Some(0), None));
    }

    #[test]
    fn faces_beyond_the_threshold_or_of_taken_people_stay_unknown() {
        let d = vec![vec![0.50, 0.60], vec![0.20, 0.41]];
        assert_eq!(
            match_photo(&d, 0.42, &[false, false]).iter().map(|m| m.map(|m| m.person)).collect::<Vec<_>>(),
            [None, Some(0)]
        );
        // Ana is in the photo already (an enrolled crop): face 2 goes to Ben at 0.41.
        let m = match_photo(&d, 0.42, &[true, false]);
        assert_eq!((m[0], m[1].map(|m| m.person)), (None, Some(1)));
        assert_eq!(match_photo(&[], 0.42, &[]), []);
        assert_eq!(match_photo(&[vec![], vec![]], 0.42, &[]), [None, None]);
    }

    #[test]
    fn more_faces_than_people_and_the_reverse() {
        // Three faces, one person: only the nearest face gets her.
        let d = vec![vec![0.3], vec![0.1], vec![0.2]];
        let m = match_photo(&d, 0.42, &[false]);
        assert_eq!(m.iter().map(|m| m.is_some()).collect::<Vec<_>>(), [false, true, false]);
        // One face, three people: the nearest.
        let m = match_photo(&[vec![0.4, 0.2, 0.3]], 0.42, &[false; 3]);
        assert_eq!(m[0].map(|m| (m.person, m.margin)), Some((1, 0.3 - 0.2)));
        // One face, one person: the runner-up is the farthest distance there is.
        assert_eq!(match_photo(&[vec![0.25]], 0.42, &[false])[0].map(|m| m.margin), Some(NO_RUNNER_UP - 0.25));
    }

    #[test]
    fn the_matching_is_optimal_on_random_matrices() {
        // Against brute force over all permutations on 5 × 5, seeded.
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f64) / (1u64 << 31) as f64
        };
        for _ in 0..50 {
            let c: Vec<Vec<f64>> = (0..5).map(|_| (0..5).map(|_| next()).collect()).collect();
            let got = hungarian(5, |i, j| c[i][j]);
            let total: f64 = got.iter().enumerate().map(|(i, &j)| c[i][j]).sum();
            let mut best = f64::INFINITY;
            let mut p = [0, 1, 2, 3, 4];
            permutations(&mut p, 0, &mut |p| best = best.min(p.iter().enumerate().map(|(i, &j)| c[i][j]).sum()));
            assert!((total - best).abs() < 1e-9, "{total} vs {best}");
        }
    }

    fn permutations(p: &mut [usize; 5], k: usize, f: &mut impl FnMut(&[usize; 5])) {
        if k == p.len() {
            return f(p);
        }
        for i in k..p.len() {
            p.swap(k, i);
            permutations(p, k + 1, f);
            p.swap(k, i);
        }
    }
}
