"""From a session's vectors to who was present, as facenet-server's ``register.rs``: enrolled
crops keep their label (and take their person out of their photo's matching); every other
embedded crop is matched one-to-one within its photo (a crop without a photo is a photo of its
own); the unknown ones are clustered (at most max_clustered of them; the rest one per group)."""

import logging
import time

import numpy as np

from . import clustering, contract
from .errors import ApiError
from .matching import match_photo, person_distances
from .models import Embedding, FaceCrop, Person, Session

log = logging.getLogger("facenet_attendance")


def f32(x):
    """A float as facenet-server writes an f32: its shortest decimal (0.42, not 0.4199999869)."""
    return float(str(np.float32(x)))


def unpack(blob):
    return np.frombuffer(bytes(blob), dtype="<f4")


def assign_session(session_id, model_name=None, threshold=None, cluster_threshold=None):
    """The outcome of one assignment: a dict with model, thresholds, decisions (one per embedded
    crop, by crop id), clusters (of crop ids), not_embedded and people [(id, name)]."""
    started = time.perf_counter()
    known = contract.manifest()
    model = "facenet" if model_name is None else model_name
    if model not in known["dimensions"]:
        raise ApiError("InvalidRequest", f"unknown model_name {model!r}")
    if threshold is None:
        threshold = known["thresholds"].get(model, contract.FALLBACK_THRESHOLD)
    if cluster_threshold is None:
        cluster_threshold = threshold
    if not (0.0 <= threshold <= 2.0) or not (0.0 <= cluster_threshold <= 2.0):
        raise ApiError("InvalidRequest", "thresholds are cosine distances, between 0 and 2")
    if not Session.objects.filter(id=session_id).exists():
        raise ApiError("NotFound", f"no session {session_id}")

    # Sorted here, by code point, as SQLite's binary collation does (a PostgreSQL database's
    # collation may sort names otherwise).
    people = sorted(Person.objects.values_list("id", "name"), key=lambda p: p[1])
    index = {pid: i for i, (pid, _) in enumerate(people)}
    enrolled = [[] for _ in people]
    references = Embedding.objects.filter(model_name=model, crop__person__isnull=False).order_by("crop_id")
    for person_id, blob in references.values_list("crop__person_id", "vector"):
        if person_id in index:
            enrolled[index[person_id]].append(unpack(blob))
    enrolled = [np.array(refs, dtype=np.float32) for refs in enrolled]

    crops = (
        Embedding.objects.filter(model_name=model, crop__session_id=session_id)
        .order_by("crop_id")
        .values_list("crop_id", "crop__person_id", "crop__photo_id", "vector")
    )
    # Grouped by photo (in photo id order; crops without a photo first, each alone).
    photos = {}
    for crop_id, person_id, photo_id, blob in crops:
        key = (photo_id, 0) if photo_id is not None else (-1, crop_id)
        photos.setdefault(key, []).append((crop_id, person_id, photo_id, unpack(blob)))
    decisions, unknown, unknown_vectors = [], [], []
    for key in sorted(photos):
        taken = [False] * len(people)
        open_crops = []
        for crop_id, person_id, photo_id, vector in photos[key]:
            if person_id is None:
                open_crops.append((crop_id, photo_id, vector))
                continue
            if person_id in index:
                taken[index[person_id]] = True
            decisions.append(
                dict(crop_id=crop_id, photo_id=photo_id, person=person_id, distance=0.0, margin=None, enrolled=True)
            )
        if not open_crops:
            continue
        distances = person_distances(np.array([c[2] for c in open_crops]), enrolled)
        for (crop_id, photo_id, vector), found in zip(
            open_crops, match_photo(distances, threshold, taken), strict=True
        ):
            if found is None:
                unknown.append(crop_id)
                unknown_vectors.append(vector)
            decisions.append(
                dict(
                    crop_id=crop_id,
                    photo_id=photo_id,
                    person=people[found[0]][0] if found else None,
                    distance=f32(found[1]) if found else None,
                    margin=f32(found[2]) if found else None,
                    enrolled=False,
                )
            )
    decisions.sort(key=lambda d: d["crop_id"])
    limit = contract.LIMITS["max_clustered"]
    if len(unknown) > limit:
        log.warning(
            "session %s: %d unknown faces; the first %d are clustered, the rest left one per group",
            session_id,
            len(unknown),
            limit,
        )
    clusters = [
        [unknown[i] for i in members] for members in clustering.cluster(unknown_vectors[:limit], cluster_threshold)
    ]
    clusters += [[crop] for crop in unknown[limit:]]
    not_embedded = list(
        FaceCrop.objects.filter(session_id=session_id)
        .exclude(embeddings__model_name=model)
        .order_by("id")
        .values_list("id", flat=True)
    )
    assigned = sum(1 for d in decisions if d["person"] is not None)
    log.info(
        "session %s: %d crops, %d assigned, %d unknown in %d clusters (%.1f ms)",
        session_id,
        len(decisions),
        assigned,
        len(decisions) - assigned,
        len(clusters),
        (time.perf_counter() - started) * 1e3,
    )
    return dict(
        model=model,
        threshold=f32(threshold),
        cluster_threshold=f32(cluster_threshold),
        decisions=decisions,
        clusters=clusters,
        not_embedded=not_embedded,
        people=people,
    )


