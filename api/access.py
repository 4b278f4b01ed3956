"""What each caller may reach. One rule for every route:

- a personal token, or a signed-in session on the holder routes (/api/v1/me/...): the
  holder's own records, nothing else;
- an integration token: the routes its scopes name, and within them only what its staff
  owner's permissions allow;
- a signed-in staff member: what their permissions allow (the browsable pages).

Staff routes declare `access = {action: (scope, permission)}`; holder routes use `Holder`.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from .models import ApiToken

NEEDS_SCOPE = _("This token does not have the “{scope}” scope.")
PERSONAL_ONLY_OWN = _(
    "A personal token reaches its holder's own records only (/api/v1/me/), and the programs "
    "and categories."
)
INTEGRATION_NOT_HOLDER = _(
    "An integration token acts for staff; a holder's own records need a personal token."
)
NEEDS_PERMISSION = _("Your account does not have permission to do this.")


def token_of(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class Staff(BasePermission):
    """The view's `access[action]` = (scope, "app.permission"): an integration token needs the
    scope, and its owner (or the signed-in member) the permission."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if request.method.lower() not in view.http_method_names or action is None:
            return True  # a method the route does not take: 405 follows
        if action == "metadata":  # OPTIONS: the route's description, for any signed-in staff
            return bool(user.is_staff)
        if action not in view.access:
            return False  # an action nobody classified stays closed
        scope, permission = view.access[action]
        token = token_of(request)
        if token is not None:
            if token.kind != ApiToken.Kind.INTEGRATION:
                self.message = PERSONAL_ONLY_OWN
                return False
            if scope not in token.scopes:
                self.message = NEEDS_SCOPE.format(scope=scope)
                return False
        if not (user.is_staff and user.has_perm(permission)):
            self.message = NEEDS_PERMISSION
            return False
        return True


class Holder(BasePermission):
    """The holder's own records: a personal token, or the person signed in."""

    message = INTEGRATION_NOT_HOLDER

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        token = token_of(request)
        return token is None or token.kind == ApiToken.Kind.PERSONAL


class AnyCaller(BasePermission):
    """Public reference data (programs, categories): any token or signed-in person."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)
