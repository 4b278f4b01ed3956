"""People, the programs they certify in, their courses, credentials and terms."""

import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower, Trim, Upper
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from cspo_tracker import formats
from cspo_tracker.zones import validate_time_zone

from .identity import canonical_email, email_or_none, validate_person_name

# The English text (msgid): translate where it is shown, with gettext(EMAIL_TAKEN) or
# _(EMAIL_TAKEN) at class level.
EMAIL_TAKEN = gettext_noop("Someone already signs in with this email address.")
DEFAULT_REMINDER_DAYS = "90,60,30,7"
REMINDER_DAYS_INVALID = _(
    "Enter whole numbers of days between 1 and 3660, separated by commas, e.g. 90,60,30,7."
)


def parse_reminder_days(value: str) -> tuple[int, ...]:
    """The days of a schedule such as "90, 60,30,7", largest first, without repeats."""
    try:
        days = {int(part) for part in value.replace(" ", "").split(",") if part}
    except ValueError:
        raise ValueError(REMINDER_DAYS_INVALID) from None
    if any(day < 1 or day > 3660 for day in days):
        raise ValueError(REMINDER_DAYS_INVALID)
    return tuple(sorted(days, reverse=True))


def validate_reminder_days(value: str) -> None:
    try:
        parse_reminder_days(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        email = canonical_email(email)  # raises ValidationError for an address it refuses
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        """Create a person who signs in with `email`; with no password the account is invited
        (it cannot sign in until its owner sets one from an invitation)."""
        extra_fields.setdefault("state", self.model.State.ACTIVE if password else "invited")
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        """Create staff with every permission (used by `createsuperuser`)."""
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not (extra_fields["is_staff"] and extra_fields["is_superuser"]):
            raise ValueError("A superuser needs is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        """Sign-in looks people up by the canonical form of the address they typed; one it
        refuses (an invisible character, say) finds nobody."""
        canonical = email_or_none(email)
        if canonical is None:
            raise self.model.DoesNotExist("No account has this address.")
        return self.get(email=canonical)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: a certification holder, a trainer or staff. The email is the login."""

    class State(models.TextChoices):
        """Where an account stands; set by the account services, never guessed from side
        facts such as `last_login` (decision record 0008)."""

        PENDING = "pending", _("Pending: signed up, address not confirmed yet")
        INVITED = "invited", _("Invited: registered by staff or a roster, no password yet")
        ACTIVE = "active", _("Active")
        DEACTIVATED = "deactivated", _("Deactivated by staff")

    # States in which the account counts as a current holder (is_active): reminders, reports
    # and public verification. Only ACTIVE accounts have a password to sign in with.
    LIVE_STATES = (State.INVITED, State.ACTIVE)

    email = models.EmailField(
        _("email address"),
        unique=True,
        error_messages={"unique": _(EMAIL_TAKEN)},
        help_text=_("Used to sign in; stored in its one canonical form (NFKC, lower-case)."),
    )
    pending_email = models.EmailField(
        _("new email address, waiting for confirmation"),
        blank=True,
        default="",
        db_default="",  # rows written with COPY (roster imports) get it too
        help_text=_("Takes effect once its owner follows the link sent to it."),
    )
    first_name = models.CharField(
        _("first name"), max_length=150, blank=True, validators=[validate_person_name]
    )
    last_name = models.CharField(
        _("last name"), max_length=150, blank=True, validators=[validate_person_name]
    )
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Can sign in to the staff pages and the admin."),
    )
    state = models.CharField(
        _("account state"),
        max_length=12,
        choices=State,
        default=State.ACTIVE,
        db_default=State.ACTIVE,  # for rows written around save(), like is_active's default
    )
    state_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the state last changed: every account link issued before it is void."),
    )
    state_before_deactivation = models.CharField(
        max_length=12,
        blank=True,
        default="",
        db_default="",  # rows written with COPY (roster imports) get it too
        editable=False,
        help_text=_("What reactivating the account restores."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        editable=False,
        help_text=_(
            "Follows the state: invited and active accounts are live; pending and "
            "deactivated ones are not."
        ),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    licence_accepted_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the holder accepted the licence agreement.")
    )
    invited_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the invitation to set a password was emailed.")
    )
    reminders_unsubscribed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the holder stopped the optional reminder emails; the expiry-day and "
            "grace reminders still go out."
        ),
    )
    ledger_version = models.PositiveBigIntegerField(
        default=0,
        db_default=0,  # rows written with COPY (roster imports) get it too
        editable=False,
        help_text=_(
            "Moved by the database on every change to anything the holder's dashboard "
            "shows (seu_ledger.page_versions); keys its cache."
        ),
    )
    calendar_token = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("Secret in the holder's private calendar feed URL; reset to revoke old links."),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_accounts",
        help_text=_(
            "The account staff merged this one into: its records and addresses live "
            "there now, and this account stays deactivated."
        ),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        db_default="",  # rows written with COPY (roster imports) get it too
        help_text=_(
            "Pages, emails, PDF transcripts and the calendar feed come in it; empty: the "
            "browser's language."
        ),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        db_default="",  # rows written with COPY (roster imports) get it too
        validators=[validate_time_zone],
        help_text=_(
            "Dates and times on the pages are shown in it, and reminder emails go out at the "
            "reminder hour there; empty: the site's time zone."
        ),
    )

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        permissions = [
            (
                "change_user_email",
                "Can ask to move a person's account to another email address",
            ),
            ("merge_user", "Can merge a person's duplicate account into another"),
        ]
        constraints = [
            # The column holds canonical_email()'s form; this holds even for bulk writes.
            models.UniqueConstraint(
                Lower("email"),
                name="credentials_user_email_ci_unique",
                violation_error_message=_(EMAIL_TAKEN),
            ),
            models.CheckConstraint(
                condition=models.Q(email=Lower(Trim("email"))),
                name="credentials_user_email_canonical",
                violation_error_message=_("The email address is not in its canonical form."),
            ),
            models.CheckConstraint(
                condition=models.Q(is_active=True, state__in=["invited", "active"])
                | models.Q(is_active=False, state__in=["pending", "deactivated"]),
                name="credentials_user_active_follows_state",
            ),
            # A merged account stays closed: its records live in the account it points to.
            models.CheckConstraint(
                condition=models.Q(merged_into__isnull=True) | models.Q(state="deactivated"),
                name="credentials_user_merged_is_deactivated",
            ),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")),
                name="credentials_user_not_merged_into_itself",
            ),
        ]

    @property
    def in_organisation(self) -> bool:
        """A member of some training organisation (read with the session where it can be)."""
        count = self.__dict__.get("organisation_count")
        if count is not None:
            return count > 0
        from .organisations import is_organisation_member

        return is_organisation_member(self)

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        try:
            self.email = canonical_email(self.email)
        except ValidationError as error:
            raise ValidationError({"email": error.messages}) from None

    def save(self, *args, **kwargs):
        """Store the canonical address whenever the address is written, and keep is_active
        following the state."""
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "email" in update_fields:
            self.email = canonical_email(self.email)
        self.is_active = self.state in self.LIVE_STATES
        if update_fields is not None and "state" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_active"}
        if not self._state.adding and kwargs.get("update_fields") is None:
            # ledger_version only moves by the database's triggers: saving a stale copy of the
            # user must not turn it back (and serve an old cached dashboard).
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "ledger_version"
            ]
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        """First and last name, or the email address when no name is known."""
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def greeting_name(self) -> str:
        """The first name to greet with in emails, or "" for an account whose owner has not
        proved the address yet (a pending sign-up's name is whatever anyone typed)."""
        return self.first_name if self.state in self.LIVE_STATES else ""


