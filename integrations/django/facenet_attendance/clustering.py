"""Average-linkage clustering of the unknown faces, cut at a cosine distance: the attendance
crate's ``cluster.rs`` (``crates/attendance/src/``, kodama) with SciPy's implementation of the
same algorithm (Müllner's), and the same order of the answer: largest cluster first, then by
first member; members in input order."""

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from .matching import cosine_matrix


def cluster(vectors, threshold):
    """Clusters as lists of indices into ``vectors``: every merge whose mean pairwise distance is
    at most ``threshold`` (average linkage never merges below an earlier merge)."""
    n = len(vectors)
    if n < 2:
        return [[i] for i in range(n)]
    distances = 1.0 - cosine_matrix(vectors, vectors)
    distances[~np.isfinite(distances)] = 2.0
    condensed = distances[np.triu_indices(n, k=1)].astype(np.float64)
    labels = fcluster(linkage(condensed, method="average"), t=float(np.float32(threshold)), criterion="distance")
    groups = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    return sorted(groups.values(), key=lambda members: (-len(members), members[0]))
