"""The API's URLs, from contract.json's paths (the ones facenet-server routes), under whatever
prefix the project includes them at — ``/api/attendance/`` keeps the browser client's URLs:

    path("api/attendance/", include("facenet_attendance.urls")),
"""

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
missing = set(CONTRACT["paths"]) - set(VIEWS) - OLD
if missing:
    raise RuntimeError(f"contract.json has calls this app does not answer: {sorted(missing)}")


def route(template):
    # "/sessions/{id}/face-crops/" → "sessions/<id>/face-crops/": any segment, checked in the
    # view (a non-number is an InvalidRequest, as facenet-server answers it).
    return template.lstrip("/").replace("{id}", "<str:id>")


app_name = "facenet_attendance"
urlpatterns = [path(route(CONTRACT["paths"][name]), view.as_view(), name=name.lower()) for name, view in VIEWS.items()]
urlpatterns += [path(route(CONTRACT["paths"][name]), views.endpoint_moved, name=name.lower()) for name in sorted(OLD)]
# Anything else under the prefix: a JSON NotFound, never Django's HTML page.
urlpatterns.append(re_path(r"^(?P<rest>.*)$", views.unknown_path))
