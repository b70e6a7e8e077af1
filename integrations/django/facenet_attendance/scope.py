"""Who is calling, and what they may reach (facenet-server's ``scope.rs``): an admin reaches
everything; a teacher the classes they teach and what hangs off them — sessions, photos, crops,
vectors, registers, and the pupils on their rosters. Everything reached by id is checked here;
an id the caller may not reach answers exactly as one that does not exist (404)."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from .errors import ApiError, crop_not_found
from .models import FaceCrop, Person, Photo, RosterEntry, SchoolClass, Session, StoredRegister


@dataclass(frozen=True)
class Caller:
    id: int | None  # None: FACENET_TOKEN
    name: str
    admin: bool

    def admin_only(self, what):
        if not self.admin:
            raise ApiError("Forbidden", f"{what} is for admins")


def caller(request):
    user = request.user
    admin = bool(user.is_superuser or user.has_perm("facenet_attendance.administer_school"))
    return Caller(id=user.pk, name=str(user.username), admin=admin)


def classes(c):
    """The classes ``c`` reaches."""
    return SchoolClass.objects.all() if c.admin else SchoolClass.objects.filter(teachers__id=c.id)


def school_class(c, class_id):
    if not classes(c).filter(id=class_id).exists():
        raise ApiError("NotFound", f"no class {class_id}")


def session(c, session_id):
    """The session (with ``finalized``) if ``c`` reaches it."""
    # One query, as facenet-server's: the session, and whether a stored register exists for it.
    found = (
        Session.objects.filter(id=session_id, school_class__in=classes(c))
        .annotate(finalized=Exists(StoredRegister.objects.filter(session_id=OuterRef("pk"))))
        .first()
    )
    if found is None:
        raise ApiError("NotFound", f"no session {session_id}")
    return found


def open_session(c, session_id):
    found = session(c, session_id)
    if found.finalized:
        raise ApiError(
            "RegisterFinalized",
            f"the register of session {session_id} is finalised: reopen it (POST …/sessions/{session_id}/reopen/) to change it",
        )
    return found


def crop(c, crop_id):
    """The crop's session id if ``c`` reaches it (``CropNotFound`` otherwise)."""
    found = FaceCrop.objects.filter(id=crop_id, session__school_class__in=classes(c)).values_list("session_id", flat=True).first()
    if found is None:
        raise crop_not_found(crop_id)
    return found


def photo(c, photo_id):
    if not Photo.objects.filter(id=photo_id, session__school_class__in=classes(c)).exists():
        raise ApiError("NotFound", f"no photo {photo_id}")


def people(c):
    """The pupils ``c`` reaches: an admin's all, a teacher's those on a roster of theirs."""
    return Person.objects.all() if c.admin else Person.objects.filter(classes__in=classes(c)).distinct()


def person(c, person_id):
    if not people(c).filter(id=person_id).exists():
        raise ApiError("NotFound", f"no pupil {person_id}")


def on_roster(class_id, person_id):
    if not RosterEntry.objects.filter(school_class_id=class_id, person_id=person_id).exists():
        raise ApiError("NotFound", f"no pupil {person_id} on the roster of class {class_id}")
