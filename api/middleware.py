"""ETags on API reads: a GET answers with an ETag (a hash of the body), and `304 Not Modified`
when the client's If-None-Match still matches. API answers are `private, no-cache` (kept by
the client only, and checked again before each use) rather than the pages' `no-store`."""

from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
    set_response_etag,
)


class ApiConditionalGetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/"):
            return response
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if not response.streaming and not response.has_header("ETag"):
            set_response_etag(response)  # HEAD too: the body is there until the server drops it
        return get_conditional_response(request, etag=response.get("ETag"), response=response)