# The English text (msgid), like EMAIL_TAKEN: translated where it is shown.
ADDRESS_TAKEN = gettext_noop(
    "This address already belongs to an account. An address can belong to one account only; "
    "if both accounts are yours, ask staff to merge them."
)


class EmailAddress(models.Model):
    """A further address of an account (a work and a personal one): once its owner confirmed
    it from the link sent there, roster rows and sign-in with it find the account. Stored in
    `canonical_email`'s form; a confirmed address belongs to one account, and is nobody's
    sign-in address (the services check that side, see decision record 0011)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    address = models.EmailField(_("email address"), max_length=254)
    confirmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When its owner followed the link sent to it; until then it matches nothing."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["address"]
        verbose_name = _("secondary address")
        verbose_name_plural = _("secondary addresses")
        constraints = [
            # Unconfirmed rows may repeat: asking for an address proves nothing, so nobody can
            # keep its owner from adding it by asking first.
            models.UniqueConstraint(
                fields=["address"],
                condition=models.Q(confirmed_at__isnull=False),
                name="credentials_address_confirmed_once",
                violation_error_message=_(ADDRESS_TAKEN),
            ),
            models.UniqueConstraint(
                fields=["user", "address"], name="credentials_address_once_per_account"
            ),
            models.CheckConstraint(
                condition=models.Q(address=Lower(Trim("address"))),
                name="credentials_address_canonical",
                violation_error_message=_("The email address is not in its canonical form."),
            ),
        ]

    def __str__(self):
        return self.address

    def save(self, *args, **kwargs):
        self.address = canonical_email(self.address)
        super().save(*args, **kwargs)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RulesRevision(models.Model):
    """One row whose `revision` the database moves on every change to the renewal rules
    (issuers, programs, categories, mappings, rule versions, limits): triggers installed by
    `seu_ledger.page_versions`, so no write path can forget it. Cached pages and the
    per-process copy of the rules are keyed by it. Values come from a sequence and are never
    reused, even after a rolled-back change."""

    revision = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("rules revision")

    def __str__(self):
        return gettext("rules revision {revision}").format(revision=self.revision)


class AccountSession(AbstractBaseSession):
    """Django's database session with the account it signs in (`account`, None before sign-in),
    so that `credentials.sessions.SessionStore` reads the session, the signed-in account and
    the rules revision in one query on every signed-in request."""

    # No database constraint: a session saved as its account is being deleted must not fail
    # (Django's store retries a failed insert for ever). Deleting an account through Django
    # deletes its sessions; a row naming a deleted account signs nobody in.
    account = models.ForeignKey(
        "credentials.User",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("session")

    @classmethod
    def get_session_store_class(cls):
        from .sessions import SessionStore

        return SessionStore


class Issuer(models.Model):
    """A certifying body (Scrum Alliance, PMI...). Rules that differ by issuer are fields here."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120, unique=True)
    combined_renewal = models.BooleanField(
        default=False,
        help_text=_(
            "A holder's credentials from this issuer share one renewal date (earning a new one "
            "aligns the others) and renew together for one fee (Scrum Alliance)."
        ),
    )
    website = models.URLField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


