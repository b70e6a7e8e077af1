"""``Authorization: Bearer <token>``: the token of setting ``FACENET_TOKEN`` (compared in constant
time), or, where the project has ``rest_framework.authtoken``, any user's DRF token. The scheme is
case-insensitive (RFC 9110 §11.1)."""

import hmac

from django.apps import apps
from rest_framework import authentication, exceptions

from . import contract


class ServiceUser:
    """Who a request holding FACENET_TOKEN is: the attendance service itself."""

    is_authenticated = True
    is_active = True
    pk = None
    username = "facenet-attendance"

    def __str__(self):
        return self.username


class BearerAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        if hmac.compare_digest(token.encode(), contract.token().encode()):
            return ServiceUser(), token
        if apps.is_installed("rest_framework.authtoken"):
            from rest_framework.authtoken.models import Token

            found = Token.objects.select_related("user").filter(key=token).first()
            if found is not None and found.user.is_active:
                return found.user, found
        raise exceptions.AuthenticationFailed("wrong bearer token")

    def authenticate_header(self, request):
        return "Bearer"
