"""Cross-origin isolation for every answer, so that the page's workers may use the threaded
build (www/client/facenet.js: one shared memory, a thread per core), as facenet-server does."""


class CrossOriginIsolation:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Cross-Origin-Embedder-Policy", "require-corp")
        response.setdefault("X-Content-Type-Options", "nosniff")
        return response
