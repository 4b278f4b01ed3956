"""Writes for accounts: sign-up and its confirmation, invitations, password links, email
changes, deactivation and reactivation.

An account's state is data (`User.State`): pending (signed up, address not confirmed),
invited (registered by staff or a roster, no password yet), active, deactivated (by staff).
Only the functions here move an account between states, and every address that comes in goes
through `canonical_email`. Decision record 0008 explains the choices.
"""

import datetime
import logging

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from cspo_tracker.emails import email_send
from cspo_tracker.ratelimit import rate_check

from .identity import canonical_email
from .models import EMAIL_TAKEN, User

log = logging.getLogger(__name__)

State = User.State

ACCOUNT_DEACTIVATED = "This account was closed by staff; only staff can reopen it."
NOT_INVITED = "This account is not waiting for an invitation to be accepted."
# noqa below: a message about a password, not a password.
WRONG_SIGN_UP_PASSWORD = (
    "That is not the password chosen when this account was created. If you have forgotten it, "  # noqa: S105
    "set a new one with “Forgot your password?”."
)
EMAIL_UNCHANGED = "That is already the account's address."
LINK_INVALID = "This link is not valid any more."
EMAIL_CHANGE_LINK_INVALID = "This address-change link is not valid any more."
EMAIL_CHANGE_MAX_AGE = settings.PASSWORD_RESET_TIMEOUT
TOO_MANY_EMAILS = (
    "Too many emails of this kind were asked for; try again in {minutes} minutes. Nothing was sent."
)


class AccountTokenGenerator(PasswordResetTokenGenerator):
    """Links for one purpose (sign-up confirmation, invitation, password reset), never
    interchangeable, that stop working once used: the hash covers the password, the last
    sign-in, the address and the account state, so setting a password, confirming,
    deactivating or changing the address spends every outstanding link."""

    def __init__(self, purpose: str):
        self.key_salt = f"cspo_tracker.credentials.accounts.{purpose}"
        super().__init__()

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.state}"


sign_up_tokens = AccountTokenGenerator("sign-up")
invitation_tokens = AccountTokenGenerator("invitation")
password_tokens = AccountTokenGenerator("password")


class RateLimited(Exception):
    """Too many emails of one kind for an address or from one client; carries the message
    (with the wait in minutes) to show."""

    def __init__(self, minutes: int):
        self.minutes = minutes
        super().__init__(TOO_MANY_EMAILS.format(minutes=minutes))


