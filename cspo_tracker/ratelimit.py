"""Counting events per key in fixed windows, in the shared cache, with django-ratelimit."""

from django_ratelimit.core import get_usage


def rate_check(*, scope: str, key: str, rate: str) -> int | None:
    """Count one event for `key` in `scope` against `rate` ("3/h", "20/d", "10/15m").

    Returns None while within the rate, or the seconds until the current window ends once
    this event went over it. Windows are fixed (django-ratelimit's), so a burst at the turn of
    a window can reach twice the rate; the limits are set with that in mind.
    """
    usage = get_usage(None, group=scope, key=lambda group, request: key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(usage["time_left"], 1)