def assignment(session_id, request):
    o = assign_session(
        session_id, request.get("model_name"), request.get("threshold"), request.get("cluster_threshold")
    )
    names = dict(o["people"])
    return {
        "status": "success",
        "session_id": session_id,
        "model_name": o["model"],
        "threshold": o["threshold"],
        "cluster_threshold": o["cluster_threshold"],
        "assigned": [
            dict(
                crop_id=d["crop_id"],
                photo_id=d["photo_id"],
                person_id=d["person"],
                person_name=names.get(d["person"]),
                distance=d["distance"],
                margin=d["margin"],
                enrolled=d["enrolled"],
            )
            for d in o["decisions"]
            if d["person"] is not None
        ],
        "clusters": [{"crop_ids": c} for c in o["clusters"]],
        "not_embedded": o["not_embedded"],
    }


def register(session_id, model_name=None, threshold=None):
    o = assign_session(session_id, model_name, threshold, None)
    people = []
    for person_id, name in o["people"]:
        crops = [
            dict(
                crop_id=d["crop_id"],
                photo_id=d["photo_id"],
                distance=d["distance"],
                margin=d["margin"],
                enrolled=d["enrolled"],
            )
            for d in o["decisions"]
            if d["person"] == person_id
        ]
        people.append(dict(person_id=person_id, name=name, present=bool(crops), crops=crops))
    return {
        "status": "success",
        "session_id": session_id,
        "model_name": o["model"],
        "threshold": o["threshold"],
        "people": people,
        "unknown": [{"crop_ids": c} for c in o["clusters"]],
        "not_embedded": o["not_embedded"],
    }


def csv_field(value):
    """Quoted when it holds a comma, quote or line break; never a spreadsheet formula."""
    if value[:1] in ("=", "+", "-", "@"):
        value = "'" + value
    if any(c in value for c in ',"\n\r'):
        value = '"' + value.replace('"', '""') + '"'
    return value


def register_csv(register_answer):
    lines = ["person_id,name,present,crop_ids,best_distance"]
    for p in register_answer["people"]:
        ids = " ".join(str(c["crop_id"]) for c in p["crops"])
        finite = [c["distance"] for c in p["crops"] if c["distance"] is not None]
        best = f"{min(finite):.3f}" if finite else ""
        lines.append(f"{p['person_id']},{csv_field(p['name'])},{'yes' if p['present'] else 'no'},{ids},{best}")
    return "\n".join(lines) + "\n"
