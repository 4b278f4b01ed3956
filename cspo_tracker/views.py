"""Project-wide pages: the home page and the health probe."""

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import broker_state, database_state


@require_GET
def home(request):
    """Landing page for visitors; signed-in people go straight to their dashboard."""
    if request.user.is_authenticated:
        return redirect("ledger:dashboard")
    return render(request, "home.html")


@never_cache
@require_GET
def healthz(request):
    """Answer 200 when the database and the Celery broker both answer, 503 otherwise."""
    checks = {"database": database_state(), "broker": broker_state()}
    healthy = all(state.ok for state in checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    body.update({name: state.as_dict() for name, state in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)
