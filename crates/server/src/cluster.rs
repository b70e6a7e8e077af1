//! Assignment to enrolled people and clustering of the rest, on cosine distance (1 − cosine).

use facenet_wasm::cosine;

/// The "same person" cosine distance used where the manifest gives none for a model. The
/// shipped manifest gives 0.42 (`facenet`) and 0.40 (`facenet512`), measured on different
/// photos of the same people with aligned crops (models/README.md).
pub const FALLBACK_THRESHOLD: f32 = 0.40;

/// The nearest enrolled person of `vector`: (person id, distance to that person's nearest
/// enrolled crop), or `None` when nobody is enrolled.
pub fn nearest_person(vector: &[f32], enrolled: &[(i64, Vec<f32>)]) -> Option<(i64, f32)> {
    enrolled.iter().map(|(person, v)| (*person, 1.0 - cosine(vector, v))).min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Average-linkage agglomerative clustering: merges the two closest clusters while their mean
/// pairwise distance is at most `threshold`. Returns clusters as lists of indices into
/// `vectors`, largest first, each sorted.
pub fn cluster(vectors: &[Vec<f32>], threshold: f32) -> Vec<Vec<usize>> {
    let n = vectors.len();
    let mut members: Vec<Option<Vec<usize>>> = (0..n).map(|i| Some(vec![i])).collect();
    // Full distance matrix between live clusters; updated by the Lance–Williams formula for
    // average linkage: d(a∪b, c) = (|a| d(a,c) + |b| d(b,c)) / (|a| + |b|).
    let mut d = vec![vec![0f32; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let dist = 1.0 - cosine(&vectors[i], &vectors[j]);
            (d[i][j], d[j][i]) = (dist, dist);
        }
    }
    loop {
        let mut best: Option<(usize, usize, f32)> = None;
        for i in 0..n {
            if members[i].is_none() {
                continue;
            }
            for j in i + 1..n {
                if members[j].is_some() && best.is_none_or(|(_, _, b)| d[i][j] < b) {
                    best = Some((i, j, d[i][j]));
                }
            }
        }
        let Some((a, b, _)) = best.filter(|(_, _, dist)| *dist <= threshold) else { break };
        let (na, nb) = (members[a].as_ref().map_or(0, Vec::len) as f32, members[b].as_ref().map_or(0, Vec::len) as f32);
        for c in 0..n {
            if c != a && c != b && members[c].is_some() {
                let merged = (na * d[a][c] + nb * d[b][c]) / (na + nb);
                (d[a][c], d[c][a]) = (merged, merged);
            }
        }
        let moved = members[b].take().unwrap_or_default();
        members[a].get_or_insert_with(Vec::new).extend(moved);
    }
    let mut clusters: Vec<Vec<usize>> = members.into_iter().flatten().collect();
    clusters.iter_mut().for_each(|c| c.sort_unstable());
    clusters.sort_by(|x, y| y.len().cmp(&x.len()).then(x[0].cmp(&y[0])));
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(angle_deg: f32) -> Vec<f32> {
        let r = angle_deg.to_radians();
        vec![r.cos(), r.sin()]
    }

    #[test]
    fn groups_close_vectors_and_keeps_far_ones_apart() {
        // Two tight groups around 0° and 90°, and one loner at 200°. cos 10° = 0.985 (distance
        // 0.015); between the groups distance 1 − cos 80..100° ≈ 1.
        let v = [unit(0.0), unit(90.0), unit(5.0), unit(95.0), unit(10.0), unit(200.0)];
        assert_eq!(cluster(&v, 0.1), vec![vec![0, 2, 4], vec![1, 3], vec![5]]);
        assert_eq!(cluster(&v, 0.0001), (0..6).map(|i| vec![i]).collect::<Vec<_>>());
        assert_eq!(cluster(&[], 0.3), Vec::<Vec<usize>>::new());
    }

    #[test]
    fn nearest_person_takes_the_closest_enrolled_crop() {
        let enrolled = [(1, unit(0.0)), (2, unit(90.0)), (2, unit(60.0))];
        let (person, distance) = nearest_person(&unit(50.0), &enrolled).unwrap();
        assert_eq!(person, 2);
        assert!((distance - (1.0 - 10f32.to_radians().cos())).abs() < 1e-6);
        assert_eq!(nearest_person(&unit(0.0), &[]), None);
    }
}
