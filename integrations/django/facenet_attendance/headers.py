"""The headers the session page needs, as facenet-server sends them: cross-origin isolation, so
that the page's workers may use the threaded build (www/client/facenet.js: one shared memory, a
thread per core), and the page's Content-Security-Policy (from contract.json). A project serving
the page adds it to ``MIDDLEWARE``::

    MIDDLEWARE = [..., "facenet_attendance.headers.PageHeaders"]

``GET /settings/`` reports the policy only when this middleware is installed.
"""

from .contract import CONTRACT

MIDDLEWARE_PATH = "facenet_attendance.headers.PageHeaders"


class PageHeaders:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Cross-Origin-Embedder-Policy", "require-corp")
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Content-Security-Policy", CONTRACT["content_security_policy"])
        return response
