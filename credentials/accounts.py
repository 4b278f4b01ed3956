"""Writes for accounts: sign-up and its confirmation, invitations, password links, address
changes, secondary addresses, deactivation and reactivation.

An account's state is data (`User.State`): pending (signed up, address not confirmed),
invited (registered by staff or a roster, no password yet), active, deactivated (by staff).
Only the functions here move an account between states, each move stamps `state_changed_at`
(which voids every link issued before it), and every address that comes in goes through
`canonical_email`. Reads are in `selectors`; decision record 0008 explains the choices.
"""

import uuid

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker.claims import claim, durable, new_owner
from cspo_tracker.emails import email_render, email_send, message_id
from cspo_tracker.links import absolute_url
from cspo_tracker.ratelimit import rate_check

from .identity import canonical_email, email_throttle_key, validate_person_name
from .models import ADDRESS_TAKEN, EMAIL_TAKEN, AccountSession, EmailAddress, User
from .organisations import organisation_logo_url
from .selectors import (
    account_for_address,
    address_pending,
    email_change_pending,
    invitation_courses,
    invitation_credentials,
)
from .tokens import (
    ADDRESS_CONFIRM_SALT,
    EMAIL_CHANGE_CANCEL_SALT,
    EMAIL_CHANGE_SALT,
    AccountTokenGenerator,
    invitation_tokens,
    password_tokens,
    sign_up_tokens,
)

State = User.State

ACCOUNT_DEACTIVATED = _("Staff deactivated this account; only staff can reactivate it.")
NOT_INVITED = _("This account is not waiting for an invitation to be accepted.")
# noqa below: messages about a password, not passwords.
WRONG_SIGN_UP_PASSWORD = _(
    "That is not the password chosen when this account was created. Forgotten it? Use "  # noqa: S105
    "“Set a new password” below."
)
LINK_INVALID = _("This link is not valid any more.")
EMAIL_UNCHANGED = _("That is already the account's address.")
EMAIL_CHANGE_LINK_INVALID = _(
    "This address-change link is not valid any more: it was used, replaced, cancelled or is "
    "older than three days."
)
EMAIL_CHANGE_DEACTIVATED = _("A deactivated account's address cannot change.")
ADDRESS_IS_PRIMARY = _("That is already the address you sign in with.")
ADDRESS_ALREADY_ADDED = _("That address is already on your account.")
ADDRESS_LINK_INVALID = _(
    "This confirmation link is not valid any more: it was used, the address was removed or "
    "added again, or the link is older than three days."
)
ADDRESS_DEACTIVATED = _("A deactivated account cannot take more addresses.")
# Translators: {email} is the merged account's address, {into} the account it was merged into.
MERGED_NOT_REACTIVATED = _("{email} was merged into {into}; it stays deactivated.")


def too_many_emails(minutes: int) -> str:
    """Too many emails of one kind were asked for: wait `minutes` (the English says "minutes"
    whatever the number; translators give their plural forms)."""
    return ngettext(
        "Too many emails of this kind were asked for; try again in {minutes} minutes. "
        "Nothing was sent.",
        "Too many emails of this kind were asked for; try again in {minutes} minutes. "
        "Nothing was sent.",
        minutes,
    ).format(minutes=minutes)


class RateLimited(Exception):
    """Too many emails of one kind for an address or from one client; carries the message
    (with the wait in minutes) to show."""

    def __init__(self, minutes: int):
        self.minutes = minutes
        super().__init__(too_many_emails(minutes))


