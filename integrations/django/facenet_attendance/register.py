"""From a session's vectors to its register, by the attendance rules facenet-server runs
(``crates/attendance``, through its Python module ``facenet_attendance_rules``): the session's
faces matched one-to-one per photo to the reference faces of its class's roster (a teacher's
verdict first, enrolled crops keeping their label), the unknown ones clustered, the register's
lines with the teacher's marks, its CSV; a finalised register answered as it was stored. What is
Django's here: reading the ORM and shaping the answers (facenet-server's ``register.rs``)."""

import json
import logging
import time

import facenet_attendance_rules as rules
import numpy as np

from . import contract, scope
from .errors import ApiError
from .models import Embedding, FaceCrop, Mark, Person, StoredRegister

log = logging.getLogger("facenet_attendance")


def f32(x):
    """A float as facenet-server writes an f32: its shortest decimal (0.42, not 0.4199999869)."""
    return float(str(np.float32(x)))


def settings(model_name, threshold, cluster_threshold):
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
    return model, threshold, cluster_threshold


def geometry(width, height, box, landmarks, score, sharpness):
    """A crop's geometry as the rules read it (facenet-server's ``db::geometry``): the box's size
    when the crop was cut from a photo, else the crop's own."""
    if box:
        width, height = box["width"], box["height"]
    return (float(width), float(height), score, landmarks, sharpness)


def roster(class_id):
    """The class's pupils (id, name), sorted here by code point then id, as SQLite's binary
    collation sorts them in facenet-server (a PostgreSQL collation may sort otherwise): the order
    ties are broken in."""
    return sorted(Person.objects.filter(classes__id=class_id).values_list("id", "name"), key=lambda p: (p[1], p[0]))


def assign_session(c, session_id, model_name=None, threshold=None, cluster_threshold=None):
    """The outcome of one assignment: a dict with the class, model, thresholds, decisions (one per
    embedded crop, by crop id), clusters, not_embedded, the roster [(id, name)] and the marks."""
    started = time.perf_counter()
    model, threshold, cluster_threshold = settings(model_name, threshold, cluster_threshold)
    class_id = scope.session(c, session_id).school_class_id
    people = roster(class_id)
    # Only pupils whose consent is given are matched; the others' faces stay unknown.
    matchable = set(Person.objects.filter(classes__id=class_id, consent="given").values_list("id", flat=True))
    # Only vectors of the served model version: one of another version (an older projection)
    # lives in another space and would name the wrong pupil; its crop counts as not embedded.
    served = Embedding.objects.filter(model_name=model, model_version=contract.manifest()["version"])
    enrolled = [
        (person_id, bytes(blob))
        for person_id, blob in served.filter(crop__person__classes__id=class_id, crop__person__consent="given")
        .order_by("crop_id")
        .values_list("crop__person_id", "vector")
    ]
    # Their galleries: the faces other finalised registers confirmed, the most recent of each
    # pupil (the rules' ``gallery``; facenet-server's ``db::references``).
    confirmed = list(
        served.filter(
            crop__confirmed__person__classes__id=class_id, crop__confirmed__person__consent="given"
        )
        .exclude(crop__session_id=session_id)
        .values_list(
            "crop__confirmed__person_id", "crop_id", "crop__session__starts_at", "vector",
            "crop__width", "crop__height", "crop__box", "crop__landmarks", "crop__score", "crop__sharpness",
        )
    )
    chosen = rules.gallery([(p, crop, start, geometry(*where)) for p, crop, start, _, *where in confirmed], rules.GALLERY_SIZE)
    references = enrolled + [(confirmed[i][0], bytes(confirmed[i][3])) for i in chosen]
    crops = (
        served.filter(crop__session_id=session_id)
        .order_by("crop_id")
        .values_list(
            "crop_id", "crop__photo_id", "crop__person_id", "crop__verdict", "crop__verdict_person_id", "vector",
            "crop__width", "crop__height", "crop__box", "crop__landmarks", "crop__score", "crop__sharpness",
        )
    )
    consented = set(Person.objects.filter(consent="given", crops__session_id=session_id).values_list("id", flat=True))
    faces = [
        # An enrolment label counts only for a pupil whose consent is given.
        (
            crop_id, photo_id, person_id if person_id in consented else None,
            verdict_person if verdict == "person" else verdict, bytes(blob), geometry(*where),
        )
        for crop_id, photo_id, person_id, verdict, verdict_person, blob, *where in crops
    ]
    limit = contract.LIMITS["max_clustered"]
    found, clusters = rules.assign(
        faces,
        [pid for pid, _ in people if pid in matchable],
        references,
        threshold,
        cluster_threshold,
        limit,
    )
    unknown = sum(1 for d in found if d[2] is None and not d[6] and d[7] is None)
    if unknown > limit:
        log.warning(
            "session %s: %d unknown faces; the first %d are clustered, the rest left one per group", session_id, unknown, limit
        )
    not_embedded = list(
        FaceCrop.objects.filter(session_id=session_id)
        .exclude(id__in=served.values("crop_id"))
        .order_by("id")
        .values_list("id", flat=True)
    )
    marks = list(Mark.objects.filter(session_id=session_id).values_list("person_id", "mark"))
    assigned = sum(1 for d in found if d[2] is not None)
    unsure = sum(1 for d in found if d[7] is not None)
    log.info(
        "session %s: %d crops, %d assigned, %d unsure, %d unknown in %d clusters (%.1f ms)",
        session_id, len(found), assigned, unsure, len(found) - assigned - unsure, len(clusters),
        (time.perf_counter() - started) * 1e3,
    )
    return dict(
        class_id=class_id, model=model, threshold=f32(threshold), cluster_threshold=f32(cluster_threshold),
        decisions=found, clusters=clusters, not_embedded=not_embedded, people=people, marks=marks,
    )