# The seeded programs' words for the days after a term's end (Program.after_end_status and
# after_end_name): data, translated where shown when they are these.
AFTER_END_WORDS = (
    gettext_noop("In grace"),
    gettext_noop("Suspended"),
    gettext_noop("grace period"),
    gettext_noop("suspension"),
)


class Program(models.Model):
    """A certification and its renewal rules, as data: staff add one with no code change."""

    class Level(models.IntegerChoices):
        FOUNDATIONAL = 1, _("Foundational")
        ADVANCED = 2, _("Advanced")
        PROFESSIONAL = 3, _("Professional")

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="programs")
    code = models.CharField(max_length=40, unique=True, help_text=_("Short name, e.g. CSPO."))
    name = models.CharField(max_length=200)
    track = models.CharField(
        max_length=40,
        blank=True,
        help_text=_(
            "Career track within the issuer (e.g. PO, SM, DEV); lower levels of a track "
            "renew with the top one."
        ),
    )
    level = models.PositiveSmallIntegerField(choices=Level, default=Level.FOUNDATIONAL)
    validity_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Length of a term. Empty: the credential never expires."),
    )
    unit_name = models.CharField(max_length=20, default="SEU", help_text=_("SEU, PDU, hours..."))
    fee_required = models.BooleanField(default=True, help_text=_("A renewal needs a fee paid."))
    fee_amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Renewal fee. Empty with a fee required: staff record the amount when paid."),
    )
    member_fee_amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Fee for paying members of the issuer, where it has one (PMI)."),
    )
    currency = models.CharField(max_length=3, default="USD")
    grace_days = models.PositiveSmallIntegerField(
        default=0,
        help_text=_(
            "Days after the end during which the credential can still be renewed "
            "(Scrum Alliance CSP: 90 days of grace; PMI: one year of suspension)."
        ),
    )
    # The two defaults below are data (stored in the row, shown in sentences), not
    # translated: see the translation notes on after_end_name and after_end_status.
    after_end_name = models.CharField(
        max_length=30,
        default="grace period",
        help_text=_(
            "What the issuer calls those days, in a sentence: 'grace period', 'suspension'."
        ),
    )
    after_end_status = models.CharField(
        max_length=30,
        default="In grace",
        help_text=_("The status shown during those days: 'In grace', 'Suspended'."),
    )
    valid_after_end = models.BooleanField(
        default=True,
        help_text=_("The credential counts as valid during those days (PMI's suspension: no)."),
    )
    lapse_is_final = models.BooleanField(
        default=False,
        help_text=_(
            "After those days the credential cannot be renewed any more; only the "
            "issuer's examination restores it (PMI)."
        ),
    )
    min_course_hours = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Hours of attendance a course must reach to complete (CSPO: 16)."),
    )
    reminder_horizon_days = models.PositiveSmallIntegerField(
        default=90, help_text=_("A credential is 'expiring' this many days before its end.")
    )
    reminder_days_before = models.CharField(
        max_length=60,
        default=DEFAULT_REMINDER_DAYS,
        validators=[validate_reminder_days],
        help_text=_(
            "Days before the end on which reminders go out, comma-separated (a reminder "
            "also goes out on the last day)."
        ),
    )
    grace_reminder_every_days = models.PositiveSmallIntegerField(
        default=7,
        help_text=_("During grace, a reminder every this many days (0: none after the last day)."),
    )
    is_active = models.BooleanField(default=True, help_text=_("Offered for new courses."))
    time_zone = models.CharField(
        _("issuer's time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_(
            "Whether a credential is valid on a day is decided by the calendar in this zone: a "
            "term valid through 14 May is valid until midnight at the end of 14 May there."
        ),
    )

    class Meta:
        ordering = ["issuer__name", "level", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fee_amount__isnull=True) | models.Q(fee_amount__gte=0),
                name="credentials_program_fee_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(member_fee_amount__isnull=True)
                | models.Q(member_fee_amount__gte=0),
                name="credentials_program_member_fee_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(validity_months__isnull=True) | models.Q(validity_months__gt=0),
                name="credentials_program_validity_positive",
            ),
        ]

    def __str__(self):
        return self.code

    @property
    def after_end_label(self) -> str:
        """`after_end_status` in the reader's language where it is one of the seeded words
        (AFTER_END_WORDS); as staff wrote it otherwise."""
        return gettext(self.after_end_status) if self.after_end_status else ""

    @property
    def after_end_words(self) -> str:
        """`after_end_name` ("grace period", "suspension") in the reader's language, the same
        way."""
        return gettext(self.after_end_name) if self.after_end_name else ""

    @property
    def is_lifetime(self) -> bool:
        return self.validity_months is None

    @property
    def reminder_days(self) -> tuple[int, ...]:
        return parse_reminder_days(self.reminder_days_before)


