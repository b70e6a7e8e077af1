"""``Authorization: Bearer <token>``: an account's token (``AccessToken``, kept as its SHA-256
only; neither revoked nor expired; the user active), or the token of setting ``FACENET_TOKEN``
(compared in constant time: an admin without an account, as facenet-server's ``--token``), or,
where the project has ``rest_framework.authtoken``, a user's DRF token. The scheme is
case-insensitive (RFC 9110 §11.1). Who the caller is and what they reach: ``scope.py``."""

import hashlib
import hmac
import secrets
import threading
import time

from django.apps import apps
from django.db.models import Q
from django.utils import timezone
from rest_framework import authentication, exceptions

from . import contract

# What records name FACENET_TOKEN by (facenet-server's SERVER_TOKEN_NAME).
SERVER_TOKEN_NAME = "admin (--token)"


class ServiceUser:
    """Who a request holding FACENET_TOKEN is: the school's admin without an account."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None
    id = None
    username = SERVER_TOKEN_NAME

    def has_perm(self, perm):
        return True

    def __str__(self):
        return self.username


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def new_token():
    """128 random bits as 32 hex digits, as facenet-server makes them."""
    return secrets.token_hex(16)


def live_tokens():
    """Tokens that work now: neither revoked nor expired."""
    from .models import AccessToken

    return AccessToken.objects.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


class BearerAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        if hmac.compare_digest(token.encode(), contract.token().encode()):
            return ServiceUser(), token
        found = live_tokens().select_related("user").filter(hash=token_hash(token)).first()
        if found is not None and found.user.is_active:
            return found.user, found
        if apps.is_installed("rest_framework.authtoken"):
            from rest_framework.authtoken.models import Token

            drf = Token.objects.select_related("user").filter(key=token).first()
            if drf is not None and drf.user.is_active:
                return drf.user, drf
        failed_sign_in()
        raise exceptions.AuthenticationFailed("wrong bearer token")

    def authenticate_header(self, request):
        return "Bearer"


# Failed sign-ins of this process in the current minute (facenet-server's accounts.rs): past the
# contract's limit, 429 until the minute is over; under it, each is audited.
_failures = {"start": 0.0, "count": 0}
_failures_lock = threading.Lock()


def failed_sign_in():
    from .errors import ApiError
    from .privacy import record

    with _failures_lock:
        now = time.monotonic()
        if now - _failures["start"] >= 60:
            _failures.update(start=now, count=0)
        _failures["count"] += 1
        count = _failures["count"]
    if count > contract.LIMITS["failed_sign_ins_per_minute"]:
        raise ApiError("TooManyRequests", "too many failed sign-ins this minute; try again in a minute")
    record("(no account)", "sign_in_failed", detail=dict(in_this_minute=count))
