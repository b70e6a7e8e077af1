"""The school around the lessons, call by call as facenet-server answers them
(``crates/server/src/{accounts,classes,record,reports}.rs``): accounts (Django's users) and their
hashed tokens, classes with their teachers and rosters, pupils, enrolment by id, the register as
a record (marks, verdicts, finalise, reopen), reports over finalised registers. Who reaches what is
``scope.py``'s; the rules (registers, reports, times) are the attendance crate's."""

import json
import logging
from datetime import timedelta

import facenet_attendance_rules as rules
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from . import idempotency, privacy, register, scope
from .auth import live_tokens, new_token, token_hash
from .errors import ApiError
from .models import (
    AccessToken, FaceCrop, Installation, Mark, Person, Photo, RegisterEvent, RegisterFace, RegisterMark, RosterEntry,
    SchoolClass, Session, StoredRegister,
)
from .views import ApiView, csv_answer, json_body, ok, read_body, timestamp
from .wire import checked_name, field, invalid, parse_json

log = logging.getLogger("facenet_attendance")
User = get_user_model()
MAX_TOKEN_DAYS = 2000  # facenet-server's accounts::MAX_TOKEN_DAYS


def lesson_start(text):
    try:
        return rules.lesson_start(text)
    except ValueError as e:
        raise invalid(str(e)) from None


def day(text):
    try:
        return rules.day(text)
    except ValueError as e:
        raise invalid(str(e)) from None


def default_class(c):
    """A teacher's only class; for an admin, the "Imported" class (created on first use)."""
    if c.admin:
        found = SchoolClass.objects.filter(imported=True).order_by("id").first()
        return (found or SchoolClass.objects.create(name="Imported", imported=True)).id
    mine = list(SchoolClass.objects.filter(teachers__id=c.id).order_by("id").values_list("id", flat=True))
    if len(mine) != 1:
        raise invalid(f"class_id is required: you teach {len(mine)} classes (GET /classes/ lists them)")
    return mine[0]


def optional_name(body, what):
    """A body's optional ``name``, checked as a name (None when not given)."""
    name = field(body, "name", "str", required=False)
    return checked_name(name, what) if name is not None else None


def optional_body(request):
    data = read_body(request, 8 << 20)
    return parse_json(data) if data else {}


# ---- accounts -------------------------------------------------------------------------


def issue_token(user, days):
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise invalid(f"expires_in_days must be 1–{MAX_TOKEN_DAYS}, got {days}")
    token = new_token()
    # Whole seconds, as facenet-server's datetime('now', '+N days').
    expires = timezone.now().replace(microsecond=0) + timedelta(days=days) if days is not None else None
    AccessToken.objects.create(user=user, hash=token_hash(token), expires_at=expires)
    return token, timestamp(expires) if expires else None


def is_admin(user):
    return user.is_superuser or user.has_perm("facenet_attendance.administer_school")


class Me(ApiView):
    def get(self, request):
        c = self.caller
        return ok(dict(id=c.id, name=c.name, admin=c.admin, class_ids=list(scope.classes(c).order_by("id").values_list("id", flat=True)),
                       database_id=Installation.objects.values_list("database_id", flat=True).get()))


class Users(ApiView):
    def get(self, request):
        self.caller.admin_only("listing accounts")
        live = dict(live_tokens().values_list("user_id").annotate(n=Count("id")))
        classes = {}
        for class_id, user_id in SchoolClass.teachers.through.objects.order_by("schoolclass_id").values_list("schoolclass_id", "user_id"):
            classes.setdefault(user_id, []).append(class_id)
        users = sorted(User.objects.all(), key=lambda u: u.username)
        return ok([
            dict(id=u.id, name=u.username, admin=is_admin(u), created_at=timestamp(u.date_joined), tokens=live.get(u.id, 0),
                 class_ids=classes.get(u.id, []))
            for u in users
        ])

    def post(self, request):
        self.caller.admin_only("creating accounts")
        body = json_body(request)
        name = checked_name(field(body, "name", "str"), "a user's name")
        admin = field(body, "admin", "bool", required=False) or False
        days = field(body, "expires_in_days", "uint", required=False)
        with transaction.atomic():
            if User.objects.filter(username=name).exists():
                raise ApiError("Conflict", f"there is a user named {name!r} already")
            user = User.objects.create_user(username=name)
            if admin:
                user.user_permissions.add(Permission.objects.get(codename="administer_school", content_type__app_label="facenet_attendance"))
            token, expires = issue_token(user, days)
            privacy.record(self.caller.name, "account", detail=dict(created=name, user_id=user.id, admin=admin))
        log.info("account %s (%s) created%s", user.id, name, " as an admin" if admin else "")
        return ok(dict(status="success", id=user.id, name=name, admin=admin, token=token, expires_at=expires), status=201)