class Membership(models.Model):
    """A holder's membership number with an issuer, and whether they pay its member fee."""

    holder = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="memberships")
    member_id = models.CharField(max_length=64, blank=True)
    is_paying_member = models.BooleanField(
        default=False, help_text=_("Pays the issuer's membership, so renews at the member fee.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "issuer"], name="credentials_membership_one_per_issuer"
            ),
        ]

    def __str__(self):
        # Translators: a holder's membership: "pat@example.com at Scrum Alliance".
        return gettext("{holder} at {issuer}").format(holder=self.holder, issuer=self.issuer)


class Organisation(models.Model):
    """A training provider. Its members (organisation admins and trainers) run its courses and
    report their attendees; its name, logo and reply-to address brand what its courses send
    (the invitation email, the transcript's course lines, the verification page's "trained
    by" line). Platform staff may make its members sign in only through its identity provider
    (OpenID Connect)."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(
        max_length=60, unique=True, help_text=_("Its part of the organisation's page addresses.")
    )
    website = models.URLField(blank=True)
    reply_to = models.EmailField(
        _("reply-to address"),
        blank=True,
        help_text=_("Replies to invitations sent for its courses go here."),
    )
    member_domains = models.CharField(
        _("its address domains"),
        max_length=500,
        blank=True,
        help_text=_(
            "Domains of the organisation's own addresses, comma-separated (e.g. "
            "northwind.example): its admins may add new members at these only; platform staff "
            "add anyone."
        ),
    )
    logo = models.BinaryField(
        blank=True, default=b"", editable=False, help_text=_("PNG, at most 400 x 160 pixels.")
    )
    logo_version = models.PositiveIntegerField(default=0, editable=False)
    oidc_issuer = models.URLField(
        _("OpenID Connect issuer"),
        blank=True,
        help_text=_(
            "The identity provider's issuer URL; its discovery document is read from "
            "<issuer>/.well-known/openid-configuration."
        ),
    )
    oidc_client_id = models.CharField(_("OpenID Connect client ID"), max_length=255, blank=True)
    oidc_client_secret = models.CharField(
        _("OpenID Connect client secret"), max_length=255, blank=True
    )
    oidc_required = models.BooleanField(
        _("members sign in only through its identity provider"),
        default=False,
        help_text=_("Password sign-in is refused to its members."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(oidc_required=False)
                | (~models.Q(oidc_issuer="") & ~models.Q(oidc_client_id="")),
                name="credentials_organisation_oidc_required_configured",
                violation_error_message=_(
                    "Sign-in through the identity provider needs its issuer URL and client ID."
                ),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def domains(self) -> set[str]:
        """`member_domains` as a set of lower-case domains."""
        return {d.strip().lower().lstrip("@") for d in self.member_domains.split(",") if d.strip()}

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def clean(self):
        from django.conf import settings

        issuer = self.oidc_issuer
        if issuer and not issuer.startswith("https://") and not settings.OIDC_ALLOW_HTTP:
            raise ValidationError(
                {
                    "oidc_issuer": gettext(
                        "The identity provider's issuer must be an https:// address."
                    )
                }
            )


class OrganisationMember(models.Model):
    """A person's role in an organisation: an organisation admin manages its members and
    trainers and sees its reports; a trainer runs its courses. `oidc_subject` is the member's
    `sub` at the organisation's identity provider, recorded at their first sign-in there."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Organisation admin")
        TRAINER = "trainer", _("Trainer")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="organisation_memberships"
    )
    role = models.CharField(max_length=10, choices=Role, default=Role.TRAINER)
    oidc_subject = models.CharField(
        _("identity provider subject"), max_length=255, blank=True, editable=False
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organisation", "role", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"],
                name="credentials_organisationmember_once",
                violation_error_message=_("This person is already a member."),
            ),
            models.UniqueConstraint(
                fields=["organisation", "oidc_subject"],
                condition=~models.Q(oidc_subject=""),
                name="credentials_organisationmember_subject_once",
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}, {self.organisation})"

    def clean(self):
        # Staff reach every organisation already; a member's sign-in can be handed to the
        # organisation's identity provider, which must never sign anyone in as staff.
        user = getattr(self, "user", None) if self.user_id else None
        if user is not None and (user.is_staff or user.is_superuser):
            raise ValidationError(
                {"user": gettext("Staff accounts are not members of organisations.")}
            )


