"""The API's URLs, from contract.json's paths (the ones facenet-server routes), under whatever
prefix the project includes them at — ``/api/attendance/`` keeps the browser client's URLs:

    path("api/attendance/", include("facenet_attendance.urls")),
"""

import re

from django.urls import path, re_path

from . import views
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
    "PEOPLE": views.People,
}
OLD = {"OLD_GENERATE_EMBEDDING", "OLD_GENERATE_EMBEDDINGS_BATCH"}
# The school's calls (issue 19), answered by facenet-server and not yet here: views.NotYet.
NOT_YET = {
    "ME", "USERS", "USER_TOKENS", "CLASSES", "CLASS", "CLASS_PUPILS", "CLASS_PUPIL", "CLASS_ATTENDANCE",
    "CLASS_ATTENDANCE_CSV", "SESSION", "PERSON", "PERSON_REFERENCES", "PERSON_ATTENDANCE", "MARK", "FINALIZE",
    "REOPEN", "CROP_PERSON",
}
VIEWS.update({name: views.NotYet for name in NOT_YET})
missing = set(CONTRACT["paths"]) - set(VIEWS) - OLD
if missing:
    raise RuntimeError(f"contract.json has calls this app does not answer: {sorted(missing)}")


def route(template):
    # "/sessions/{id}/attendance/{person_id}/" → "sessions/<id>/attendance/<person_id>/": any
    # segment, checked in the view (a non-number is an InvalidRequest, as facenet-server answers it).
    return re.sub(r"\{(\w+)\}", r"<str:\1>", template.lstrip("/"))


app_name = "facenet_attendance"
urlpatterns = [path(route(CONTRACT["paths"][name]), view.as_view(), name=name.lower()) for name, view in VIEWS.items()]
urlpatterns += [path(route(CONTRACT["paths"][name]), views.endpoint_moved, name=name.lower()) for name in sorted(OLD)]
# Anything else under the prefix: a JSON NotFound, never Django's HTML page.
urlpatterns.append(re_path(r"^(?P<rest>.*)$", views.unknown_path))