class UserTokens(ApiView):
    def user(self):
        user = User.objects.filter(id=self.id).first()
        if user is None:
            raise ApiError("NotFound", f"no user {self.id}")
        return user

    def post(self, request, id):
        self.caller.admin_only("issuing tokens")
        body = optional_body(request)
        user = self.user()
        token, expires = issue_token(user, field(body, "expires_in_days", "uint", required=False))
        privacy.record(self.caller.name, "token", detail=dict(issued_for=user.id))
        return ok(dict(status="success", user_id=user.id, token=token, expires_at=expires), status=201)

    def delete(self, request, id):
        self.caller.admin_only("revoking tokens")
        user = self.user()
        revoked = AccessToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        privacy.record(self.caller.name, "token", detail=dict(revoked_for=user.id, revoked=revoked))
        log.info("account %s: %d tokens revoked", user.id, revoked)
        return ok(dict(status="success", user_id=user.id, revoked=revoked))


# ---- classes and rosters ----------------------------------------------------------------


def class_answers(c, one=None):
    classes = scope.classes(c)
    if one is not None:
        classes = classes.filter(id=one)
    answers = []
    for k in sorted(classes.prefetch_related("teachers"), key=lambda k: (k.name, k.id)):
        answers.append(dict(
            id=k.id, name=k.name, teacher_ids=sorted(t.id for t in k.teachers.all()),
            pupils=RosterEntry.objects.filter(school_class=k).count(), sessions=Session.objects.filter(school_class=k).count(),
        ))
    return answers


def one_class(c, class_id):
    found = class_answers(c, class_id)
    if not found:
        raise ApiError("NotFound", f"no class {class_id}")
    return found[0]


def set_teachers(school_class, ids):
    users = []
    for user_id in ids:
        user = User.objects.filter(id=user_id).first()
        if user is None:
            raise invalid(f"teacher_ids: no user {user_id}")
        users.append(user)
    school_class.teachers.set(users)


class Classes(ApiView):
    def get(self, request):
        return ok(class_answers(self.caller))

    def post(self, request):
        self.caller.admin_only("creating classes")
        body = json_body(request)
        name = checked_name(field(body, "name", "str", required=False) or "", "a class's name")
        teachers = field(body, "teacher_ids", "ints", required=False) or []
        with transaction.atomic():
            k = SchoolClass.objects.create(name=name)
            set_teachers(k, teachers)
            privacy.record(self.caller.name, "class", school_class=k.id, detail=dict(created=name, teacher_ids=sorted(teachers)))
        return ok({"status": "success", **one_class(self.caller, k.id)}, status=201)


class OneClass(ApiView):
    def get(self, request, id):
        return ok(one_class(self.caller, self.id))

    def patch(self, request, id):
        body = json_body(request)
        name = optional_name(body, "a class's name")
        teachers = field(body, "teacher_ids", "ints", required=False)
        with transaction.atomic():
            scope.school_class(self.caller, self.id)
            self.caller.admin_only("changing a class")
            k = SchoolClass.objects.get(id=self.id)
            if name is not None:
                k.name = name
                k.save(update_fields=["name"])
            if teachers is not None:
                set_teachers(k, teachers)
            privacy.record(self.caller.name, "class", school_class=k.id,
                           detail=dict(name=k.name, teacher_ids=sorted(t.id for t in k.teachers.all())))
        return ok({"status": "success", **one_class(self.caller, self.id)})

    def delete(self, request, id):
        with transaction.atomic():
            scope.school_class(self.caller, self.id)
            self.caller.admin_only("deleting a class")
            sessions = Session.objects.filter(school_class_id=self.id)
            crops = FaceCrop.objects.filter(session__in=sessions).count()
            photos = Photo.objects.filter(session__in=sessions).count()
            count = sessions.count()
            idempotency.forget(crop_ids=FaceCrop.objects.filter(session__in=sessions).values_list("id", flat=True),
                               photo_ids=Photo.objects.filter(session__in=sessions).values_list("id", flat=True))
            # Sessions take their photos, crops, vectors, marks and registers with them (CASCADE).
            sessions.delete()
            SchoolClass.objects.filter(id=self.id).delete()
            privacy.record(self.caller.name, "erase", school_class=self.id, detail=dict(what="class", sessions=count, crops=crops, photos=photos))
        log.info("class %s deleted by %s", self.id, self.caller.name)
        return ok(dict(status="success", id=self.id, sessions=count, crops=crops, photos=photos))


