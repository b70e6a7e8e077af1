"""The HTTP API of the repository's README ("The backend"), call by call as facenet-server answers
it (``crates/server/src/api.rs``). Every body is read raw and checked by ``wire``; every error is
an ``ApiError`` answered in the contract's shape."""

import logging

import numpy as np
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

import facenet_attendance_rules as rules

from . import contract, idempotency, register, scope
from .auth import BearerAuthentication
from .errors import ApiError, crop_not_found, error_response, exception_handler
from .images import checked_crop, checked_image
from .models import Embedding, FaceCrop, Photo, Session, StoredRegister
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
    # A request with an Idempotency-Key had its body read for its fingerprint (idempotency.py).
    data = getattr(request._request, "facenet_body", None)
    if data is None:
        data = request._request.read(limit + 1)
    if len(data) > limit:
        raise ApiError("PayloadTooLarge", f"a body over {limit} bytes; this call takes at most {limit}")
    return data


def json_body(request):
    return parse_json(read_body(request, LIMITS["max_json_body"]))


def timestamp(value):
    return value.strftime("%Y-%m-%d %H:%M:%S")


class ApiView(APIView):
    """Bearer token required; raw bodies; errors in the contract's shape."""

    authentication_classes = [BearerAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = []

    def get_exception_handler(self):
        return exception_handler

    idempotent = None  # this request's Idempotency-Key row, if it has one

    def finalize_response(self, request, response, *args, **kwargs):
        # Answers hold pupils' names, marks and faces: no cache keeps them.
        response = super().finalize_response(request, response, *args, **kwargs)
        response.setdefault("Cache-Control", "no-store")
        idempotency.finish(self.idempotent, response)
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # The path's ids are checked here (after the token): a non-number is an InvalidRequest.
        self.id = path_id(kwargs["id"]) if "id" in kwargs else None
        self.person_id = path_id(kwargs["person_id"]) if "person_id" in kwargs else None
        self.caller = scope.caller(request)
        self.idempotent = idempotency.begin(self, request)


def session_summaries(c, one=None):
    """The sessions of the classes ``c`` reaches (or session ``one`` alone), by id."""
    sessions = Session.objects.filter(school_class__in=scope.classes(c)).order_by("id")
    if one is not None:
        sessions = sessions.filter(id=one)
    counts = dict(FaceCrop.objects.filter(session__in=sessions).values_list("session_id").annotate(n=Count("id")))
    finalized = set(StoredRegister.objects.filter(session__in=sessions).values_list("session_id", flat=True))
    return [
        dict(
            id=s.id, name=s.name, created_at=timestamp(s.created_at), crops=counts.get(s.id, 0),
            class_id=s.school_class_id, starts_at=s.starts_at, finalized=s.id in finalized,
        )
        for s in sessions
    ]


class Sessions(ApiView):
    def get(self, request):
        return ok(session_summaries(self.caller))

    def post(self, request):
        from .school import default_class, lesson_start

        body = json_body(request)
        name = checked_name(field(body, "name", "str"), "a session's name")
        class_id = field(body, "class_id", "int", required=False)
        starts_at = field(body, "starts_at", "str", required=False)
        starts_at = lesson_start(starts_at) if starts_at is not None else timestamp(timezone.now())
        with transaction.atomic():
            if class_id is None:
                class_id = default_class(self.caller)
            else:
                scope.school_class(self.caller, class_id)
            session = Session.objects.create(name=name, school_class_id=class_id, starts_at=starts_at)
        return ok(
            {"status": "success", "id": session.id, "name": name, "class_id": class_id, "starts_at": starts_at}, status=201
        )


class OneSession(ApiView):
    def get(self, request, id):
        found = session_summaries(self.caller, self.id)
        if not found:
            raise ApiError("NotFound", f"no session {self.id}")
        return ok(found[0])

    def delete(self, request, id):
        from .privacy import delete_session

        return delete_session(self.caller, self.id)


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
        scope.session(self.caller, session_id)
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
        content_type, width, height, data, sharpness = checked_crop(data)
        with transaction.atomic():
            scope.session(self.caller, session_id)
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
                sharpness=sharpness,
            )
        return ok(
            dict(status="success", crop_id=crop.id, filename=filename, width=width, height=height, photo_id=photo_id),
            status=201,
        )


class SessionPhotos(ApiView):
    def get(self, request, id):
        session_id = self.id
        scope.session(self.caller, session_id)
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
            size = len(data)
            content_type, width, height, data = checked_image(data)
        scope.session(self.caller, session_id)
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
    """Faces are biometric data: no cache keeps them, so an erasure leaves no copy behind."""
    response = HttpResponse(bytes(data), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


class PhotoImage(ApiView):
    def get(self, request, id):
        photo_id = self.id
        scope.photo(self.caller, photo_id)
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
        scope.crop(self.caller, crop_id)
        crop = FaceCrop.objects.filter(id=crop_id).only("content_type", "image").first()
        if crop is None:
            raise crop_not_found(crop_id)
        return image_answer(crop.content_type, crop.image)


def validate(model, version, values):
    """A posted vector checked against the served model by the attendance rules
    (``vector::validate``: name, version, dimension, finite, norm 1 ± 1e-3); its f32 values."""
    known = contract.manifest()
    try:
        stored = rules.validate_vector(sorted(known["dimensions"].items()), known["version"], model, version, values)
    except ValueError as e:
        raise ApiError("InvalidEmbedding", str(e)) from None
    return np.frombuffer(stored, dtype="<f4")


def store(c, crop_id, model, version, values, force):
    """Validates and stores one vector (inside the caller's transaction): the same vector twice
    is stored once; a different one needs ``force_regenerate``. Writers of one crop queue on its row."""
    vector = validate(model, version, values)
    scope.crop(c, crop_id)
    if not FaceCrop.objects.select_for_update().filter(id=crop_id).exists():
        raise crop_not_found(crop_id)
    # A vector of another model version is replaced without force_regenerate (it matches nothing).
    old = Embedding.objects.filter(crop_id=crop_id, model_name=model, model_version=contract.manifest()["version"]).first()
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
            return ok(store(self.caller, crop_id, model, version, values, force))


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
                    results.append(store(self.caller, crop_id, model, item_version, values, force))
                except ApiError as e:
                    failed += 1
                    results.append(dict(status="error", crop_id=crop_id, error_type=e.code, message=e.message))
        status = "success" if failed == 0 else "error" if failed == len(results) else "partial"
        return ok(dict(status=status, stored=len(results) - failed, failed=failed, results=results))


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
        return ok(register.assignment(self.caller, session_id, wanted))


def register_query(view, request, session_id):
    return register.current(view.caller, session_id, request.GET.get("model_name"), query_float(request, "threshold"))


def csv_answer(filename, text):
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class Attendance(ApiView):
    def get(self, request, id):
        return ok(register_query(self, request, self.id))


class AttendanceCsv(ApiView):
    def get(self, request, id):
        answer = register_query(self, request, self.id)
        return csv_answer(f"session-{self.id}-attendance.csv", register.register_csv(answer))


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
