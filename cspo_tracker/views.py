"""Project-wide pages: the home page, the health probe and the status page."""

import ipaddress

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import broker_state, database_state
from .middleware import client_ip


@require_safe
def home(request):
    """Landing page for visitors; signed-in people go straight to their work: staff who may
    see credentials to the work queue, training organisations' members to their organisation,
    holders to theirs."""
    user = request.user
    if user.is_authenticated:
        if user.is_staff and user.has_perm("credentials.view_credential"):
            return redirect("staff:queue")
        if user.in_organisation:
            return redirect("organisations:list")
        return redirect("ledger:dashboard")
    return render(request, "home.html")


def _may_see_health_details(request) -> bool:
    """Staff, or a probe on this machine (the client address, behind TRUSTED_PROXY_COUNT
    proxies, is the one the outermost proxy saw)."""
    user = request.user
    if user.is_authenticated and user.is_active and user.is_staff:
        return True
    try:
        return ipaddress.ip_address(client_ip(request)).is_loopback
    except ValueError:  # not an address at all
        return False


def _checks() -> dict:
    return {"database": database_state(), "broker": broker_state()}


@never_cache
@require_safe
def healthz(request):
    """Answer 200 {"status": "ok"} when the database and the Celery broker both answer, 503
    {"status": "fail"} otherwise. What each service said (its error text included) is added
    for staff and for probes from this machine only. For monitors; people read `status`."""
    checks = _checks()
    healthy = all(state.ok for state in checks.values())
    body = {"status": "ok" if healthy else "fail"}
    if _may_see_health_details(request):
        body.update({name: state.as_dict() for name, state in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)


# What each service does for a person, for the status page.
SERVICE_NAMES = {
    "database": _("Database (your records)"),
    "broker": _("Task queue (emails, reminders, roster imports)"),
}


@never_cache
@require_safe
def service_status(request):
    """The health check in words, for people (the footer links here): whether the service
    works, and for staff or a visitor on this machine, what each service answered. Same
    checks and the same status code as `healthz`, which stays the monitors' JSON."""
    checks = _checks()
    healthy = all(state.ok for state in checks.values())
    services = None
    if _may_see_health_details(request):
        services = [
            {"name": SERVICE_NAMES[key], "ok": state.ok, "detail": state.detail}
            for key, state in checks.items()
        ]
    return render(
        request,
        "status.html",
        {"healthy": healthy, "services": services},
        status=200 if healthy else 503,
    )