def pupil_answers(c, roster=None, one=None):
    people = scope.people(c).filter(erased_at__isnull=True)
    if roster is not None:
        people = people.filter(classes__id=roster)
    if one is not None:
        people = people.filter(id=one)
    reach = set(scope.classes(c).values_list("id", flat=True))
    crops = {}
    for person_id, n, oldest in FaceCrop.objects.filter(person__in=people).values_list("person_id").annotate(n=Count("id"), oldest=Min("created_at")).values_list("person_id", "n", "oldest"):
        crops[person_id] = (n, oldest)
    today = timezone.now().strftime("%Y-%m-%d")
    max_days = privacy.schedule()["template_max_days"]

    def reenrol(person_id):
        # As the roster answers it (the crate's Schedule::reenrolment): by when, and whether to ask now.
        if person_id not in crops:
            return dict(reenrol_by=None, reenrol_due=False)
        by, due = rules.reenrolment(timestamp(crops[person_id][1]), today, max_days)
        return dict(reenrol_by=by, reenrol_due=due)

    classes = {}
    for person_id, class_id in RosterEntry.objects.filter(person__in=people).order_by("school_class_id").values_list("person_id", "school_class_id"):
        if class_id in reach:
            classes.setdefault(person_id, []).append(class_id)
    return [
        dict(id=p.id, person_id=p.id, name=p.name, external_id=p.external_id, crops=crops.get(p.id, (0,))[0],
             class_ids=classes.get(p.id, []), consent=p.consent, **reenrol(p.id))
        for p in sorted(people.distinct(), key=lambda p: (p.name, p.id))
    ]


def one_pupil(c, person_id):
    found = pupil_answers(c, one=person_id)
    if not found:
        raise ApiError("NotFound", f"no pupil {person_id}")
    return found[0]


def external(value):
    value = (value or "").strip()
    return checked_name(value, "an external_id") if value else None


class ClassPupils(ApiView):
    def get(self, request, id):
        scope.school_class(self.caller, self.id)
        return ok(pupil_answers(self.caller, roster=self.id))

    def post(self, request, id):
        body = json_body(request)
        person_id = field(body, "person_id", "int", required=False)
        ext = external(field(body, "external_id", "str", required=False))
        name = field(body, "name", "str", required=False)
        if person_id is None:
            if name is None:
                raise invalid("a pupil needs a name (or an existing person_id)")
            name = checked_name(name, "a pupil's name")
        with transaction.atomic():
            scope.school_class(self.caller, self.id)
            if person_id is not None:
                scope.person(self.caller, person_id)
            else:
                known = Person.objects.filter(external_id=ext).first() if ext else None
                if known is not None:
                    try:
                        scope.person(self.caller, known.id)
                    except ApiError:
                        raise ApiError(
                            "Conflict",
                            f"external_id {ext!r} belongs to a pupil of another class; an admin can put them on this roster",
                        ) from None
                    person_id = known.id
                else:
                    person_id = Person.objects.create(name=name, external_id=ext).id
            RosterEntry.objects.get_or_create(school_class_id=self.id, person_id=person_id)
            Person.objects.filter(id=person_id).update(left_at=None)
            privacy.record(self.caller.name, "roster", person=person_id, school_class=self.id, detail=dict(added=True))
        return ok({"status": "success", **one_pupil(self.caller, person_id)}, status=201)


class ClassPupil(ApiView):
    def delete(self, request, id, person_id):
        with transaction.atomic():
            scope.school_class(self.caller, self.id)
            if RosterEntry.objects.filter(school_class_id=self.id, person_id=self.person_id).delete()[0] == 0:
                raise ApiError("NotFound", f"no pupil {self.person_id} on the roster of class {self.id}")
            # Off their last roster, a pupil is a leaver: their reference faces go at once or
            # after the schedule's days (privacy.purge).
            left = not RosterEntry.objects.filter(person_id=self.person_id).exists()
            erased = 0
            if left:
                Person.objects.filter(id=self.person_id).update(left_at=timezone.now())
                if privacy.schedule()["leavers_days"] == 0:
                    erased = len(privacy.erase_biometrics(self.person_id)[0])
            privacy.record(self.caller.name, "roster", person=self.person_id, school_class=self.id,
                           detail=dict(added=False, left_school=left, crops_erased=erased))
        return ok(dict(status="success", class_id=self.id, person_id=self.person_id))


