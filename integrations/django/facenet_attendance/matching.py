"""Who is in each photo: faces matched one-to-one to enrolled people, as the attendance crate's
``matching.rs`` (``crates/attendance/src/``) does for facenet-server (the same algorithm, so that
both backends give the same register on the same vectors; the contract suite compares them).

A person appears at most once in a photo: each photo is a minimum-cost matching between its faces
and the people, where leaving a face unknown costs the threshold.

    faces × people distances (nearest enrolled crop of each person), threshold 0.42:
               Ana   Ben
      face 1   0.30  0.35     independent nearest: both faces → Ana
      face 2   0.32  0.80     matching: face 1 → Ben, face 2 → Ana (0.67 < 0.30 + 0.42)
"""

import math

import numpy as np


def person_distances(faces, people):
    """``faces`` (n × d, unit rows) to each person's nearest enrolled vector: n × len(people)."""
    out = np.full((len(faces), len(people)), np.inf, dtype=np.float32)
    for p, refs in enumerate(people):
        if len(refs):
            out[:, p] = (1.0 - cosine_matrix(faces, refs)).min(axis=1)
    return out


def cosine_matrix(a, b):
    """Cosine of every row of ``a`` with every row of ``b``, in f32 as facenet-server computes it."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    norms = np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)).astype(np.float32)
    return (a @ b.T) / norms


def match_photo(distances, threshold, taken):
    """One entry per face: ``(person index, distance, margin)`` or None (unknown). People in
    ``taken`` (already in the photo through an enrolled crop) are not matched."""
    # f32 throughout, as in matching.rs: the same comparisons at the threshold's edge.
    distances = np.asarray(distances, dtype=np.float32)
    threshold = np.float32(threshold)
    faces = len(distances)
    people = distances.shape[1] if faces else 0
    n = max(faces, people + faces)
    unknown = float(threshold)

    def cost(f, c):
        if f >= faces:
            return 0.0
        if c < people:
            d = float(distances[f][c])
            if d <= threshold and math.isfinite(d) and not taken[c]:
                return d
            return unknown + 1.0
        return unknown

    assignment = hungarian(n, cost)
    out = []
    for f in range(faces):
        p = assignment[f]
        if p >= people or not distances[f][p] <= threshold or taken[p]:
            out.append(None)
            continue
        distance = distances[f][p]
        others = [distances[f][q] for q in range(people) if q != p]
        runner_up = min(min(others, default=np.float32(np.inf)), max(threshold, distance))
        out.append((p, distance, np.float32(runner_up - distance)))
    return out


def hungarian(n, cost):
    """Minimum-cost perfect matching on an n × n cost matrix (potentials, O(n³)): the column of
    each row. The same steps, in the same order, as matching.rs (ties break alike)."""
    u, v = [0.0] * (n + 1), [0.0] * (n + 1)
    owner, way = [0] * (n + 1), [0] * (n + 1)
    for row in range(1, n + 1):
        owner[0] = row
        j0 = 0
        least = [math.inf] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0 = owner[j0]
            delta, j1 = math.inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    reduced = cost(i0 - 1, j - 1) - u[i0] - v[j]
                    if reduced < least[j]:
                        least[j] = reduced
                        way[j] = j0
                    if least[j] < delta:
                        delta = least[j]
                        j1 = j
            for j in range(n + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    least[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while True:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
            if j0 == 0:
                break
    column = [0] * n
    for j in range(1, n + 1):
        if owner[j] != 0:
            column[owner[j] - 1] = j - 1
    return column