def account_emails_allow(*, kind: str, address: str, client: str | None) -> None:
    """Count one email of `kind` ("sign_up", "password", "invitation", "email_change",
    "address") to `address` asked for by `client` (an IP address; None for the scheduler),
    and raise RateLimited when either passes its limit in settings.ACCOUNT_EMAIL_RATES: {kind:
    (per address, per client)}, each a rate such as "3/h". The counters live in the shared
    cache."""
    per_address, per_client = settings.ACCOUNT_EMAIL_RATES[kind]
    checks = [(f"{kind}:address", address, per_address)]
    if client:
        checks.append((f"{kind}:client", client, per_client))
    for scope, key, rate in checks:
        wait = rate_check(scope=scope, key=key, rate=rate)
        if wait is not None:
            raise RateLimited(minutes=max(1, -(-wait // 60)))


def account_email(*, to: str, template: str, context: dict, key: str = "") -> None:
    """Send an account email without the request waiting on the mail server: rendered now,
    handed to a worker once the transaction commits, so how long a page takes never tells
    whether an email went (ACCOUNT_EMAILS_FROM_WORKER; off, it is sent at once). `key` names
    the event the email tells of ("renewal-12"): every copy of it gets the same Message-ID."""
    if not settings.ACCOUNT_EMAILS_FROM_WORKER:
        email_send(to=to, template=template, context=context)
        return
    from .tasks import account_email_task

    rendered = email_render(template=template, context=context)
    # One Message-ID for every attempt, so a retry after a lost answer is a copy, not a second.
    stable_id = message_id(key or f"account-{uuid.uuid4().hex}")
    transaction.on_commit(
        lambda: account_email_task.delay(
            to, rendered.subject, rendered.text, rendered.html, stable_id
        )
    )


def account_link(user: User, *, url_name: str, tokens: AccountTokenGenerator) -> str:
    """An absolute link to `url_name` for the user, signed by `tokens`."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return absolute_url(url_name, uidb64=uid, token=tokens.make_token(user))


def _state_set(user: User, state: str, *fields: str) -> None:
    """Move an account to `state`, stamping when (which voids its outstanding links)."""
    user.state = state
    user.state_changed_at = timezone.now()
    user.save(update_fields=["state", "state_changed_at", *fields])


def _sessions_end(user: User) -> None:
    """Delete the account's sessions: a reactivated account signs in afresh, not through a
    browser that was signed in before it was deactivated."""
    AccountSession.objects.filter(account=user).delete()


def licence_accept(*, user: User) -> None:
    """Record that the holder accepted the licence agreement (once)."""
    if user.licence_accepted_at is None:
        user.licence_accepted_at = timezone.now()
        user.save(update_fields=["licence_accepted_at"])


def holder_sign_up(
    *,
    email: str,
    first_name: str,
    last_name: str,
    password: str,
    client: str | None = None,
    language: str = "",
    time_zone: str = "",
) -> None:
    """Start a self sign-up for an address nobody holds: a pending account and an email that
    confirms the address.

    For an address that already has an account in any state, nothing changes (not the
    password, not the names, not the state) and the owner gets a "someone tried to sign up
    with your address" email instead. Both branches hash the password and hand one email to
    a worker, so the answer is the same page in the same time whoever asks. Raises
    ValidationError by field for an address `canonical_email` refuses or a name
    `validate_person_name` refuses, RateLimited past the sign-up limits. A new account starts
    with `language` and `time_zone` (the visitor's, `preferences.sign_up_defaults`); an
    existing one keeps its own.
    """
    try:
        email = canonical_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None
    names = {"first_name": first_name.strip(), "last_name": last_name.strip()}
    for field, value in names.items():
        try:
            validate_person_name(value)
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from None
    account_emails_allow(kind="sign_up", address=email, client=client)
    encoded = make_password(password)  # in every branch: the timing tells nothing
    # A confirmed secondary address is the account's too: its owner gets the note.
    user = account_for_address(email)
    if user is None:
        candidate = User(
            email=email,
            password=encoded,
            state=State.PENDING,
            state_changed_at=timezone.now(),
            licence_accepted_at=timezone.now(),
            language=language,
            time_zone=time_zone,
            **names,
        )
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:  # the same address signed up a moment ago
            user = User.objects.get(email=email)
        else:
            link = account_link(candidate, url_name="sign_up_confirm", tokens=sign_up_tokens)
            account_email(
                to=email, template="confirm_email", context={"user": candidate, "link": link}
            )
            return
    account_email(
        to=user.email,
        template="sign_up_attempt",
        context={
            "user": user,
            "state": user.state,
            "reset_link": absolute_url("password_reset"),
            "sign_in_link": absolute_url("login"),
        },
    )


@transaction.atomic
def sign_up_confirm(*, user: User, password: str) -> User:
    """Activate a pending account whose confirmation link was followed, once the person who
    followed it gives the password chosen at sign-up: the link proves the mailbox, the
    password proves it is the same person, so nobody can pre-register someone else's address
    and have its owner confirm it. Raises ValidationError (field "password") on a wrong one,
    or when the account is no longer pending."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state != State.PENDING:
        raise ValidationError(LINK_INVALID)
    if not user.check_password(password):
        raise ValidationError({"password": [WRONG_SIGN_UP_PASSWORD]})
    _state_set(user, State.ACTIVE)
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
    if user.licence_accepted_at is None:
        user.licence_accepted_at = timezone.now()
    _state_set(user, State.ACTIVE, "password", "licence_accepted_at")
    return user


def password_reset_request(*, email: str, client: str | None = None) -> None:
    """Someone asks for a password link for `email`: whatever the address, one job goes to a
    worker (which looks the account up and sends the link if there is one), so the answer and
    its timing never tell whether the address has an account. Raises RateLimited past the
    limits per address and per client."""
    email = canonical_email(email)
    account_emails_allow(kind="password", address=email, client=client)
    if not settings.ACCOUNT_EMAILS_FROM_WORKER:
        password_link_send(email=email)
        return
    from .tasks import password_link_task

    transaction.on_commit(lambda: password_link_task.delay(email))


def password_link_send(*, email: str) -> int:
    """Email a password link to the account `password_reset_users` finds for `email`, if any
    (a worker's job). Returns how many were sent."""
    from .forms import PasswordResetRequestForm

    form = PasswordResetRequestForm({"email": email})
    if not form.is_valid():
        return 0
    users = form.get_users(form.cleaned_data["email"])
    form.save(
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.txt",
        html_email_template_name="registration/password_reset_email.html",
        token_generator=password_tokens,
        domain_override=settings.SITE_URL.split("://", 1)[-1],
    )
    return len(users)


def password_confirms(*, user: User, password: str) -> bool:
    """Whether `password` is the signed-in account's own, for a page that asks for it again
    (changing the password or the address): one hash, and a hash stored before Argon2id is not
    upgraded here. Storing the upgrade would void the very session asking (its check covers the
    stored hash), and a password change replaces the hash at once anyway; the next sign-in
    upgrades it."""
    return check_password(password, user.password)


@transaction.atomic
def password_set_from_link(*, user: User, password: str) -> User:
    """Set the password of an account whose password link was followed. Following it proves
    the mailbox, so a pending or invited account becomes active (a pending one loses the names
    whoever started the sign-up typed), and the sign-in pauses for the address are lifted.
    Raises PermissionDenied for a deactivated account."""
    from axes.models import AccessFailureLog
    from axes.utils import reset as axes_reset

    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state == State.DEACTIVATED:
        raise PermissionDenied(ACCOUNT_DEACTIVATED)
    user.set_password(password)
    if user.state == State.PENDING:
        user.first_name = user.last_name = ""
        _state_set(user, State.ACTIVE, "password", "first_name", "last_name")
    elif user.state == State.INVITED:
        _state_set(user, State.ACTIVE, "password")
    else:
        user.save(update_fields=["password"])
    key = email_throttle_key(user.email)
    axes_reset(username=key)
    AccessFailureLog.objects.filter(username=key).delete()
    return user


@transaction.atomic
def email_change_request(
    *, user: User, new_email: str, requested_by: User | None = None, client: str | None = None
) -> str:
    """Ask to move an account to `new_email`: it takes effect only once its owner follows the
    link sent to the new address, and the old address gets a notice with a link that cancels
    it. A newer request replaces an older one. Returns the canonical new address.

    Raises ValidationError (field "email") for an address canonical_email refuses, the current
    address, one another account holds, or a deactivated account; RateLimited past the
    limits per address and client.
    """
    try:
        new_email = canonical_email(new_email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state == State.DEACTIVATED:
        raise ValidationError({"email": [EMAIL_CHANGE_DEACTIVATED]})
    if new_email == user.email:
        raise ValidationError({"email": [EMAIL_UNCHANGED]})
    if _address_taken(new_email, user):
        raise ValidationError({"email": [gettext(EMAIL_TAKEN)]})
    account_emails_allow(kind="email_change", address=user.email, client=client)
    user.pending_email = new_email
    user.save(update_fields=["pending_email"])
    payload = {"user": user.pk, "from": user.email, "to": new_email}
    confirm = absolute_url(
        "email_change_confirm", token=signing.dumps(payload, salt=EMAIL_CHANGE_SALT)
    )
    cancel = absolute_url(
        "email_change_cancel", token=signing.dumps(payload, salt=EMAIL_CHANGE_CANCEL_SALT)
    )
    by_staff = requested_by is not None and requested_by.pk != user.pk
    context = {"user": user, "new_email": new_email, "by_staff": by_staff}
    account_email(
        to=new_email, template="email_change_confirm", context={**context, "link": confirm}
    )
    account_email(
        to=user.email, template="email_change_notice", context={**context, "cancel_link": cancel}
    )
    return new_email


@transaction.atomic
def email_change_confirm(*, token: str) -> User:
    """Apply the address change a link was sent for; the old address is told it happened.
    Raises ValidationError when the link is not valid any more, or another account took the
    address meanwhile."""
    user = email_change_pending(token=token, salt=EMAIL_CHANGE_SALT)
    if user is None:
        raise ValidationError(EMAIL_CHANGE_LINK_INVALID)
    user = User.objects.select_for_update().get(pk=user.pk)
    if _address_taken(user.pending_email, user):
        raise ValidationError({"email": [gettext(EMAIL_TAKEN)]})
    old_email = user.email
    user.email, user.pending_email = user.pending_email, ""
    user.save(update_fields=["email", "pending_email"])
    # One of the account's own secondary addresses became its sign-in address.
    EmailAddress.objects.filter(user=user, address=user.email).delete()
    account_email(
        to=old_email,
        template="email_change_done",
        context={"user": user, "old_email": old_email},
    )
    return user


@transaction.atomic
def email_change_cancel(*, token: str) -> User:
    """The owner of the old address stops a waiting address change. Raises ValidationError
    when there is none for this link any more."""
    user = email_change_pending(token=token, salt=EMAIL_CHANGE_CANCEL_SALT)
    if user is None:
        raise ValidationError(EMAIL_CHANGE_LINK_INVALID)
    user.pending_email = ""
    user.save(update_fields=["pending_email"])
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> bool:
    """Staff deactivate an account: sign-in stops, its sessions and links end, reminders stop,
    a waiting address change is dropped, its records stay. Returns whether anything changed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state == State.DEACTIVATED:
        return False
    user.state_before_deactivation = user.state
    user.pending_email = ""
    _state_set(user, State.DEACTIVATED, "state_before_deactivation", "pending_email")
    _sessions_end(user)
    return True


@transaction.atomic
def user_reactivate(*, user: User) -> bool:
    """Staff reactivate a deactivated account into the state it had before (a sign-up that
    was never confirmed stays pending: its password is whoever started it's). An account
    merged into another stays closed. Returns whether anything changed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state != State.DEACTIVATED or user.merged_into_id is not None:
        return False
    before = user.state_before_deactivation
    if before not in State.values or before == State.DEACTIVATED:
        before = State.ACTIVE if user.has_usable_password() else State.INVITED
    user.state_before_deactivation = ""
    _state_set(user, before, "state_before_deactivation")
    return True


def user_merged_away(*, user: User, into: User) -> None:
    """Close an account whose records staff merged into `into`: deactivated for good (every
    outstanding link dies with the state change), a waiting address change and the calendar
    feed dropped, pointing at the account that holds its records now. The caller (the merge
    service) holds the row locked."""
    if user.state != State.DEACTIVATED:
        user.state_before_deactivation = user.state
    user.pending_email = ""
    user.calendar_token = None
    user.merged_into = into
    _state_set(
        user,
        State.DEACTIVATED,
        "state_before_deactivation",
        "pending_email",
        "calendar_token",
        "merged_into",
    )
    _sessions_end(user)


@transaction.atomic
def holder_register(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    requested_by: User | None = None,
    invite: bool = True,
    organisation=None,
) -> User:
    """Staff (a page or an integration) register a holder as a roster does: an invited
    account with no password, under the address's canonical form, which no account may hold
    already (as its sign-in or a confirmed secondary address). With `invite`, an invitation
    to set a password is owed and sent once this commits, carrying `organisation`'s name, logo
    and reply-to address when one registers them. Raises ValidationError by field (email,
    first_name, last_name)."""
    errors: dict[str, list[str]] = {}
    try:
        email = canonical_email(email)
    except ValidationError as error:
        errors["email"] = error.messages
    else:
        if account_for_address(email) is not None:
            errors["email"] = [gettext(EMAIL_TAKEN)]
    names = {"first_name": (first_name or "").strip(), "last_name": (last_name or "").strip()}
    for field, value in names.items():
        try:
            validate_person_name(value)
        except ValidationError as error:
            errors[field] = error.messages
        if len(value) > 150:
            errors[field] = [gettext("At most 150 characters.")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create(
                email=email, state=State.INVITED, password="!" + uuid.uuid4().hex, **names
            )
    except IntegrityError:  # registered by another request this moment
        raise ValidationError({"email": [gettext(EMAIL_TAKEN)]}) from None
    if invite:
        invitations_request(
            holder_ids=[user.pk], requested_by=requested_by, organisation=organisation
        )
    return user


def profile_update(*, user: User, first_name: str, last_name: str) -> User:
    """The person changes their own name (plain text, see `validate_person_name`). Raises
    ValidationError by field."""
    names = {"first_name": first_name.strip(), "last_name": last_name.strip()}
    for field, value in names.items():
        try:
            validate_person_name(value)
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from None
    if (user.first_name, user.last_name) != (names["first_name"], names["last_name"]):
        user.first_name, user.last_name = names["first_name"], names["last_name"]
        user.save(update_fields=["first_name", "last_name"])
    return user


# --- Secondary addresses: confirmed from a link sent there, then they find the account --------


def _address_taken(address: str, user: User) -> bool:
    """Whether another account has `address`: as its sign-in address (a merged account's
    included) or as a confirmed secondary address. Says nothing of whose it is."""
    if User.objects.filter(email=address).exclude(pk=user.pk).exists():
        return True
    return (
        EmailAddress.objects.filter(address=address, confirmed_at__isnull=False)
        .exclude(user=user)
        .exists()
    )


@transaction.atomic
def address_add(*, user: User, address: str, client: str | None = None) -> EmailAddress:
    """The person asks to add `address` to their account: it waits, matching nothing, until
    they follow the link sent to it (asking again sends a new link). Raises ValidationError
    (field "address") for an address canonical_email refuses, their own sign-in address, one
    already on the account, one another account has (without saying whose), or a deactivated
    account; RateLimited past the limits per account and client."""
    try:
        address = canonical_email(address)
    except ValidationError as error:
        raise ValidationError({"address": error.messages}) from None
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.state == State.DEACTIVATED:
        raise ValidationError({"address": [ADDRESS_DEACTIVATED]})
    if address == user.email:
        raise ValidationError({"address": [ADDRESS_IS_PRIMARY]})
    row = EmailAddress.objects.filter(user=user, address=address).first()
    if row is not None and row.is_confirmed:
        raise ValidationError({"address": [ADDRESS_ALREADY_ADDED]})
    if _address_taken(address, user):
        raise ValidationError({"address": [gettext(ADDRESS_TAKEN)]})
    account_emails_allow(kind="address", address=user.email, client=client)
    if row is None:
        row = EmailAddress.objects.create(user=user, address=address)
    payload = {"user": user.pk, "address": address, "address_id": row.pk}
    link = absolute_url("address_confirm", token=signing.dumps(payload, salt=ADDRESS_CONFIRM_SALT))
    account_email(
        to=address,
        template="address_confirm",
        context={"user": user, "address": address, "link": link},
    )
    return row


@transaction.atomic
def address_confirm(*, token: str) -> EmailAddress:
    """Confirm the secondary address a link was sent for: from now on rosters and sign-in
    with it find the account. Raises ValidationError when the link is not valid any more, or
    another account took the address meanwhile."""
    row = address_pending(token=token, salt=ADDRESS_CONFIRM_SALT)
    if row is None:
        raise ValidationError(ADDRESS_LINK_INVALID)
    User.objects.select_for_update().get(pk=row.user_id)
    row = EmailAddress.objects.select_for_update().get(pk=row.pk)
    if row.is_confirmed:
        return row
    if _address_taken(row.address, row.user):
        raise ValidationError({"address": [gettext(ADDRESS_TAKEN)]})
    row.confirmed_at = timezone.now()
    try:
        with transaction.atomic():
            row.save(update_fields=["confirmed_at"])
    except IntegrityError:  # another account confirmed it a moment ago
        raise ValidationError({"address": [gettext(ADDRESS_TAKEN)]}) from None
    return row


def address_remove(*, user: User, address_id: int) -> str:
    """Remove one of the person's own secondary addresses (confirmed or waiting); its links
    die with it. Returns the address. Raises EmailAddress.DoesNotExist for an id that is not
    one of theirs."""
    row = EmailAddress.objects.get(pk=address_id, user=user)
    row.delete()
    return row.address


# --- Invitations: an outbox row per invitation owed, claimed, sent once ----------------------


def invitations_request(
    *,
    holder_ids: list[int],
    requested_by: User | None = None,
    queue: bool = True,
    organisation=None,
) -> list[int]:
    """Owe an invitation to each of these holders that is still invited: one waiting row per
    holder (a holder with one waiting gets no second), branded with `organisation` (a
    training organisation's roster or member list invited them). Unless `queue` is False (the caller
    sends them itself), a worker sends them once this transaction commits, and the sweep if
    that job is lost. Returns the waiting rows' ids."""
    from .models import Invitation

    holders = list(
        User.objects.filter(pk__in=holder_ids, state=State.INVITED).values_list("pk", flat=True)
    )
    Invitation.objects.bulk_create(
        [
            Invitation(holder_id=pk, requested_by=requested_by, organisation=organisation)
            for pk in holders
        ],
        ignore_conflicts=True,
    )
    waiting = list(
        Invitation.objects.filter(holder_id__in=holders, sent_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if waiting and queue:
        transaction.on_commit(lambda: invitations_queue(waiting))
    return waiting


def invitations_queue(invitation_ids: list[int]) -> None:
    """Hand these invitations to the workers, 200 a job."""
    from .tasks import invitations_send_task

    for start in range(0, len(invitation_ids), 200):
        invitations_send_task.delay(invitation_ids[start : start + 200])


def invitation_send(*, invitation_id: int) -> bool:
    """Send one waiting invitation, once: claimed first (another worker, or this one's
    redelivered task, finds it taken), then emailed with a Message-ID of its own, then marked
    sent with retries that outlast a database restart. An invitation to a holder who is no
    longer invited is dropped. Returns whether an email went; raises the mail server's error
    after recording it (the caller retries)."""
    from .models import Invitation

    owner = new_owner()
    waiting = Invitation.objects.filter(pk=invitation_id, sent_at__isnull=True)
    if not claim(waiting, owner=owner, expires=settings.CLAIM_EXPIRES):
        return False
    invitation = Invitation.objects.select_related("holder", "organisation").get(pk=invitation_id)
    holder = invitation.holder
    if holder.state != State.INVITED:
        Invitation.objects.filter(pk=invitation_id, claim_token=owner).delete()
        return False
    link = account_link(holder, url_name="invitation_accept", tokens=invitation_tokens)
    try:
        email_send(
            to=holder.email,
            template="invitation",
            context={
                "user": holder,
                "link": link,
                "credentials": invitation_credentials(holder.pk),
                "courses": invitation_courses(holder.pk),
                "organisation": invitation.organisation,
                "logo_url": organisation_logo_url(invitation.organisation),
            },
            headers={"Message-ID": message_id(f"invitation-{invitation_id}")},
            reply_to=invitation.organisation.reply_to if invitation.organisation else "",
        )
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"[:2000]
        durable(
            lambda: Invitation.objects.filter(pk=invitation_id, claim_token=owner).update(
                claim_token="", attempts=F("attempts") + 1, last_error=error
            ),
            what=f"invitation {invitation_id} failed",
        )
        raise

    def mark_sent():
        now = timezone.now()
        with transaction.atomic():
            Invitation.objects.filter(pk=invitation_id, claim_token=owner).update(
                sent_at=now, claim_token="", attempts=F("attempts") + 1, last_error=""
            )
            User.objects.filter(pk=holder.pk).update(invited_at=now)

    durable(mark_sent, what=f"invitation {invitation_id} sent")
    return True


def invitations_send(*, invitation_ids: list[int]) -> int:
    """Send these invitations; one failing does not stop the others. Returns how many went;
    raises the first failure at the end, so the task retries (sent ones are not sent again)."""
    sent, failures = 0, []
    for invitation_id in invitation_ids:
        try:
            sent += invitation_send(invitation_id=invitation_id)
        except Exception as failure:  # noqa: BLE001 - recorded on its row, raised below
            failures.append(failure)
    if failures:
        raise failures[0]
    return sent


def holder_invite(
    *, holder: User, requested_by: User | None = None, client: str | None = None
) -> bool:
    """Staff invite one holder now: within the invitation limits (per address, and per
    staff client), an invitation row is owed and sent at once. Returns whether it went now
    (False: a worker is sending it this moment). Raises ValidationError for an account that
    is not invited, RateLimited past the limits, the mail server's error (the invitation then
    waits for the sweep)."""
    from .models import Invitation

    if holder.state != State.INVITED:
        raise ValidationError(NOT_INVITED)
    account_emails_allow(kind="invitation", address=holder.email, client=client)
    with transaction.atomic():
        waiting, _ = Invitation.objects.get_or_create(
            holder=holder, sent_at__isnull=True, defaults={"requested_by": requested_by}
        )
    return invitation_send(invitation_id=waiting.pk)