class OnePerson(ApiView):
    def get(self, request, id):
        return ok(one_pupil(self.caller, self.id))

    def patch(self, request, id):
        body = json_body(request)
        name = optional_name(body, "a pupil's name")
        ext = field(body, "external_id", "str", required=False)
        with transaction.atomic():
            scope.person(self.caller, self.id)
            p = Person.objects.get(id=self.id)
            if name is not None:
                p.name = name
            if ext is not None:
                ext = external(ext)
                if ext and Person.objects.filter(external_id=ext).exclude(id=p.id).exists():
                    raise ApiError("Conflict", "another pupil has that external_id")
                p.external_id = ext
            p.save()
        return ok({"status": "success", **one_pupil(self.caller, self.id)})

    def delete(self, request, id):
        return privacy.erase_person(self.caller, self.id)


def poor_reference(crop_id):
    """A crop too poor to be a reference (the rules' ``reference_concerns``) is refused with its
    concerns, in facenet-server's words."""
    crop = FaceCrop.objects.only("width", "height", "box", "landmarks", "score", "sharpness").get(id=crop_id)
    concerns = rules.reference_concerns(register.geometry(crop.width, crop.height, crop.box, crop.landmarks, crop.score, crop.sharpness))
    if concerns:
        words = "; ".join(f"{code}: {text}" for code, text in concerns)
        raise ApiError(
            "PoorReference", f"face crop {crop_id} is too poor to be a reference ({words}): enrol a larger, sharper, frontal face"
        )


def attach(c, person_id, crop_ids):
    """``crop_ids`` as the pupil's references, all or none: reachable, not anyone else's."""
    if not crop_ids:
        raise invalid("enrolling needs at least one crop_id")
    privacy.require(person_id)
    for crop_id in crop_ids:
        scope.crop(c, crop_id)
        poor_reference(crop_id)
        current = FaceCrop.objects.filter(id=crop_id).values_list("person_id", flat=True).first()
        if current is not None and current != person_id:
            raise ApiError("Conflict", f"face crop {crop_id} is enrolled as pupil {current} already")
        FaceCrop.objects.filter(id=crop_id).update(person_id=person_id)
    privacy.record(c.name, "enrol", person=person_id, detail=dict(crop_ids=crop_ids))


class PersonReferences(ApiView):
    def post(self, request, id):
        crop_ids = field(json_body(request), "crop_ids", "ints")
        with transaction.atomic():
            scope.person(self.caller, self.id)
            attach(self.caller, self.id, crop_ids)
            name = Person.objects.get(id=self.id).name
        return ok(dict(status="success", person_id=self.id, name=name, crop_ids=crop_ids))


class People(ApiView):
    def get(self, request):
        return ok(pupil_answers(self.caller))

    def post(self, request):
        """Enrols by name (old clients) within the one class of the crops' sessions."""
        body = json_body(request)
        name = checked_name(field(body, "name", "str"), "a person's name")
        crop_ids = field(body, "crop_ids", "ints")
        if not crop_ids:
            raise invalid("enrolling needs at least one crop_id")
        with transaction.atomic():
            classes = {scope.session(self.caller, scope.crop(self.caller, crop_id)).school_class_id for crop_id in crop_ids}
            if len(classes) != 1:
                raise invalid("these crops are of several classes: enrol by id (POST /people/{id}/references/)")
            (class_id,) = classes
            named = list(Person.objects.filter(classes__id=class_id, name=name).values_list("id", flat=True))
            new_pupil = None
            if not named:
                # A new pupil joins the roster (committed) though nothing is enrolled before
                # their consent is recorded: the answer is ConsentRequired, naming them.
                new_pupil = person_id = Person.objects.create(name=name).id
                RosterEntry.objects.create(school_class_id=class_id, person_id=person_id)
                privacy.record(self.caller.name, "roster", person=person_id, school_class=class_id, detail=dict(added=True))
            elif len(named) == 1:
                person_id = named[0]
            else:
                raise ApiError(
                    "Conflict", f"{len(named)} pupils of class {class_id} are named {name!r}: enrol by id (POST /people/{{id}}/references/)"
                )
            if new_pupil is None:
                attach(self.caller, person_id, crop_ids)
        if new_pupil is not None:
            privacy.require(new_pupil)
        return ok(dict(status="success", person_id=person_id, name=name, crop_ids=crop_ids))


