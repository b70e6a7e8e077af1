"""From a session's vectors to who was present, by the attendance rules facenet-server runs
(``crates/attendance``, through its Python module ``facenet_attendance_rules``): enrolled crops
keep their label (and take their person out of their photo's matching); every other embedded crop
is matched one-to-one within its photo (a crop without a photo is a photo of its own); the unknown
ones are clustered (at most max_clustered of them; the rest one per group). What is Django's here:
reading the ORM and shaping the answers."""

import logging
import time

import facenet_attendance_rules as rules
import numpy as np

from . import contract
from .errors import ApiError
from .models import Embedding, FaceCrop, Person, Session

log = logging.getLogger("facenet_attendance")


def f32(x):
    """A float as facenet-server writes an f32: its shortest decimal (0.42, not 0.4199999869)."""
    return float(str(np.float32(x)))


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
    # collation may sort names otherwise): the order ties are broken in.
    people = sorted(Person.objects.values_list("id", "name"), key=lambda p: p[1])
    references = (
        Embedding.objects.filter(model_name=model, crop__person__isnull=False)
        .order_by("crop_id")
        .values_list("crop__person_id", "vector")
    )
    crops = (
        Embedding.objects.filter(model_name=model, crop__session_id=session_id)
        .order_by("crop_id")
        .values_list("crop_id", "crop__photo_id", "crop__person_id", "vector")
    )
    limit = contract.LIMITS["max_clustered"]
    found, clusters = rules.assign(
        [(crop_id, photo_id, person_id, bytes(blob)) for crop_id, photo_id, person_id, blob in crops],
        [pid for pid, _ in people],
        [(person_id, bytes(blob)) for person_id, blob in references],
        threshold,
        cluster_threshold,
        limit,
    )
    decisions = [
        dict(
            crop_id=crop_id,
            photo_id=photo_id,
            person=person,
            distance=None if distance is None else f32(distance),
            margin=None if margin is None else f32(margin),
            enrolled=enrolled,
        )
        for crop_id, photo_id, person, distance, margin, enrolled in found
    ]
    unknown = sum(1 for d in decisions if d["person"] is None)
    if unknown > limit:
        log.warning(
            "session %s: %d unknown faces; the first %d are clustered, the rest left one per group",
            session_id,
            unknown,
            limit,
        )
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


def register_csv(register_answer):
    """One row per person, as facenet-server writes it (the rules' ``register_csv``)."""
    return rules.register_csv(
        [
            (p["person_id"], p["name"], p["present"], [(c["crop_id"], c["distance"]) for c in p["crops"]])
            for p in register_answer["people"]
        ]
    )
