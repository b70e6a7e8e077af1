"""``Idempotency-Key`` on the creates a client retries, as facenet-server answers it
(``crates/server/src/idempotency.rs``, the IETF httpapi draft's semantics): a ``POST`` of a
lesson, photo record, crop, vector or batch carrying the header is answered once;
the same caller sending the same key with the same request again gets the first answer again
(``Idempotent-Replayed: true``); the same key with another request is ``422
IdempotencyKeyReused``; while the first is being answered, ``409 Conflict``.

Across gunicorn's workers the first request's row (``status`` null until it is answered) is what
makes a second one wait: the database's unique (caller, key) decides who is first. A row left
unanswered by a worker that died is taken over after ``ABANDONED``.
"""

import hashlib
import json
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from .contract import CONTRACT, LIMITS
from .errors import ApiError, Replayed
from .models import IdempotentRequest

KEEP = timedelta(hours=24)  # facenet-server's KEEP_HOURS: the retention purge clears older answers
ABANDONED = timedelta(seconds=2 * LIMITS["request_timeout_seconds"])
MAX_KEY_LEN = 255
# The creates covered (their answers hold ids, sizes and file names, never a pupil's name); other
# calls ignore the header, as facenet-server's COVERED.
COVERED = [
    # The end of the path: the project includes the app's URLs under a prefix of its choosing.
    re.compile(re.escape(CONTRACT["paths"][name]).replace(re.escape("{id}"), r"\d+") + "$")
    for name in ("SESSIONS", "SESSION_PHOTOS", "SESSION_CROPS", "CROP_EMBEDDING", "EMBEDDINGS_BATCH")
]


def is_final(status):
    return 200 <= status < 500 and status not in (408, 409, 425, 429)


def caller_name(c):
    return f"user {c.id}" if c.id is not None else "server token"


def begin(view, request):
    """Before the handler: ``None`` without a key; else this request's row (it is the first), or
    raises ``Replayed`` (the first answer), ``IdempotencyKeyReused`` or ``Conflict``."""
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is None or request.method != "POST":
        return None
    if not any(p.search(request.path) for p in COVERED):
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LEN or not key.isascii() or not key.isprintable():
        raise ApiError("InvalidRequest", f"Idempotency-Key must be 1–{MAX_KEY_LEN} visible ASCII characters")
    limit = LIMITS["max_image_body"]
    body = request._request.read(limit + 1)
    if len(body) > limit:
        raise ApiError("PayloadTooLarge", f"a body over {limit} bytes; this call takes at most {limit}")
    request._request.facenet_body = body  # read_body hands this on to the handler
    digest = hashlib.sha256()
    for part in (request.method.encode(), b" ", request.get_full_path().encode(), b"\n",
                 request.META.get("CONTENT_TYPE", "").encode(), b"\n", body):
        digest.update(part)
    fingerprint = digest.hexdigest()
    caller = caller_name(view.caller)
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(caller=caller, key=key, fingerprint=fingerprint)
    except IntegrityError:
        pass
    first = IdempotentRequest.objects.get(caller=caller, key=key)
    if first.fingerprint != fingerprint:
        raise ApiError("IdempotencyKeyReused",
                       f"this Idempotency-Key was used with another request (first with another call or body, by {caller}); "
                       "send a new key for a new request")
    if first.status is not None:
        response = HttpResponse(bytes(first.body), status=first.status, content_type=first.content_type)
        response["Idempotent-Replayed"] = "true"
        raise Replayed(response)
    taken = IdempotentRequest.objects.filter(id=first.id, status__isnull=True, created_at__lt=timezone.now() - ABANDONED)
    if taken.update(created_at=timezone.now()) == 1:
        return first
    raise ApiError("Conflict", f"a request with Idempotency-Key {key} is being answered; retry after it")


def finish(row, response):
    """After the handler: a final answer kept for the key, any other let go (a retry runs again)."""
    if row is None or response.get("Idempotent-Replayed"):
        return
    if is_final(response.status_code):
        IdempotentRequest.objects.filter(id=row.id).update(
            status=response.status_code, content_type=response.get("Content-Type"), body=bytes(response.content),
            about=about(response.content))
    else:
        IdempotentRequest.objects.filter(id=row.id).delete()


def about(body):
    """What a stored answer is about, for erasure: ``crop:<id>`` or ``photo:<id>``."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    for field, kind in (("crop_id", "crop"), ("photo_id", "photo")):
        if isinstance(answer.get(field), int):
            return f"{kind}:{answer[field]}"
    return None


def forget(crop_ids=(), photo_ids=()):
    """Erases the stored answers about these crops and photos (a file name goes with its crop)."""
    about = [f"crop:{i}" for i in crop_ids] + [f"photo:{i}" for i in photo_ids]
    if about:
        IdempotentRequest.objects.filter(about__in=about).delete()


def purge_old():
    return IdempotentRequest.objects.filter(created_at__lt=timezone.now() - KEEP).delete()[0]
