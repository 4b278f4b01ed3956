"""How a credential's status looks, the same on every page: the holder's dashboard and
renewal page, the public verification page and the staff pages."""

from django import template

from credentials.selectors import Status

register = template.Library()

# One Bootstrap badge per status. "In grace" (or "Suspended", as PMI calls it) is past the end
# date, so it is red wherever it shows; each pair passes WCAG AA contrast with Bootstrap 5.3.
BADGES = {
    Status.ACTIVE: "text-bg-success",
    Status.EXPIRING: "text-bg-warning",
    Status.IN_GRACE: "text-bg-danger",
    Status.LAPSED: "text-bg-secondary",
    Status.NOT_YET_VALID: "text-bg-light border",
    Status.REVOKED: "text-bg-dark",
}


@register.filter
def status_badge(status) -> str:
    """The badge classes for a status (a `Status` or its value)."""
    return BADGES.get(status, "text-bg-light border")