def distance(d):
    return None if d is None else f32(d)


def assignment(c, session_id, request):
    o = assign_session(c, session_id, request.get("model_name"), request.get("threshold"), request.get("cluster_threshold"))
    names = dict(o["people"])
    return {
        "status": "success",
        "session_id": session_id,
        "model_name": o["model"],
        "threshold": o["threshold"],
        "cluster_threshold": o["cluster_threshold"],
        "assigned": [
            dict(crop_id=crop_id, photo_id=photo_id, person_id=person, person_name=names.get(person),
                 distance=distance(dist), margin=distance(margin), enrolled=enrolled, doubt=None)
            for crop_id, photo_id, person, dist, margin, enrolled, _, _, _ in o["decisions"]
            if person is not None
        ],
        "unsure": [
            dict(crop_id=crop_id, photo_id=photo_id, person_id=like, person_name=names.get(like),
                 distance=distance(dist), margin=distance(margin), enrolled=enrolled, doubt=doubt)
            for crop_id, photo_id, _, dist, margin, enrolled, _, like, doubt in o["decisions"]
            if like is not None
        ],
        "clusters": [{"crop_ids": cl} for cl in o["clusters"]],
        "not_embedded": o["not_embedded"],
    }


def register_crop(decision):
    """A face of a register line as answered (facenet-server's ``RegisterCrop``)."""
    crop_id, photo_id, _, dist, margin, enrolled, by_teacher, _, doubt = decision
    return dict(crop_id=crop_id, photo_id=photo_id, distance=distance(dist), margin=distance(margin),
                enrolled=enrolled, by_teacher=by_teacher, doubt=doubt)


def computed(session_id, o):
    """The register computed now (the rules' ``register`` over the roster, with the marks)."""
    lines = rules.register(o["people"], o["decisions"], o["marks"])
    return {
        "status": "success",
        "session_id": session_id,
        "class_id": o["class_id"],
        "model_name": o["model"],
        "model_version": contract.manifest()["version"],
        "threshold": o["threshold"],
        "people": [
            dict(
                person_id=person_id, name=name, present=present, mark=mark, by_hand=by_hand,
                crops=[register_crop(d) for d in faces],
                unsure=[register_crop(d) for d in unsure],
            )
            for person_id, name, present, mark, by_hand, faces, unsure in lines
        ],
        "unknown": [{"crop_ids": cl} for cl in o["clusters"]],
        "not_embedded": o["not_embedded"],
        "finalized": None,
        "waiting": [],
    }


def stored(session_id):
    """A finalised register as stored, with the crops added since (``waiting``); None while open."""
    row = StoredRegister.objects.filter(session_id=session_id).first()
    if row is None:
        return None
    answer = json.loads(row.answer)
    known = set(row.crop_ids)
    answer["waiting"] = [i for i in FaceCrop.objects.filter(session_id=session_id).order_by("id").values_list("id", flat=True) if i not in known]
    return answer


def current(c, session_id, model_name=None, threshold=None):
    """The register as it is: the stored one once finalised, else computed now."""
    scope.session(c, session_id)
    answer = stored(session_id)
    if answer is not None:
        return answer
    return computed(session_id, assign_session(c, session_id, model_name, threshold, None))


def register_csv(answer):
    """One row per pupil, as facenet-server writes it (the rules' ``register_csv``)."""
    return rules.register_csv(
        [
            (
                p["person_id"], p["name"], p["present"], p["mark"], p["by_hand"],
                [(x["crop_id"], x["distance"]) for x in p["crops"]],
                # A register stored before unsure faces were kept has none.
                [(x["crop_id"], x["doubt"]) for x in p.get("unsure", [])],
            )
            for p in answer["people"]
        ]
    )