class Course(models.Model):
    """A class that earns a credential, known by the trainer's external course code."""

    class Delivery(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        ONLINE = "online", _("Online")

    code = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200, blank=True)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="courses")
    trainer = models.CharField(
        max_length=200, blank=True, help_text=_("The trainer's name as the roster gives it.")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="courses",
        help_text=_("The training organisation that runs it; empty for the platform's own."),
    )
    trainers = models.ManyToManyField(
        User,
        blank=True,
        related_name="courses_trained",
        help_text=_("The organisation's trainers who run it: they see its attendees."),
    )
    start_date = models.DateField()
    end_date = models.DateField()
    hours = models.DecimalField(max_digits=5, decimal_places=2)
    delivery = models.CharField(max_length=12, choices=Delivery, default=Delivery.ONLINE)

    class Meta:
        ordering = ["-end_date", "code"]
        constraints = [
            models.UniqueConstraint(
                Upper("code"),
                name="credentials_course_code_ci_unique",
                violation_error_message=_("A course with this code (in any letter case) exists."),
            ),
            models.CheckConstraint(
                condition=models.Q(hours__gt=0), name="credentials_course_hours_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="credentials_course_ends_after_start",
                violation_error_message=_("A course cannot end before it starts."),
            ),
        ]

    def __str__(self):
        return f"{self.code} ({self.program.code})"


