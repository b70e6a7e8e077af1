"""Pupils' data rights, call by call as facenet-server answers them
(``crates/server/src/{privacy,audit,purge}.rs``): consent (only ``given`` lets a face be enrolled,
matched or given; anything else erases the biometric data at once), erasure, export as a ZIP,
the append-only audit log, the retention schedule and its purge. The rules (a consent history's
standing, the schedule's defaults and notice) are the attendance crate's.

PostgreSQL: a deleted row's bytes stay in its page until VACUUM reclaims the space (autovacuum
does, within minutes on a busy table); ``VACUUM`` (or ``VACUUM FULL`` for the file to shrink) after
an erasure request makes it immediate. docs/data-protection.md says so for the operator.
"""

import io
import json
import re
import zipfile
from datetime import timedelta

import facenet_attendance_rules as rules
import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from . import idempotency, scope
from .errors import ApiError
from .models import (
    AuditEntry, ConsentRecord, Embedding, FaceCrop, Mark, Person, Photo, RegisterFace, RegisterMark, RosterEntry,
    Session, StoredRegister,
)
from .views import ApiView, csv_answer, json_body, ok, timestamp
from .wire import invalid


def schedule():
    """The retention schedule: the crate's defaults, with setting ``FACENET_RETENTION`` over them."""
    return {**rules.retention_defaults(), **getattr(settings, "FACENET_RETENTION", {})}


def record(actor, action, person=None, session=None, school_class=None, detail=None):
    AuditEntry.objects.create(actor=actor, action=action, person_id=person, session_id=session, class_id=school_class, detail=detail or {})


def require(person_id):
    standing = Person.objects.filter(id=person_id).values_list("consent", flat=True).first() or "not_asked"
    if standing != "given":
        raise ApiError(
            "ConsentRequired",
            f"pupil {person_id}'s consent to the use of their face is {standing}: record it first "
            f"(PUT /api/attendance/people/{person_id}/consent/)",
        )


def delete_crops(crops):
    """Deletes the crops of a queryset with their vectors; their ids, which an erasure answers so
    that a page can drop what it still holds of them (its upload queue)."""
    ids = sorted(crops.values_list("id", flat=True))
    FaceCrop.objects.filter(id__in=ids).delete()
    idempotency.forget(crop_ids=ids)
    return ids


def erase_biometrics(person_id):
    """A pupil's reference crops with their vectors, their gallery (the lesson faces registers
    confirmed as theirs: the faces stay, anonymous), and every verdict naming them: (crop ids, verdicts)."""
    crops = delete_crops(FaceCrop.objects.filter(person_id=person_id))
    RegisterFace.objects.filter(person_id=person_id).delete()
    verdicts = FaceCrop.objects.filter(verdict_person_id=person_id).update(verdict=None, verdict_person=None)
    return crops, verdicts


def consent_answer(person_id):
    history = [
        dict(state=r.state, by=r.by_whom, purpose=r.purpose, recorded_by=r.recorded_by, at=timestamp(r.at))
        for r in ConsentRecord.objects.filter(person_id=person_id).order_by("id")
    ]
    standing = Person.objects.filter(id=person_id).values_list("consent", flat=True).first()
    return dict(status="success", person_id=person_id, consent=standing, history=history)


STATES = ("given", "refused", "withdrawn")
PARTIES = ("guardian", "pupil")


class Consent(ApiView):
    def get(self, request, id):
        scope.person(self.caller, self.id)
        return ok(consent_answer(self.id))

    def put(self, request, id):
        body = json_body(request)
        state, by, purpose = body.get("state"), body.get("by"), body.get("purpose")
        if state not in STATES:
            raise invalid(f"state must be given, refused or withdrawn; got {state!r}")
        if by not in PARTIES:
            raise invalid(f"by must be guardian or pupil; got {by!r}")
        if not isinstance(purpose, str) or not purpose.strip() or len(purpose.strip()) > 2000:
            raise invalid("purpose must be 1–2000 characters")
        with transaction.atomic():
            scope.person(self.caller, self.id)
            ConsentRecord.objects.create(person_id=self.id, state=state, by_whom=by, purpose=purpose.strip(), recorded_by=self.caller.name)
            history = list(ConsentRecord.objects.filter(person_id=self.id).order_by("id").values_list("state", "by_whom"))
            standing = rules.consent_standing(history)
            Person.objects.filter(id=self.id).update(consent=standing)
            crops = [] if standing == "given" else erase_biometrics(self.id)[0]
            record(self.caller.name, "consent", person=self.id,
                   detail=dict(state=state, by=by, standing=standing, crops_erased=len(crops)))
            return ok({**consent_answer(self.id), "erased_crop_ids": crops})