def account_emails_allow(*, kind: str, address: str, client: str | None) -> None:
    """Count one email of `kind` ("sign_up", "password", "invitation") to `address` asked for
    by `client` (an IP address; None for the scheduler), and raise RateLimited when either
    passes its limit in settings.ACCOUNT_EMAIL_RATES: {kind: (per address, per client)}, each
    a rate such as "3/h". The counters live in the shared cache."""
    per_address, per_client = settings.ACCOUNT_EMAIL_RATES[kind]
    checks = [(f"{kind}:address", address, per_address)]
    if client:
        checks.append((f"{kind}:client", client, per_client))
    for scope, key, rate in checks:
        wait = rate_check(scope=scope, key=key, rate=rate)
        if wait is not None:
            raise RateLimited(minutes=max(1, -(-wait // 60)))


def account_link(user: User, url_name: str, tokens: AccountTokenGenerator) -> str:
    """An absolute link to `url_name` for the user, signed by `tokens`."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.SITE_URL + reverse(
        url_name, kwargs={"uidb64": uid, "token": tokens.make_token(user)}
    )


def user_from_link(uidb64: str, token: str, tokens: AccountTokenGenerator) -> User | None:
    """The user an emailed account link was made for, if the link is still valid; None
    otherwise (wrong purpose, used, expired, or for an account that changed since)."""
    try:
        user = User.objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    return user if tokens.check_token(user, token) else None


def holder_invite(*, holder: User, client: str | None = None) -> None:
    """Email an invited holder (registered by staff or a roster) a link to set a password and
    accept the licence agreement; the link works once, for PASSWORD_RESET_TIMEOUT, and only
    while the account is still invited. Records when it was sent.

    Raises ValidationError for an account in another state, RateLimited past the invitation
    limits (per address, and per client for a staff member's request).
    """
    if holder.state != State.INVITED:
        raise ValidationError(NOT_INVITED)
    account_emails_allow(kind="invitation", address=holder.email, client=client)
    email_send(
        to=holder.email,
        template="invitation",
        context={
            "user": holder,
            "link": account_link(holder, "invitation_accept", invitation_tokens),
        },
    )
    User.objects.filter(pk=holder.pk).update(invited_at=timezone.now())


def licence_accept(*, user: User) -> None:
    """Record that the holder accepted the licence agreement (once)."""
    if user.licence_accepted_at is None:
        user.licence_accepted_at = timezone.now()
        user.save(update_fields=["licence_accepted_at"])


def holder_sign_up(
    *, email: str, first_name: str, last_name: str, password: str, client: str | None = None
) -> None:
    """Start a self sign-up for an address nobody holds: a pending account and an email that
    confirms the address.

    For an address that already has an account in any state, nothing changes (not the
    password, not the names, not the state) and the owner gets a "someone tried to sign up
    with your address" email instead. Both branches hash the password and send one email, so
    the answer is the same page in the same time whoever asks. Raises ValidationError for an
    address `canonical_email` refuses, RateLimited past the sign-up limits.
    """
    email = canonical_email(email)
    account_emails_allow(kind="sign_up", address=email, client=client)
    encoded = make_password(password)  # in every branch: the timing tells nothing
    user = User.objects.filter(email=email).first()
    if user is None:
        candidate = User(
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            password=encoded,
            state=State.PENDING,
            licence_accepted_at=timezone.now(),
        )
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:  # the same address signed up a moment ago
            user = User.objects.get(email=email)
        else:
            email_send(
                to=email,
                template="confirm_email",
                context={
                    "user": candidate,
                    "link": account_link(candidate, "sign_up_confirm", sign_up_tokens),
                },
            )
            return
    email_send(
        to=user.email,
        template="sign_up_attempt",
        context={
            "user": user,
            "state": user.state,
            "reset_link": settings.SITE_URL + reverse("password_reset"),
            "sign_in_link": settings.SITE_URL + reverse("login"),
        },
    )


@transaction.atomic
def sign_up_confirm(*, user: User, password: str) -> User:
    """Activate a pending account whose confirmation link was followed, once the person who
    followed it gives the password chosen at sign-up: the link proves the mailbox, the
    password proves it is the same person, so nobody can pre-register someone else's address
    and have its owner confirm it. Raises ValidationError (field "password") on a wrong one."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state != State.PENDING:
        raise ValidationError(LINK_INVALID)
    if not user.check_password(password):
        raise ValidationError({"password": [WRONG_SIGN_UP_PASSWORD]})
    user.state = State.ACTIVE
    user.save(update_fields=["state"])
    return user


@transaction.atomic
def invitation_accept(*, user: User, password: str) -> User:
    """An invited holder sets a first password and accepts the licence agreement: the account
    becomes active. Raises PermissionDenied for any account not in the invited state (a
    deactivated one is never reopened this way)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state != State.INVITED:
        raise PermissionDenied(NOT_INVITED)
    user.set_password(password)
    user.state = State.ACTIVE
    if user.licence_accepted_at is None:
        user.licence_accepted_at = timezone.now()
    user.save(update_fields=["password", "state", "licence_accepted_at"])
    return user


def password_reset_users(email: str) -> list[User]:
    """The account a password-reset email may go to for `email` (typed any way): pending,
    invited and active ones, whose owner proves the mailbox by following the link.
    Deactivated accounts get none. An address canonical_email refuses finds nobody."""
    try:
        email = canonical_email(email)
    except ValidationError:
        return []
    return list(User.objects.filter(email=email, state__in=[*User.LIVE_STATES, State.PENDING]))


@transaction.atomic
def password_set_from_link(*, user: User, password: str) -> User:
    """Set the password of an account whose password link was followed. Following it proves
    the mailbox, so a pending or invited account becomes active, and the sign-in pauses for
    the address are lifted. Raises PermissionDenied for a deactivated account."""
    from axes.models import AccessFailureLog
    from axes.utils import reset as axes_reset

    from .identity import email_throttle_key

    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state == State.DEACTIVATED:
        raise PermissionDenied(ACCOUNT_DEACTIVATED)
    user.set_password(password)
    if user.state in (State.PENDING, State.INVITED):
        user.state = State.ACTIVE
    user.save(update_fields=["password", "state"])
    key = email_throttle_key(user.email)
    axes_reset(username=key)
    AccessFailureLog.objects.filter(username=key).delete()
    return user


def _email_change_token(user: User, new_email: str) -> str:
    return signing.dumps(
        {"user": user.pk, "from": user.email, "to": new_email}, salt="email-change"
    )


@transaction.atomic
def email_change_request(*, user: User, new_email: str, requested_by: User | None = None) -> str:
    """Ask to move an account to `new_email`: it takes effect only once its owner follows the
    link sent to the new address; the old address gets a notice. A newer request replaces an
    older one. Returns the canonical new address.

    Raises ValidationError (field "email") for an address canonical_email refuses, the current
    address, or one another account holds.
    """
    try:
        new_email = canonical_email(new_email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None
    user = User.objects.select_for_update().get(pk=user.pk)
    if new_email == user.email:
        raise ValidationError({"email": [EMAIL_UNCHANGED]})
    if User.objects.filter(email=new_email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": [EMAIL_TAKEN]})
    user.pending_email = new_email
    user.save(update_fields=["pending_email"])
    link = settings.SITE_URL + reverse(
        "email_change_confirm", kwargs={"token": _email_change_token(user, new_email)}
    )
    by_staff = requested_by is not None and requested_by.pk != user.pk
    transaction.on_commit(
        lambda: (
            email_send(
                to=new_email,
                template="email_change_confirm",
                context={"user": user, "link": link, "by_staff": by_staff},
            ),
            email_send(
                to=user.email,
                template="email_change_notice",
                context={"user": user, "new_email": new_email, "by_staff": by_staff},
            ),
        )
    )
    return new_email


def email_change_pending(token: str) -> User | None:
    """The account an address-change link is for, while the change it asks is still the one
    waiting; None for a damaged, expired or replaced link."""
    try:
        data = signing.loads(token, salt="email-change", max_age=EMAIL_CHANGE_MAX_AGE)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("user")).first()
    if user is None or user.email != data.get("from") or user.pending_email != data.get("to"):
        return None
    return user


@transaction.atomic
def email_change_confirm(*, token: str) -> User:
    """Apply the address change a link was sent for. Raises ValidationError when the link is
    not valid any more, or another account took the address meanwhile."""
    user = email_change_pending(token)
    if user is None:
        raise ValidationError(EMAIL_CHANGE_LINK_INVALID)
    user = User.objects.select_for_update().get(pk=user.pk)
    if User.objects.filter(email=user.pending_email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": [EMAIL_TAKEN]})
    user.email, user.pending_email = user.pending_email, ""
    user.save(update_fields=["email", "pending_email"])
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> bool:
    """Staff close an account: sign-in stops, its sessions end, reminders stop, its records
    stay. Returns whether anything changed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state == State.DEACTIVATED:
        return False
    user.state = State.DEACTIVATED
    user.save(update_fields=["state"])
    return True


@transaction.atomic
def user_reactivate(*, user: User) -> bool:
    """Staff reopen a deactivated account: active when it has a password, otherwise invited
    (it needs an invitation to set one). Returns whether anything changed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state != State.DEACTIVATED:
        return False
    user.state = State.ACTIVE if user.has_usable_password() else State.INVITED
    user.save(update_fields=["state"])
    return True


def sign_in_ceiling_reached(key: str, *, now: datetime.datetime | None = None) -> bool:
    """Whether an address (its throttle key) failed to sign in SIGN_IN_ADDRESS_CEILING times
    within SIGN_IN_ADDRESS_WINDOW, from any clients: the ceiling that stops guessing spread
    over many client addresses, without pausing everyone behind one office address."""
    from axes.models import AccessFailureLog

    now = now or timezone.now()
    since = now - settings.SIGN_IN_ADDRESS_WINDOW
    failures = AccessFailureLog.objects.filter(username=key, attempt_time__gte=since)
    return failures.count() >= settings.SIGN_IN_ADDRESS_CEILING