class Attendance(models.Model):
    """One holder on one course: hours attended and whether the roster marks them complete."""

    holder = models.ForeignKey(User, on_delete=models.CASCADE, related_name="attendances")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="attendances")
    hours_attended = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    completed = models.BooleanField(default=False)
    reported_email = models.EmailField(
        blank=True,
        help_text=_(
            "The address the roster gave for this attendee (a training organisation "
            "sees this one, not the account's other addresses)."
        ),
    )
    reported_name = models.CharField(
        max_length=301, blank=True, help_text=_("The name the roster gave for this attendee.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "course"], name="credentials_attendance_one_per_holder_course"
            ),
            models.CheckConstraint(
                condition=models.Q(hours_attended__gte=0),
                name="credentials_attendance_hours_not_negative",
            ),
        ]

    def __str__(self):
        # Translators: an attendance: "pat@example.com on CSPO-2026-03-A" (a course code).
        return gettext("{holder} on {course}").format(holder=self.holder, course=self.course.code)


class Credential(models.Model):
    """A holder's certification in one program, with its history of terms."""

    holder = models.ForeignKey(User, on_delete=models.CASCADE, related_name="credentials")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="credentials")
    issued_on = models.DateField()
    source_course = models.ForeignKey(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="credentials"
    )
    certificate_number = models.CharField(
        max_length=64, blank=True, help_text=_("The issuer's certificate or member number.")
    )
    verified = models.BooleanField(
        default=True,
        help_text=_(
            "Self-reported credentials stay unverified until staff check them with the "
            "issuer; unverified ones are not shown on the public verification page."
        ),
    )
    verification_code = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Random code in the public verification link; cannot be guessed."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("When staff revoked it: a revoked credential is never valid again."),
    )
    # A database default too: roster imports write credentials with COPY, naming only the
    # columns they fill.
    revoked_reason = models.TextField(
        blank=True,
        default="",
        db_default="",
        editable=False,
        help_text=_("Why staff revoked it (kept for staff)."),
    )
    revoked_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["holder", "program__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "program"], name="credentials_credential_one_per_program"
            ),
        ]

    def __str__(self):
        # Translators: a credential: "CSPO held by pat@example.com".
        return gettext("{program} held by {holder}").format(
            program=self.program.code, holder=self.holder
        )