def open_unless_admin(c, session_id):
    return (scope.session if c.admin else scope.open_session)(c, session_id).school_class_id


def erased(what, id, crops, **more):
    """The answer to an erasure: what, its id, the crops that went with it (ids)."""
    return ok(dict(status="success", erased=what, id=id, crops=len(crops), crop_ids=crops, **more))


def erase_from_lesson(c, session_id, what, id, erase):
    """Erases ``what`` (``id``) of lesson ``session_id`` — a teacher only while its register is
    open, an admin whatever is asked —, audited; ``erase()`` deletes and answers the crops' ids."""
    with transaction.atomic():
        class_id = open_unless_admin(c, session_id)
        crops = erase()
        record(c.name, "erase", session=session_id, school_class=class_id, detail=dict(what=what, id=id, crops=len(crops)))
    return erased(what, id, crops)


def strip_from_stored_registers(person_id):
    for stored in StoredRegister.objects.filter(marks__person_id=person_id):
        answer = json.loads(stored.answer)
        answer["people"] = [line for line in answer["people"] if line["person_id"] != person_id]
        stored.answer = json.dumps(answer)
        stored.save(update_fields=["answer"])


def erase_person(c, person_id):
    """``DELETE /people/{id}/`` (admins)."""
    with transaction.atomic():
        scope.person(c, person_id)
        c.admin_only("erasing a pupil")
        crops, _ = erase_biometrics(person_id)
        RosterEntry.objects.filter(person_id=person_id).delete()
        Mark.objects.filter(person_id=person_id).delete()
        keep = schedule()["keep_attendance_of_erased"]
        if keep:
            now = timezone.now()
            Person.objects.filter(id=person_id).update(erased_at=now)
            Person.objects.filter(id=person_id, left_at__isnull=True).update(left_at=now)
        else:
            strip_from_stored_registers(person_id)
            Person.objects.filter(id=person_id).delete()
        record(c.name, "erase", person=person_id, detail=dict(what="pupil", crops=len(crops), attendance_kept=keep))
    return erased("pupil", person_id, crops, attendance_kept=keep)


class Crop(ApiView):
    def delete(self, request, id):
        session_id = scope.crop(self.caller, self.id)
        return erase_from_lesson(self.caller, session_id, "crop", self.id, lambda: delete_crops(FaceCrop.objects.filter(id=self.id)))


class OnePhoto(ApiView):
    def delete(self, request, id):
        scope.photo(self.caller, self.id)
        session_id = Photo.objects.filter(id=self.id).values_list("session_id", flat=True).first()

        def erase():
            crops = delete_crops(FaceCrop.objects.filter(photo_id=self.id))
            Photo.objects.filter(id=self.id).delete()
            idempotency.forget(photo_ids=[self.id])
            return crops

        return erase_from_lesson(self.caller, session_id, "photo", self.id, erase)


def delete_session(c, session_id):
    """``DELETE /sessions/{id}/``: a lesson with everything of it."""

    def erase():
        crops = delete_crops(FaceCrop.objects.filter(session_id=session_id))
        idempotency.forget(photo_ids=list(Photo.objects.filter(session_id=session_id).values_list("id", flat=True)))
        Session.objects.filter(id=session_id).delete()
        return crops

    return erase_from_lesson(c, session_id, "session", session_id, erase)


class PersonExport(ApiView):
    def get(self, request, id):
        c = self.caller
        scope.person(c, self.id)
        c.admin_only("exporting a pupil's data")
        p = Person.objects.get(id=self.id)
        # Their reference faces, and the lesson faces their gallery holds (RegisterFace).
        crops = list(FaceCrop.objects.filter(Q(person_id=p.id) | Q(confirmed__person_id=p.id)).order_by("id"))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            vectors = []
            for crop in crops:
                archive.writestr(f"crops/{crop.id}.{crop.content_type.rsplit('/', 1)[-1]}", bytes(crop.image))
                for e in Embedding.objects.filter(crop=crop):
                    vectors.append(dict(crop_id=crop.id, session_id=crop.session_id, model_name=e.model_name, model_version=e.model_version,
                                        vector=np.frombuffer(bytes(e.vector), dtype="<f4").tolist(), created_at=timestamp(e.created_at)))
            document = {
                "pupil": dict(person_id=p.id, name=p.name, external_id=p.external_id, created_at=timestamp(p.created_at), consent=p.consent,
                              left_at=timestamp(p.left_at) if p.left_at else None, erased_at=timestamp(p.erased_at) if p.erased_at else None),
                "rosters": [dict(class_id=r.school_class_id, **{"class": r.school_class.name}, added_at=timestamp(r.added_at))
                            for r in RosterEntry.objects.filter(person=p).select_related("school_class")],
                "consent_history": consent_answer(p.id)["history"],
                "open_marks": [dict(session_id=m.session_id, mark=m.mark, by=m.by_name, at=timestamp(m.at)) for m in Mark.objects.filter(person=p)],
                "finalised_marks": [dict(session_id=m.register.session_id, lesson=m.register.session.name, starts_at=m.register.session.starts_at, mark=m.mark)
                                    for m in RegisterMark.objects.filter(person=p).select_related("register__session")],
                "reference_faces": [crop.id for crop in crops if crop.person_id is not None],
                "gallery_faces": [crop.id for crop in crops if crop.person_id is None],
                "vectors": vectors,
                "audit": [dict(at=timestamp(a.at), actor=a.actor, action=a.action, session_id=a.session_id, detail=a.detail)
                          for a in AuditEntry.objects.filter(person_id=p.id).order_by("id")],
            }
            archive.writestr("pupil.json", json.dumps(document, indent=2, ensure_ascii=False))
        record(c.name, "export", person=p.id)
        safe = re.sub(r"[^A-Za-z0-9]", "-", p.name)
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="pupil-{p.id}-{safe}.zip"'
        response["Cache-Control"] = "no-store"
        return response


