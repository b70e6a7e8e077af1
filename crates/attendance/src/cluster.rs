//! Assignment to enrolled people and clustering of the rest, on cosine distance (1 − cosine).

use crate::cosine;

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
///
/// kodama (Müllner's algorithms) builds the dendrogram in O(n²) time from the condensed
/// distance matrix (n·(n − 1)/2 f32: 200 MB at 10,000 vectors); average linkage never merges
/// at a smaller distance than an earlier merge, so the clusters are the merges up to `threshold`.
pub fn cluster<V: AsRef<[f32]>>(vectors: &[V], threshold: f32) -> Vec<Vec<usize>> {
    let n = vectors.len();
    if n < 2 {
        return (0..n).map(|i| vec![i]).collect();
    }
    let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let d = 1.0 - cosine(vectors[i].as_ref(), vectors[j].as_ref());
            condensed.push(if d.is_finite() { d } else { 2.0 });
        }
    }
    let dendrogram = kodama::linkage(&mut condensed, n, kodama::Method::Average);
    drop(condensed);
    // Cluster labels: 0..n are the vectors, n + k the cluster made at step k.
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for step in dendrogram.steps() {
        if step.dissimilarity > threshold {
            break;
        }
        let mut merged = std::mem::take(&mut members[step.cluster1]);
        merged.append(&mut members[step.cluster2]);
        members.push(merged);
    }
    let mut clusters: Vec<Vec<usize>> = members.into_iter().filter(|m| !m.is_empty()).collect();
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
        assert_eq!(cluster::<Vec<f32>>(&[], 0.3), Vec::<Vec<usize>>::new());
    }

    /// The textbook algorithm, O(n³): merge the closest pair while ≤ threshold, distances
    /// updated by Lance–Williams, d(a∪b, c) = (|a| d(a,c) + |b| d(b,c)) / (|a| + |b|).
    fn reference(vectors: &[Vec<f32>], threshold: f32) -> Vec<Vec<usize>> {
        let n = vectors.len();
        let mut members: Vec<Option<Vec<usize>>> = (0..n).map(|i| Some(vec![i])).collect();
        let mut d = vec![vec![0f32; n]; n];
        for i in 0..n {
            for j in 0..n {
                d[i][j] = 1.0 - cosine(&vectors[i], &vectors[j]);
            }
        }
        loop {
            let mut best: Option<(usize, usize, f32)> = None;
            for i in (0..n).filter(|&i| members[i].is_some()) {
                for j in (i + 1..n).filter(|&j| members[j].is_some()) {
                    if best.is_none_or(|(_, _, b)| d[i][j] < b) {
                        best = Some((i, j, d[i][j]));
                    }
                }
            }
            let Some((a, b, _)) = best.filter(|(_, _, dist)| *dist <= threshold) else { break };
            let (na, nb) = (members[a].as_ref().unwrap().len() as f32, members[b].as_ref().unwrap().len() as f32);
            for c in 0..n {
                let merged = (na * d[a][c] + nb * d[b][c]) / (na + nb);
                (d[a][c], d[c][a]) = (merged, merged);
            }
            let moved = members[b].take().unwrap();
            members[a].as_mut().unwrap().extend(moved);
        }
        let mut clusters: Vec<Vec<usize>> = members.into_iter().flatten().collect();
        clusters.iter_mut().for_each(|c| c.sort_unstable());
        clusters.sort_by(|x, y| y.len().cmp(&x.len()).then(x[0].cmp(&y[0])));
        clusters
    }

    #[test]
    fn kodama_clusters_as_the_textbook_algorithm_does() {
        // 60 random unit vectors in 8 dimensions around 6 centres, seeded.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32) / (1u64 << 31) as f32 - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..6).map(|_| (0..8).map(|_| next()).collect()).collect();
        let vectors: Vec<Vec<f32>> =
            (0..60).map(|i| centres[i % 6].iter().map(|c| c + 0.25 * next()).collect()).collect();
        for threshold in [0.05, 0.2, 0.4, 0.8] {
            assert_eq!(cluster(&vectors, threshold), reference(&vectors, threshold), "threshold {threshold}");
        }
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
