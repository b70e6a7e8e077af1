"""The API's URLs, from contract.json's paths (the ones facenet-server routes), under whatever
prefix the project includes them at — ``/api/attendance/`` keeps the browser client's URLs:

    path("api/attendance/", include("facenet_attendance.urls")),
"""

import re

from django.urls import path, re_path

from . import deployment, privacy, school, views
from .contract import CONTRACT

VIEWS = {
    "SESSIONS": views.Sessions,
    "SESSION_CROPS": views.SessionCrops,
    "SESSION_PHOTOS": views.SessionPhotos,
    "ASSIGNMENTS": views.Assignments,
    "ATTENDANCE": views.Attendance,
    "ATTENDANCE_CSV": views.AttendanceCsv,
    "PHOTO_IMAGE": views.PhotoImage,
    "CROP_IMAGE": views.CropImage,
    "CROP_EMBEDDING": views.CropEmbedding,
    "EMBEDDINGS_BATCH": views.EmbeddingsBatch,
    "PEOPLE": school.People,
    "SESSION": views.OneSession,
    "ME": school.Me,
    "USERS": school.Users,
    "USER_TOKENS": school.UserTokens,
    "CLASSES": school.Classes,
    "CLASS": school.OneClass,
    "CLASS_PUPILS": school.ClassPupils,
    "CLASS_PUPIL": school.ClassPupil,
    "CLASS_ATTENDANCE": school.ClassAttendance,
    "CLASS_ATTENDANCE_CSV": school.ClassAttendanceCsv,
    "PERSON": school.OnePerson,
    "PERSON_REFERENCES": school.PersonReferences,
    "PERSON_ATTENDANCE": school.PersonAttendance,
    "MARK": school.MarkView,
    "FINALIZE": school.Finalize,
    "REOPEN": school.Reopen,
    "CROP_PERSON": school.CropPerson,
    "CONSENT": privacy.Consent,
    "PERSON_EXPORT": privacy.PersonExport,
    "CROP": privacy.Crop,
    "PHOTO": privacy.OnePhoto,
    "AUDIT": privacy.Audit,
    "AUDIT_CSV": privacy.AuditCsv,
    "RETENTION": privacy.Retention,
    "PURGE": privacy.Purge,
    "SETTINGS": deployment.Settings,
}
OLD = {"OLD_GENERATE_EMBEDDING", "OLD_GENERATE_EMBEDDINGS_BATCH"}
missing = set(CONTRACT["paths"]) - set(VIEWS) - OLD
if missing:
    raise RuntimeError(f"contract.json has calls this app does not answer: {sorted(missing)}")


def route(template):
    # "/sessions/{id}/attendance/{person_id}/" → "sessions/<id>/attendance/<person_id>/": any
    # segment, checked in the view (a non-number is an InvalidRequest, as facenet-server answers it).
    return re.sub(r"\{(\w+)\}", r"<str:\1>", template.lstrip("/"))


app_name = "facenet_attendance"
# Paths without an id first: "face-crops/embeddings-batch/" must not be taken for the crop
# "face-crops/<id>/" (facenet-server's router prefers a literal segment too).
urlpatterns = [path(route(CONTRACT["paths"][name]), views.endpoint_moved, name=name.lower()) for name in sorted(OLD)]
urlpatterns += sorted(
    (path(route(CONTRACT["paths"][name]), view.as_view(), name=name.lower()) for name, view in VIEWS.items()),
    key=lambda p: "<" in str(p.pattern),
)
# Anything else under the prefix: a JSON NotFound, never Django's HTML page.
urlpatterns.append(re_path(r"^(?P<rest>.*)$", views.unknown_path))