def audit_entries(c, request):
    c.admin_only("reading the audit log")
    entries = AuditEntry.objects.order_by("id")
    start, end = request.GET.get("from"), request.GET.get("to")
    try:
        if start is not None:
            entries = entries.filter(at__date__gte=rules.day(start))
        if end is not None:
            entries = entries.filter(at__date__lte=rules.day(end))
    except ValueError as e:
        raise invalid(str(e)) from None
    person = request.GET.get("person_id")
    if person is not None:
        if not person.lstrip("-").isdigit():
            raise invalid("person_id must be a number")
        entries = entries.filter(person_id=int(person))
    return [
        dict(id=e.id, at=timestamp(e.at), actor=e.actor, action=e.action, person_id=e.person_id, session_id=e.session_id,
             class_id=e.class_id, detail=e.detail)
        for e in entries
    ]


class Audit(ApiView):
    def get(self, request):
        return ok(audit_entries(self.caller, request))


class AuditCsv(ApiView):
    def get(self, request):
        lines = [
            # The detail as serde_json writes it: compact.
            (e["id"], e["at"], e["actor"], e["action"], e["person_id"], e["session_id"], e["class_id"],
             json.dumps(e["detail"], separators=(",", ":"), ensure_ascii=False))
            for e in audit_entries(self.caller, request)
        ]
        return csv_answer("audit.csv", rules.audit_csv(lines))


def retention_answer():
    """The schedule in force, in numbers and in words (``GET /retention/``)."""
    s = schedule()
    return {**s, "notice": rules.retention_notice(**s)}


class Retention(ApiView):
    def get(self, request):
        return ok(retention_answer())


def due(s):
    """What the schedule says is due, by kind, as querysets (facenet-server's purge.rs)."""
    now = timezone.now()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    return {
        "lesson_faces": FaceCrop.objects.filter(person__isnull=True, created_at__lt=ago(s["lesson_faces_days"])),
        "photos": Photo.objects.filter(image__isnull=False, created_at__lt=ago(s["photos_days"])),
        "leavers": FaceCrop.objects.filter(person__left_at__isnull=False, person__left_at__lte=ago(s["leavers_days"])),
        "templates": FaceCrop.objects.filter(person__isnull=False, created_at__lt=ago(s["template_max_days"])),
    }


def purge(dry_run, actor):
    s = schedule()
    counts = []
    with transaction.atomic():
        for kind, queryset in due(s).items():
            n = queryset.count()
            if not dry_run and n:
                if kind == "photos":
                    queryset.update(image=None, content_type=None)
                else:
                    FaceCrop.objects.filter(id__in=list(queryset.values_list("id", flat=True))).delete()
            counts.append(dict(kind=kind, count=n))
        if not dry_run:
            idempotency.purge_old()  # housekeeping, not the schedule's
        if not dry_run and any(x["count"] for x in counts):
            record(actor, "purge", detail={x["kind"]: x["count"] for x in counts})
    assert [x["kind"] for x in counts] == rules.PURGE_KINDS
    return counts


class Purge(ApiView):
    def post(self, request):
        self.caller.admin_only("purging")
        value = request.GET.get("dry_run", "true")
        if value not in ("true", "false"):
            raise invalid(f"dry_run must be true or false, got {value!r}")
        dry_run = value == "true"
        return ok(dict(status="success", dry_run=dry_run, erased=purge(dry_run, self.caller.name)))

