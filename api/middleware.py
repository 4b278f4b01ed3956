"""ETags on API reads: a GET answers with an ETag (a hash of the body), and `304 Not Modified`
when the client's If-None-Match still matches. API answers are `private, no-cache` (kept by
the client only, and checked again before each use) rather than the pages' `no-store`."""

from django.middleware.http import ConditionalGetMiddleware
from django.utils.cache import patch_cache_control, patch_vary_headers


class ApiConditionalGetMiddleware(ConditionalGetMiddleware):
    def process_response(self, request, response):
        if not request.path.startswith("/api/"):
            return response
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ("Authorization", "Cookie"))
        return super().process_response(request, response)
