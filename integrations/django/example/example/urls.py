"""The API, and the session page with its files (www/, pkg/, the two models and their
manifests), served from the checkout as facenet-server serves them."""

import json

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect
from django.urls import include, path, re_path
from django.views.static import serve

REPO = settings.REPO
VERSION = json.loads((REPO / "models" / "facenet.json").read_text())["sha256"][:12]
MODELS = {"facenet.onnx", "facenet.json", "retinaface.onnx", "retinaface.json", f"facenet.{VERSION}.onnx"}


def model(request, name):
    if name not in MODELS:
        raise Http404(name)
    response = serve(
        request, "facenet.onnx" if name == f"facenet.{VERSION}.onnx" else name, document_root=REPO / "models"
    )
    if name != "facenet.onnx" and name.startswith("facenet."):
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


urlpatterns = [
    path("api/attendance/", include("facenet_attendance.urls")),
    path("", lambda request: redirect("/www/app/index.html")),
    # The page's service worker at the root (its scope covers the page, the worker and the builds).
    path("sw.js", lambda request: serve(request, "app/sw.js", document_root=REPO / "www")),
    re_path(r"^www/(?P<path>.*)$", serve, {"document_root": REPO / "www"}),
    re_path(r"^pkg/(?P<path>.*)$", serve, {"document_root": REPO / "pkg"}),
    re_path(r"^models/(?P<name>[^/]+)$", model),
]