# ---- the register as a record -----------------------------------------------------------


MARKS = ("present", "absent", "late", "excused")


class MarkView(ApiView):
    def put(self, request, id, person_id):
        body = json_body(request)
        if "mark" not in body:
            raise invalid("invalid JSON body: missing field `mark`")
        mark = body["mark"]
        if mark is not None and mark not in MARKS:
            raise invalid(f"mark must be present, absent, late, excused or null; got {mark!r}")
        with transaction.atomic():
            s = scope.open_session(self.caller, self.id)
            scope.on_roster(s.school_class_id, self.person_id)
            privacy.record(self.caller.name, "mark", person=self.person_id, session=self.id, school_class=s.school_class_id,
                           detail=dict(mark=mark))
            if mark is None:
                Mark.objects.filter(session_id=self.id, person_id=self.person_id).delete()
            else:
                Mark.objects.update_or_create(
                    session_id=self.id, person_id=self.person_id, defaults=dict(mark=mark, by_name=self.caller.name)
                )
            return ok(register.current(self.caller, self.id))


class Finalize(ApiView):
    def post(self, request, id):
        body = optional_body(request)
        wanted = dict(
            model_name=field(body, "model_name", "str", required=False),
            threshold=field(body, "threshold", "number", required=False),
        )
        with transaction.atomic():
            # The session's row locked: two finalisations (or a mark) queue here.
            Session.objects.select_for_update().filter(id=self.id).first()
            scope.open_session(self.caller, self.id)
            outcome = register.assign_session(self.caller, self.id, wanted["model_name"], wanted["threshold"])
            confirmed = rules.confirmed_by(outcome["people"], outcome["decisions"], outcome["marks"])
            answer = register.computed(self.id, outcome)
            at = timestamp(timezone.now())
            answer["finalized"] = dict(at=at, by=self.caller.name)
            crops = list(FaceCrop.objects.filter(session_id=self.id).order_by("id").values_list("id", flat=True))
            stored = StoredRegister.objects.create(
                session_id=self.id, finalized_at=at, finalized_by=self.caller.name, crop_ids=crops, answer=json.dumps(answer)
            )
            RegisterMark.objects.bulk_create(
                [RegisterMark(register=stored, person_id=p["person_id"], mark=p["mark"]) for p in answer["people"]]
            )
            # What the register confirms grows its pupils' galleries (the rules' gallery).
            RegisterFace.objects.bulk_create([RegisterFace(register=stored, crop_id=c, person_id=p) for c, p in confirmed])
            RegisterEvent.objects.create(session_id=self.id, action="finalize", by_name=self.caller.name)
            privacy.record(self.caller.name, "finalize", session=self.id, school_class=answer["class_id"],
                           detail=dict(model_name=answer["model_name"], model_version=answer["model_version"],
                                       threshold=answer["threshold"], pupils=len(answer["people"]),
                                       gallery_faces=len(confirmed)))
        log.info("session %s: register finalised by %s", self.id, self.caller.name)
        return ok(answer)


class Reopen(ApiView):
    def post(self, request, id):
        with transaction.atomic():
            scope.session(self.caller, self.id)
            if StoredRegister.objects.filter(session_id=self.id).delete()[0] == 0:
                raise ApiError("Conflict", f"the register of session {self.id} is not finalised")
            RegisterEvent.objects.create(session_id=self.id, action="reopen", by_name=self.caller.name)
            privacy.record(self.caller.name, "reopen", session=self.id)
            answer = register.current(self.caller, self.id)
        log.info("session %s: register reopened by %s", self.id, self.caller.name)
        return ok(answer)