class Term(models.Model):
    """One validity window of a credential, valid through `ends_on` inclusive."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="terms")
    sequence = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text=_("Empty for a lifetime credential.")
    )
    aligned_from = models.DateField(
        null=True,
        blank=True,
        help_text=_("The end date before it was aligned to a newer credential of the same issuer."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["credential", "sequence"]
        # The reminder scan and the staff reports select terms by end date.
        indexes = [models.Index(fields=["ends_on"], name="credentials_term_ends_on")]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "sequence"], name="credentials_term_one_per_sequence"
            ),
            models.CheckConstraint(
                condition=models.Q(sequence__gte=1), name="credentials_term_sequence_from_one"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gt=models.F("starts_on")),
                name="credentials_term_ends_after_start",
                violation_error_message=_("A term must end after it starts."),
            ),
        ]

    def __str__(self):
        start = formats.day(self.starts_on)
        if self.ends_on is None:
            # Translators: a term of a credential that never ends: "CSPO held by
            # pat@example.com term 1 (2 Mar 2026 to lifetime)".
            text = gettext("{credential} term {sequence} ({start} to lifetime)")
            return text.format(credential=self.credential, sequence=self.sequence, start=start)
        # Translators: a term of a credential: "CSPO held by pat@example.com term 1 (2 Mar
        # 2026 to 2 Mar 2028)".
        return gettext("{credential} term {sequence} ({start} to {end})").format(
            credential=self.credential,
            sequence=self.sequence,
            start=start,
            end=formats.day(self.ends_on),
        )


def roster_path(roster_import, filename):
    return f"rosters/{uuid.uuid4().hex}/{filename}"


class RosterImport(models.Model):
    """One uploaded roster: its file, what validation found, and how applying it went."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking the file")
        VALIDATED = "validated", _("Checked, waiting for confirmation")
        REJECTED = "rejected", _("Rejected")
        DISCARDED = "discarded", _("Discarded")
        QUEUED = "queued", _("Queued")
        APPLYING = "applying", _("Applying")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed, can be run again")

    file = models.FileField(upload_to=roster_path, max_length=300)
    original_name = models.CharField(max_length=255)
    uploaded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="roster_imports"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="roster_imports",
        help_text=_("Uploaded for this organisation: its rows may name only its courses."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.VALIDATED)
    encoding = models.CharField(
        max_length=20,
        blank=True,
        help_text=_("The encoding staff chose to read the CSV in; blank: detected."),
    )
    read_as = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("How the file was read: format, encoding, lines with accented text."),
    )
    rows_read = models.PositiveIntegerField(
        default=0, help_text=_("Rows read so far by the check.")
    )
    only_valid_rows = models.BooleanField(default=False)
    totals = models.JSONField(default=dict, blank=True, help_text=_("Counts found by validation."))
    errors = models.JSONField(
        default=list, blank=True, help_text=_("Bad rows: line, column, reason.")
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text=_("What applying changed."))
    failure = models.TextField(blank=True)
    run_token = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The task run that holds this import while applying."),
    )
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the run holding it last showed progress; past CLAIM_EXPIRES the sweep "
            "hands the import to another run."
        ),
    )
    retry_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the next attempt is due after a failure.")
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def percent_done(self) -> int:
        return 100 if not self.rows_total else int(self.rows_done * 100 / self.rows_total)

    IN_PROGRESS = (Status.CHECKING, Status.QUEUED, Status.APPLYING)

    def is_stuck(self, now=None) -> bool:
        """Being checked, queued or applying, with no progress for longer than a claim lasts
        (CLAIM_EXPIRES): no worker took it up, or the one working on it stopped."""
        from cspo_tracker.claims import stale_before

        if self.status not in self.IN_PROGRESS:
            return False
        return (self.claimed_at or self.created_at) < stale_before(now)

    def retry_pending(self, now=None) -> bool:
        """Applying, and an attempt after a failure is due later."""
        return (
            self.status == self.Status.APPLYING
            and self.retry_at is not None
            and self.retry_at > (now or timezone.now())
        )


class Invitation(models.Model):
    """An invitation email owed to an invited holder: written when one is asked for (a roster
    created the holder, staff asked), claimed by the worker that sends it, marked sent. At most
    one waits per holder. Rows that wait too long or whose claim expired are sent by the
    sweep, so a process dying while sending loses nothing (decision record 0010)."""

    holder = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The training organisation whose name, logo and reply-to address it carries."),
    )
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder"],
                condition=models.Q(sent_at__isnull=True),
                name="credentials_invitation_one_waiting_per_holder",
            ),
        ]

    def __str__(self):
        if self.sent_at:
            return gettext("Invitation to {holder} (sent)").format(holder=self.holder)
        return gettext("Invitation to {holder} (waiting)").format(holder=self.holder)
