"""Cross-origin isolation for every answer, so that the page's workers may use the threaded
build (www/client/facenet.js: one shared memory, a thread per core), and the page's
Content-Security-Policy (facenet-server's, from contract.json), as facenet-server sends them."""

from facenet_attendance.contract import CONTRACT


class CrossOriginIsolation:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Cross-Origin-Embedder-Policy", "require-corp")
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Content-Security-Policy", CONTRACT["content_security_policy"])
        return response