class CropPerson(ApiView):
    def verdict(self, given):
        with transaction.atomic():
            s = scope.open_session(self.caller, scope.crop(self.caller, self.id))
            if given is None:
                verdict, person = None, None
            elif given == "nobody":
                verdict, person = "nobody", None
            else:
                scope.on_roster(s.school_class_id, given)
                privacy.require(given)
                verdict, person = "person", given
            FaceCrop.objects.filter(id=self.id).update(verdict=verdict, verdict_person_id=person)
            privacy.record(self.caller.name, "verdict", person=person, session=s.id, school_class=s.school_class_id,
                           detail=dict(crop_id=self.id, verdict=verdict))
        return ok(dict(status="success", crop_id=self.id, verdict=verdict, person_id=person))

    def put(self, request, id):
        body = json_body(request)
        if "person_id" not in body:
            raise invalid("invalid JSON body: missing field `person_id`")
        person = field(body, "person_id", "int", required=False)
        return self.verdict("nobody" if person is None else person)

    def delete(self, request, id):
        return self.verdict(None)


# ---- reports --------------------------------------------------------------------------


def report_range(request):
    start, end = request.GET.get("from"), request.GET.get("to")
    start = day(start) if start is not None else None
    end = day(end) if end is not None else None
    if start and end and start > end:
        raise invalid(f"from {start} is after to {end}")
    return start, end


def in_range(sessions, start, end):
    if start:
        sessions = sessions.filter(starts_at__gte=f"{start} 00:00:00")
    if end:
        sessions = sessions.filter(starts_at__lte=f"{end} 23:59:59")
    return sessions


def class_table(c, class_id, request):
    start, end = report_range(request)
    scope.school_class(c, class_id)
    sessions = in_range(Session.objects.filter(school_class_id=class_id), start, end)
    finalized = set(StoredRegister.objects.filter(session__in=sessions).values_list("session_id", flat=True))
    lessons = [(s.id, s.name, s.starts_at, s.id in finalized) for s in sorted(sessions, key=lambda s: (s.starts_at, s.id))]
    recorded = list(RegisterMark.objects.filter(register__session__in=sessions).values_list("register__session_id", "person_id", "mark"))
    on_record = {p for _, p, _ in recorded}
    pupils = Person.objects.filter(classes__id=class_id) | Person.objects.filter(id__in=on_record)
    pupils = [(p.id, p.name, p.external_id) for p in sorted(pupils.distinct(), key=lambda p: (p.name, p.id))]
    return start, end, lessons, pupils, recorded


def counts_answer(c):
    present, late, excused, absent, rate = c
    return dict(present=present, late=late, excused=excused, absent=absent, rate=rate)


class ClassAttendance(ApiView):
    def get(self, request, id):
        start, end, lessons, pupils, recorded = class_table(self.caller, self.id, request)
        rows = rules.class_report(lessons, pupils, recorded)
        return ok(dict(
            status="success", class_id=self.id, **{"from": start}, to=end,
            lessons=[dict(session_id=i, name=n, starts_at=t, finalized=f) for i, n, t, f in lessons],
            pupils=[dict(person_id=p, name=n, external_id=e, marks=m, counts=counts_answer(c)) for p, n, e, m, c in rows],
        ))


class ClassAttendanceCsv(ApiView):
    def get(self, request, id):
        _, _, lessons, pupils, recorded = class_table(self.caller, self.id, request)
        return csv_answer(f"class-{self.id}-attendance.csv", rules.class_report_csv(lessons, pupils, recorded))


class PersonAttendance(ApiView):
    def get(self, request, id):
        start, end = report_range(request)
        scope.person(self.caller, self.id)
        name = Person.objects.get(id=self.id).name
        marks = dict(RegisterMark.objects.filter(person_id=self.id).values_list("register__session_id", "mark"))
        rostered = RosterEntry.objects.filter(person_id=self.id).values_list("school_class_id", flat=True)
        # The lessons of the classes the caller reaches where the pupil is on the roster, or was
        # on a finalised register.
        sessions = Session.objects.filter(school_class__in=scope.classes(self.caller)).filter(
            Q(school_class_id__in=list(rostered)) | Q(id__in=list(marks))
        )
        sessions = in_range(sessions, start, end)
        finalized = set(StoredRegister.objects.filter(session__in=sessions).values_list("session_id", flat=True))
        lessons = []
        for s in sorted(sessions, key=lambda s: (s.starts_at, s.id)):
            done = s.id in finalized
            lessons.append(dict(session_id=s.id, class_id=s.school_class_id, name=s.name, starts_at=s.starts_at, finalized=done,
                                mark=marks.get(s.id) if done else None))
        counts = rules.counts([x["mark"] for x in lessons if x["mark"]])
        return ok(dict(status="success", person_id=self.id, name=name, **{"from": start}, to=end, lessons=lessons, counts=counts_answer(counts)))

