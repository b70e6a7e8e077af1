"""Every error answer: ``{"status": "error", "error_type": code, "message": ...}`` with the
status contract.json gives the code. A 5xx logs its cause and answers only "see the server log".
"""

import logging

from django.http import JsonResponse
from rest_framework import exceptions

from .contract import ERROR_STATUS

log = logging.getLogger("facenet_attendance")


class ApiError(Exception):
    """An answer with one of the contract's error codes."""

    def __init__(self, code, message):
        if code not in ERROR_STATUS or ERROR_STATUS[code] is None:
            raise ValueError(f"{code} is not an error code the API answers with")
        super().__init__(message)
        self.code = code
        self.message = message


class Replayed(Exception):
    """The first answer to an Idempotency-Key, sent again (idempotency.py)."""

    def __init__(self, response):
        super().__init__("replayed")
        self.response = response


def crop_not_found(crop_id):
    return ApiError("CropNotFound", f"no face crop {crop_id}")


def error_response(code, message):
    response = JsonResponse({"status": "error", "error_type": code, "message": message}, status=ERROR_STATUS[code])
    if code == "TooManyRequests":
        response["Retry-After"] = "60"
    return response


def answer(exc):
    """The JSON answer for any exception a view raised."""
    if isinstance(exc, Replayed):
        return exc.response
    if isinstance(exc, ApiError):
        return error_response(exc.code, exc.message)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return error_response(
            "Unauthorized",
            "missing, wrong, revoked or expired bearer token: send Authorization: Bearer <your token> "
            "(an admin makes one with manage.py facenet_users add NAME)",
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response("MethodNotAllowed", f"this call does not take {exc.detail}")
    if isinstance(exc, exceptions.ParseError):
        return error_response("InvalidRequest", str(exc.detail))
    log.exception("internal error", exc_info=exc)
    return error_response("InternalError", "internal error; see the server log")


def exception_handler(exc, context):
    """DRF's hook (set on this app's views only: the project's own settings are left alone)."""
    return answer(exc)
