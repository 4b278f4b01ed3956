"""Authentication backends: the per-account ceiling of failed sign-ins (checked before any
password), and Django's model backend finding the account by any of its confirmed addresses
and noting why a right password still cannot sign in."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .organisations import password_sign_in_refused_by
from .selectors import account_for_address, sign_in_ceiling_reached, sign_in_throttle_key

CEILING_REACHED = "Sign-in for this address is paused."


class SignInCeilingBackend:
    """Refuse, without checking the password, an account that failed to sign in
    SIGN_IN_ADDRESS_CEILING times within SIGN_IN_ADDRESS_WINDOW from any clients, under any of
    its confirmed addresses. The request is marked so django-axes' middleware answers with the
    lockout page. It has no get_user(): it never signs anyone in, and sessions name the
    backend that did."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        key = sign_in_throttle_key(username)
        if request is not None and key and sign_in_ceiling_reached(key):
            request.axes_locked_out = True
            request.sign_in_ceiling = True
            raise PermissionDenied(CEILING_REACHED)
        return


class AccountStateBackend(ModelBackend):
    """Django's model backend (one password hash per attempt, found or not) that finds the
    account by its sign-in address or a confirmed secondary one (`account_for_address`), and
    notes on the request the state of an account whose password was right but which cannot
    sign in (pending or deactivated), or the organisation that requires its members to sign
    in through its identity provider: only someone who knows the password learns why. Every
    password sign-in (the sign-in page, the admin's) goes through here."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self.model_field_name())
        if username is None or password is None:
            return None
        user = account_for_address(username)
        if user is None:
            self.user_model()().set_password(password)  # as long as a real check takes
            return None
        if user.check_password(password):
            if self.user_can_authenticate(user):
                required_by = password_sign_in_refused_by(user)
                if required_by is None:
                    return user
                if request is not None:
                    request.refused_for_organisation = required_by
                return None
            if request is not None:
                request.refused_account_state = user.state
        return None

    def get_user(self, user_id):
        """The signed-in account, read with the rules revision (`RulesRevision.revision`) and
        the number of its organisation memberships (the navigation's "Organisation") in the
        same query (or, while `credentials.sessions` signs a request in, the one it read
        with the session): a cached page's key (`seu_ledger.page_cache`) then costs no query of
        its own, and is read before anything the page shows. None when the account is gone or
        can no longer sign in."""
        from .models import OrganisationMember, RulesRevision
        from .sessions import session_account

        account = session_account.get()
        if account is not None and str(account.pk) == str(user_id):
            # Read with the session, in the same query (credentials.sessions).
            return account if self.user_can_authenticate(account) else None
        model = self.user_model()
        # Plain SQL: this runs on every signed-in request, and building the same query with
        # the ORM cost more than running it.
        users = model._default_manager.raw(
            f"SELECT u.*, (SELECT r.revision FROM {RulesRevision._meta.db_table} r "  # noqa: S608 - table names from the models
            f"WHERE r.id = 1) AS rules_revision, (SELECT COUNT(*) FROM "
            f"{OrganisationMember._meta.db_table} m WHERE m.user_id = u.id) AS organisation_count "
            f"FROM {model._meta.db_table} u WHERE u.id = %s",
            [user_id],
        )
        user = next(iter(users), None)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None

    @staticmethod
    def user_model():
        from django.contrib.auth import get_user_model

        return get_user_model()

    def model_field_name(self) -> str:
        return self.user_model().USERNAME_FIELD
