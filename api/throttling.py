"""Rate limits in the shared cache: per token (or signed-in person), and per client address."""

from rest_framework.throttling import SimpleRateThrottle

from cspo_tracker.middleware import client_ip

from .access import token_of


class PerToken(SimpleRateThrottle):
    """API_RATE_PER_TOKEN for each token, or each signed-in person without one."""

    scope = "token"

    def get_cache_key(self, request, view):
        token = token_of(request)
        if token is not None:
            ident = f"t{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            return None  # refused anyway; counted per address
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PerAddress(SimpleRateThrottle):
    """API_RATE_PER_ADDRESS for each client address (behind TRUSTED_PROXY_COUNT proxies),
    whatever token it sends: many tokens from one place are still limited."""

    scope = "address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "?"}
