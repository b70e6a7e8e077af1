"""The HTTP API of the repository's README ("The backend"), call by call as facenet-server answers
it (``crates/server/src/api.rs``). Every body is read raw and checked by ``wire``; every error is
an ``ApiError`` answered in the contract's shape."""

import logging

import numpy as np
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from . import contract, register
from .auth import BearerAuthentication
from .errors import ApiError, crop_not_found, error_response, exception_handler
from .images import checked_image
from .models import Embedding, FaceCrop, Person, Photo, Session
from .wire import checked_name, field, invalid, numbers, parse_json, path_id, query_float, query_int

log = logging.getLogger("facenet_attendance")
LIMITS = contract.LIMITS


def ok(body, status=200):
    return JsonResponse(body, status=status, safe=False)


def read_body(request, limit):
    """The raw body, at most ``limit`` bytes (``PayloadTooLarge`` past it)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > limit:
        raise ApiError("PayloadTooLarge", f"a body of {length} bytes; this call takes at most {limit}")
    data = request._request.read(limit + 1)
    if len(data) > limit:
        raise ApiError("PayloadTooLarge", f"a body over {limit} bytes; this call takes at most {limit}")
    return data


def json_body(request):
    return parse_json(read_body(request, LIMITS["max_json_body"]))


def session_or_404(session_id):
    if not Session.objects.filter(id=session_id).exists():
        raise ApiError("NotFound", f"no session {session_id}")


def timestamp(value):
    return value.strftime("%Y-%m-%d %H:%M:%S")


class ApiView(APIView):
    """Bearer token required; raw bodies; errors in the contract's shape."""

    authentication_classes = [BearerAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = []

    def get_exception_handler(self):
        return exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # The path's id is checked here (after the token): a non-number is an InvalidRequest.
        self.id = path_id(kwargs["id"]) if "id" in kwargs else None


class Sessions(ApiView):
    def get(self, request):
        sessions = Session.objects.order_by("id")
        counts = dict(FaceCrop.objects.values_list("session_id").annotate(n=Count("id")))
        return ok(
            [
                dict(id=s.id, name=s.name, created_at=timestamp(s.created_at), crops=counts.get(s.id, 0))
                for s in sessions
            ]
        )

    def post(self, request):
        body = json_body(request)
        name = checked_name(field(body, "name", "str"), "a session's name")
        session = Session.objects.create(name=name)
        return ok({"status": "success", "id": session.id, "name": name}, status=201)


def crop_origin(request):
    """Box, landmarks and score of a crop cut from a photo, checked for form."""
    score = query_float(request, "score")
    if score is not None and not 0.0 <= score <= 1.0:
        raise invalid(f"score must lie in 0–1, got {score}")
    box = request.GET.get("box")
    box = numbers(box, 4, "box") if box is not None else None
    if box is not None and (box[2] < 0 or box[3] < 0):
        raise invalid("box width and height must not be negative")
    landmarks = request.GET.get("landmarks")
    landmarks = numbers(landmarks, 10, "landmarks") if landmarks is not None else None
    box = dict(x=box[0], y=box[1], width=box[2], height=box[3]) if box else None
    landmarks = [[landmarks[i], landmarks[i + 1]] for i in range(0, 10, 2)] if landmarks else None
    return box, landmarks, score


class SessionCrops(ApiView):
    def get(self, request, id):
        session_id = self.id
        session_or_404(session_id)
        # Not the images: a list of thousands of crops must not load their bytes.
        crops = FaceCrop.objects.filter(session_id=session_id).select_related("person").defer("image").order_by("id")
        models = {}
        for crop_id, model in (
            Embedding.objects.filter(crop__session_id=session_id).order_by("id").values_list("crop_id", "model_name")
        ):
            models.setdefault(crop_id, []).append(model)
        return ok(
            [
                dict(
                    id=c.id,
                    filename=c.filename,
                    width=c.width,
                    height=c.height,
                    person_id=c.person_id,
                    person_name=c.person.name if c.person else None,
                    embeddings=models.get(c.id, []),
                    photo_id=c.photo_id,
                    box=c.box,
                    landmarks=c.landmarks,
                    score=c.score,
                )
                for c in crops
            ]
        )

    def post(self, request, id):
        session_id = self.id
        box, landmarks, score = crop_origin(request)
        photo_id = query_int(request, "photo_id")
        filename = checked_name(request.GET.get("filename", "crop"), "filename")
        data = read_body(request, LIMITS["max_image_body"])
        content_type, width, height = checked_image(data)
        with transaction.atomic():
            session_or_404(session_id)
            if photo_id is not None and not Photo.objects.filter(id=photo_id, session_id=session_id).exists():
                raise ApiError("NotFound", f"no photo {photo_id} in session {session_id}")
            crop = FaceCrop.objects.create(
                session_id=session_id,
                filename=filename,
                content_type=content_type,
                image=data,
                width=width,
                height=height,
                photo_id=photo_id,
                box=box,
                landmarks=landmarks,
                score=score,
            )
        return ok(
            dict(status="success", crop_id=crop.id, filename=filename, width=width, height=height, photo_id=photo_id),
            status=201,
        )


class SessionPhotos(ApiView):
    def get(self, request, id):
        session_id = self.id
        session_or_404(session_id)
        photos = (
            Photo.objects.filter(session_id=session_id)
            .annotate(stored=ExpressionWrapper(Q(image__isnull=False), output_field=BooleanField()))
            .defer("image")
            .order_by("id")
        )
        counts = dict(
            FaceCrop.objects.filter(photo__session_id=session_id).values_list("photo_id").annotate(n=Count("id"))
        )
        return ok(
            [
                dict(
                    id=p.id,
                    filename=p.filename,
                    width=p.width,
                    height=p.height,
                    size=p.size,
                    image_stored=p.stored,
                    crops=counts.get(p.id, 0),
                )
                for p in photos
            ]
        )

    def post(self, request, id):
        session_id = self.id
        if request.META.get("CONTENT_TYPE", "").startswith("application/json"):
            body = json_body(request)
            filename = checked_name(field(body, "filename", "str"), "filename")
            width, height = field(body, "width", "uint"), field(body, "height", "uint")
            size = field(body, "size", "u64", required=False)
            if width == 0 or height == 0:
                raise invalid("a photo's width and height must be positive")
            content_type = data = None
        else:
            filename = checked_name(request.GET.get("filename", "photo"), "filename")
            data = read_body(request, LIMITS["max_image_body"])
            content_type, width, height = checked_image(data)
            size = len(data)
        session_or_404(session_id)
        photo = Photo.objects.create(
            session_id=session_id,
            filename=filename,
            width=width,
            height=height,
            size=size,
            content_type=content_type,
            image=data,
        )
        return ok(
            dict(
                status="success",
                photo_id=photo.id,
                filename=filename,
                width=width,
                height=height,
                image_stored=data is not None,
            ),
            status=201,
        )


def image_answer(content_type, data):
    response = HttpResponse(bytes(data), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


class PhotoImage(ApiView):
    def get(self, request, id):
        photo_id = self.id
        photo = Photo.objects.filter(id=photo_id).first()
        if photo is None:
            raise ApiError("NotFound", f"no photo {photo_id}")
        if photo.image is None or photo.content_type is None:
            raise ApiError(
                "NotFound", f"photo {photo_id} was registered without its image (only its crops were uploaded)"
            )
        return image_answer(photo.content_type, photo.image)


class CropImage(ApiView):
    def get(self, request, id):
        crop_id = self.id
        crop = FaceCrop.objects.filter(id=crop_id).only("content_type", "image").first()
        if crop is None:
            raise crop_not_found(crop_id)
        return image_answer(crop.content_type, crop.image)


def validate(model, version, values):
    """A posted vector checked against the served model: name, version, dimension, finite, norm
    1 ± 1e-3 (facenet-server's rules); its f32 values."""
    known = contract.manifest()
    if model not in known["dimensions"]:
        raise ApiError(
            "InvalidEmbedding",
            f"unknown model_name {model!r}; this server takes {', '.join(sorted(known['dimensions']))}",
        )
    if version is None:
        raise ApiError("InvalidEmbedding", "model_version is required")
    if version != known["version"]:
        raise ApiError(
            "InvalidEmbedding",
            f"model_version {version!r} is not the served model's {known['version']!r}: reload the page to get the current model",
        )
    dimension = known["dimensions"][model]
    if len(values) != dimension:
        raise ApiError("InvalidEmbedding", f"{model} vectors have {dimension} values, got {len(values)}")
    vector = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(vector))
    if bad.size:
        raise ApiError("InvalidEmbedding", f"value {bad[0]} is not a finite number")
    norm = float(np.sqrt(np.sum(vector * vector)))
    if abs(norm - 1.0) > 1e-3:
        raise ApiError("InvalidEmbedding", f"norm is {norm:.6f}; embeddings are unit vectors (1 ± 0.001)")
    return vector.astype("<f4")


def store(crop_id, model, version, values, force):
    """Validates and stores one vector (inside the caller's transaction): the same vector twice
    is stored once; a different one needs ``force_regenerate``. Writers of one crop queue on its row."""
    vector = validate(model, version, values)
    if not FaceCrop.objects.select_for_update().filter(id=crop_id).exists():
        raise crop_not_found(crop_id)
    old = Embedding.objects.filter(crop_id=crop_id, model_name=model).first()
    if old is not None and np.all(np.abs(np.frombuffer(bytes(old.vector), dtype="<f4") - vector) <= 1e-6):
        message = "embedding already stored (unchanged)"
    elif old is not None and not force:
        raise ApiError(
            "EmbeddingExists",
            f'face crop {crop_id} already has a different {model} vector; post with "force_regenerate": true to replace it',
        )
    else:
        Embedding.objects.update_or_create(
            crop_id=crop_id,
            model_name=model,
            defaults=dict(model_version=contract.manifest()["version"], dimension=len(vector), vector=vector.tobytes()),
        )
        message = "embedding replaced" if old is not None else "embedding stored"
    log.info("crop %s: %s %d-d %s", crop_id, model, len(vector), message)
    return dict(
        status="success", crop_id=crop_id, embedding_model=model, embedding_dimension=len(vector), message=message
    )


class CropEmbedding(ApiView):
    def post(self, request, id):
        crop_id = self.id
        body = json_body(request)
        model = field(body, "model_name", "str")
        version = field(body, "model_version", "str", required=False)
        values = field(body, "embedding", "numbers")
        force = field(body, "force_regenerate", "bool", required=False) or False
        # Validated before the transaction: a malformed vector never waits behind a writer.
        validate(model, version, values)
        with transaction.atomic():
            return ok(store(crop_id, model, version, values, force))


class EmbeddingsBatch(ApiView):
    def post(self, request):
        body = json_body(request)
        model = field(body, "model_name", "str")
        version = field(body, "model_version", "str", required=False)
        items = field(body, "items", "list")
        if len(items) > LIMITS["max_batch_items"]:
            raise invalid(
                f"{len(items)} items in one batch; at most {LIMITS['max_batch_items']}: split it into several posts"
            )
        parsed = []
        for item in items:
            if not isinstance(item, dict):
                raise invalid("invalid JSON body: every item is an object")
            parsed.append(
                (
                    field(item, "crop_id", "int"),
                    field(item, "embedding", "numbers"),
                    field(item, "model_version", "str", required=False) or version,
                    field(item, "force_regenerate", "bool", required=False) or False,
                )
            )
        results, failed = [], 0
        # One transaction: a crash mid-batch leaves none of its vectors half-done. Each item
        # succeeds or fails alone (its failure is an answer, not a database error).
        with transaction.atomic():
            for crop_id, values, item_version, force in parsed:
                try:
                    results.append(store(crop_id, model, item_version, values, force))
                except ApiError as e:
                    failed += 1
                    results.append(dict(status="error", crop_id=crop_id, error_type=e.code, message=e.message))
        status = "success" if failed == 0 else "error" if failed == len(results) else "partial"
        return ok(dict(status=status, stored=len(results) - failed, failed=failed, results=results))


class People(ApiView):
    def get(self, request):
        counts = dict(FaceCrop.objects.filter(person__isnull=False).values_list("person_id").annotate(n=Count("id")))
        people = sorted(Person.objects.values_list("id", "name"), key=lambda p: p[1])
        return ok([dict(id=pid, name=name, crops=counts.get(pid, 0)) for pid, name in people])

    def post(self, request):
        body = json_body(request)
        name = checked_name(field(body, "name", "str"), "a person's name")
        crop_ids = field(body, "crop_ids", "ints")
        if not crop_ids:
            raise invalid("enrolling needs at least one crop_id")
        with transaction.atomic():
            person, _ = Person.objects.get_or_create(name=name)
            for crop_id in crop_ids:
                if FaceCrop.objects.filter(id=crop_id).update(person=person) == 0:
                    raise crop_not_found(crop_id)  # leaving the block rolls back
        return ok(dict(status="success", person_id=person.id, name=name, crop_ids=crop_ids))


class Assignments(ApiView):
    def post(self, request, id):
        session_id = self.id
        data = read_body(request, LIMITS["max_json_body"])
        body = parse_json(data) if data else {}
        wanted = dict(
            model_name=field(body, "model_name", "str", required=False),
            threshold=field(body, "threshold", "number", required=False),
            cluster_threshold=field(body, "cluster_threshold", "number", required=False),
        )
        return ok(register.assignment(session_id, wanted))


def register_query(request, session_id):
    return register.register(session_id, request.GET.get("model_name"), query_float(request, "threshold"))


class Attendance(ApiView):
    def get(self, request, id):
        session_id = self.id
        return ok(register_query(request, session_id))


class AttendanceCsv(ApiView):
    def get(self, request, id):
        session_id = self.id
        response = HttpResponse(
            register.register_csv(register_query(request, session_id)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="session-{session_id}-attendance.csv"'
        return response


class NotYet(ApiView):
    """A call of the contract this app does not answer yet — the school of issue 19 (accounts,
    classes, rosters, the register as a record, reports), which facenet-server has. The token is
    checked as for every call; then a ``NotFound`` that says so."""

    def refuse(self, request, **kwargs):
        raise ApiError(
            "NotFound",
            f"{request.method} {request.path}: this Django app does not have the school's calls yet "
            "(accounts, classes, rosters, registers as records; facenet-server does)",
        )

    get = post = put = patch = delete = refuse


@csrf_exempt
def endpoint_moved(request, **kwargs):
    """The old system's server-side embedding calls, answered for anyone: where vectors come from now."""
    return error_response(
        "EndpointMoved",
        f"{request.path} is gone: vectors are computed in the browser now (FaceEmbedder in www/client/facenet.js) and "
        "posted to POST /api/attendance/face-crops/{id}/embedding/ or POST /api/attendance/face-crops/embeddings-batch/",
    )


@csrf_exempt
def unknown_path(request, rest=""):
    return error_response("NotFound", f"no API call {request.method} {request.path}; see the README's API table")
