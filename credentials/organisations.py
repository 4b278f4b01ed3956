"""Training organisations: who reaches which organisation's courses, rosters and attendees
(the selectors every organisation page, export and roster page takes its rows from), and the
services that change an organisation's members, course trainers and branding.

Reach, in one place (decision record 0017):
- platform staff (staff with the model permission: the registrar and viewer roles) reach
  every organisation;
- an organisation admin reaches every course, roster and attendee of their organisation;
- a trainer reaches the courses of their organisation that name them as trainer, those
  courses' attendees, and the rosters they uploaded;
- nobody else reaches any. No organisation role reaches a holder's ledger or evidence: these
  selectors return courses, attendances, roster imports and credential statuses only.
"""

import datetime
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker.links import absolute_url

from .identity import canonical_email
from .models import (
    Attendance,
    Course,
    Credential,
    Organisation,
    OrganisationMember,
    RosterImport,
    User,
)
from .selectors import Status, account_for_address, status_for_dates, today

Role = OrganisationMember.Role

# Platform staff's reach over every organisation, by what they do.
SEE_ALL = "credentials.view_course"
SEE_ALL_ROSTERS = "credentials.view_rosterimport"
MANAGE_ALL = "credentials.change_organisation"

LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 12_000_000  # decoded as RGBA: at most 48 MB while it is scaled down
LOGO_BOX = (400, 160)  # pixels, width x height: the logo is scaled down to fit
NOT_A_MEMBER = _("Only the organisation's members can run its courses.")
LAST_ADMIN = _("An organisation keeps at least one organisation admin.")
EXISTING_ACCOUNT = _(
    "Someone already has an account with this address. Platform staff add existing accounts "
    "to an organisation (they make sure it is the same person): ask them."
)
OTHER_DOMAIN = _(
    # Translators: {domains} lists internet domains, separated by commas (northwind.example).
    "Your organisation adds members with its own addresses only ({domains}); platform staff "
    "add others."
)
NO_DOMAINS = _(
    "Platform staff have not set your organisation's address domains yet, so they add its "
    "members: ask them."
)
STAFF_NOT_MEMBERS = _("Staff accounts are not members of training organisations.")
CHOOSE_ROLE = _("Choose organisation admin or trainer.")


def is_platform_staff(user, permission: str = SEE_ALL) -> bool:
    """Staff whose role has `permission` (the registrar and viewer roles have the view ones):
    they reach every organisation."""
    return bool(user.is_authenticated and user.is_staff and user.has_perm(permission))


def roles_of(user) -> dict[int, str]:
    """{organisation id: role} of the user's memberships; read once per request object."""
    if not user.is_authenticated:
        return {}
    cached = getattr(user, "_organisation_roles", None)
    if cached is None:
        cached = dict(
            OrganisationMember.objects.filter(user_id=user.pk).values_list(
                "organisation_id", "role"
            )
        )
        user._organisation_roles = cached
    return cached


def is_organisation_member(user) -> bool:
    return bool(roles_of(user))


def _ids(user, *roles: str) -> list[int]:
    return [org for org, role in roles_of(user).items() if role in roles]


def organisations_visible_to(user) -> QuerySet[Organisation]:
    """Every organisation for platform staff; the user's own organisations for members."""
    if is_platform_staff(user):
        return Organisation.objects.all()
    return Organisation.objects.filter(pk__in=_ids(user, Role.ADMIN, Role.TRAINER))


def organisation_role(user, organisation: Organisation) -> str:
    """ "admin" for platform staff who may change organisations and for the organisation's
    admins; "trainer" for its trainers; "staff" for platform staff who only view; "" for
    anyone else."""
    role = roles_of(user).get(organisation.pk, "")
    if role == Role.ADMIN or is_platform_staff(user, MANAGE_ALL):
        return Role.ADMIN
    if role:
        return role
    return "staff" if is_platform_staff(user) else ""


def courses_visible_to(user) -> QuerySet[Course]:
    """The courses `user` reaches (module docstring): all for platform staff, their
    organisations' for organisation admins, the ones naming them for trainers, else none."""
    if is_platform_staff(user):
        return Course.objects.all()
    admin_of, trainer_in = _ids(user, Role.ADMIN), _ids(user, Role.TRAINER)
    if not admin_of and not trainer_in:
        return Course.objects.none()
    trained = Course.trainers.through.objects.filter(user_id=user.pk).values("course_id")
    return Course.objects.filter(
        Q(organisation_id__in=admin_of) | Q(organisation_id__in=trainer_in, pk__in=trained)
    )


def attendances_visible_to(user) -> QuerySet[Attendance]:
    """The attendances of the courses `user` reaches: who attended, their hours, whether
    they completed."""
    return Attendance.objects.filter(course__in=courses_visible_to(user))


def roster_imports_visible_to(user, permission: str = SEE_ALL_ROSTERS) -> QuerySet[RosterImport]:
    """The roster imports `user` reaches for what `permission` allows (viewing by default;
    "credentials.add_rosterimport" to confirm, check again or discard): all for platform
    staff whose role has that permission; else their organisations' for organisation admins
    and their own uploads (for an organisation they still belong to) for trainers; else
    none. A viewer who also trains somewhere reaches only their own uploads to act on."""
    if is_platform_staff(user, permission):
        return RosterImport.objects.all()
    admin_of, trainer_in = _ids(user, Role.ADMIN), _ids(user, Role.TRAINER)
    return RosterImport.objects.filter(
        Q(organisation_id__in=admin_of) | Q(organisation_id__in=trainer_in, uploaded_by_id=user.pk)
    )


def may_use_rosters(user, permission: str) -> bool:
    """Platform staff with `permission`, or a member of any organisation (what they see is
    then limited by `roster_imports_visible_to`)."""
    return is_platform_staff(user, permission) or is_organisation_member(user)


def organisations_for_upload(user) -> QuerySet[Organisation]:
    """The organisations `user` may upload a roster for: every one for platform staff who
    may add roster imports, else the user's own."""
    if is_platform_staff(user, "credentials.add_rosterimport"):
        return Organisation.objects.all()
    return Organisation.objects.filter(pk__in=_ids(user, Role.ADMIN, Role.TRAINER))


@dataclass(frozen=True)
class RosterScope:
    """What a roster uploaded for an organisation may name: only that organisation's courses
    (new course codes become its courses), and for a trainer only courses naming them (new
    ones name them). Existing holders' names are not changed by it."""

    organisation_id: int
    organisation_name: str
    trainer_id: int | None = None  # a trainer's upload: the courses must name this user
    left: bool = False  # the uploader is no longer a member: nothing of theirs is applied


def roster_scope(record: RosterImport) -> RosterScope | None:
    """The scope of a roster import, as of now: None for a platform upload (no organisation);
    for an organisation's, a trainer's scope when its uploader is a trainer there (not an
    admin, not platform staff), else the organisation's. When the uploader is gone or no
    longer a member (nor platform staff), the scope is `left`: every row is refused."""
    if record.organisation_id is None:
        return None
    organisation = record.organisation
    uploader = record.uploaded_by
    if uploader is not None and is_platform_staff(uploader, "credentials.add_rosterimport"):
        return RosterScope(organisation.pk, organisation.name)
    role = (
        OrganisationMember.objects.filter(organisation=organisation, user=uploader)
        .values_list("role", flat=True)
        .first()
        if uploader is not None
        else None
    )
    if role is None:
        return RosterScope(organisation.pk, organisation.name, trainer_id=0, left=True)
    trainer_id = None if role == Role.ADMIN else uploader.pk
    return RosterScope(organisation.pk, organisation.name, trainer_id)


def course_trainer_ids(course_ids) -> dict[int, set[int]]:
    """{course id: ids of the users it names as trainers}."""
    named: dict[int, set[int]] = {}
    for course_id, user_id in Course.trainers.through.objects.filter(
        course_id__in=list(course_ids)
    ).values_list("course_id", "user_id"):
        named.setdefault(course_id, set()).add(user_id)
    return named


# --- Pages' rows --------------------------------------------------------------------------


def course_rows(user, organisation: Organisation) -> QuerySet[Course]:
    """The organisation's courses `user` reaches, each with `attendee_count`,
    `completed_count` and `issued_count` (credentials its completion issued), newest first."""
    return (
        courses_visible_to(user)
        .filter(organisation=organisation)
        .select_related("program")
        .annotate(
            attendee_count=_count(Attendance.objects.filter(course=OuterRef("pk")), "course"),
            completed_count=_count(
                Attendance.objects.filter(course=OuterRef("pk"), completed=True), "course"
            ),
            issued_count=_count(
                Credential.objects.filter(source_course=OuterRef("pk")), "source_course"
            ),
        )
        .order_by("-end_date", "code")
    )


def _count(rows: QuerySet, by: str):
    """The number of `rows` (filtered on OuterRef through the field `by`) as a subquery:
    counting several to-many relations through joins would multiply them."""
    counted = rows.order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted[:1]), 0)


@dataclass(frozen=True)
class AttendeeRow:
    """One attendee of a course as an organisation sees them: no ledger, no evidence."""

    name: str
    email: str
    hours_attended: object
    completed: bool
    credential_issued: bool
    certificate: str  # the credential's verification code, when issued


def course_attendees(user, course: Course) -> list[AttendeeRow]:
    """Who attended `course`, among the attendances `user` reaches (`attendances_visible_to`:
    none of a course beyond their reach), their hours and completion, and whether the course
    issued their credential. Two queries."""
    issued = dict(
        Credential.objects.filter(source_course=course).values_list(
            "holder_id", "verification_code"
        )
    )
    rows = []
    for attendance in (
        attendances_visible_to(user)
        .filter(course=course)
        .select_related("holder")
        .order_by("holder__last_name", "holder__first_name", "holder__email")
    ):
        holder = attendance.holder
        code = issued.get(holder.pk)
        rows.append(
            AttendeeRow(
                # As the roster gave them (not the account's own name or other addresses).
                name=attendance.reported_name or holder.get_full_name(),
                email=attendance.reported_email or holder.email,
                hours_attended=attendance.hours_attended,
                completed=attendance.completed,
                credential_issued=code is not None,
                certificate=str(code or ""),
            )
        )
    return rows


@dataclass(frozen=True)
class AtRiskRow:
    """A holder who attended the organisation's courses, with one credential in a program of
    those courses: its status today and dates. Nothing from the holder's ledger."""

    name: str
    email: str
    courses: str  # the organisation's courses they attended, by code
    program: str
    status: Status
    status_label: str
    valid_through: datetime.date | None
    days_left: int | None


AT_RISK = (Status.EXPIRING, Status.IN_GRACE, Status.LAPSED)


def at_risk_rows(
    organisation: Organisation, *, on: datetime.date | None = None, everyone: bool = False
) -> list[AtRiskRow]:
    """The credentials `organisation`'s courses issued that are expiring, in grace (PMI:
    suspended) or lapsed on `on` (today), with their holders and the organisation's courses
    they completed, soonest end first; with `everyone`, every one whatever its status. Two
    queries, whatever the number of holders."""
    from .selectors import status_label

    on = on or today()
    courses_of: dict[tuple[int, int], list[str]] = {}
    reported: dict[int, tuple[str, str]] = {}  # holder -> (address, name) its roster gave
    for holder_id, program_id, code, email, name in (
        Attendance.objects.filter(course__organisation=organisation, completed=True)
        .values_list(
            "holder_id", "course__program_id", "course__code", "reported_email", "reported_name"
        )
        .order_by("course__end_date")
    ):
        courses_of.setdefault((holder_id, program_id), []).append(code)
        if email:
            reported[holder_id] = (email, name)
    # The credentials its courses issued: not what the holder earned elsewhere.
    credentials = (
        Credential.objects.filter(
            source_course__organisation=organisation, verified=True, revoked_at__isnull=True
        )
        .annotate(valid_through=Max("terms__ends_on"), first_starts_on=Min("terms__starts_on"))
        .select_related("holder", "program")
        .order_by(F("valid_through").asc(nulls_last=True), "holder__email")
    )
    rows = []
    for credential in credentials:
        status = status_for_dates(
            program=credential.program,
            first_starts_on=credential.first_starts_on or credential.issued_on,
            valid_through=credential.valid_through,
            on=on,
        )
        if not everyone and status not in AT_RISK:
            continue
        holder = credential.holder
        valid_through = credential.valid_through
        email, name = reported.get(holder.pk, (holder.email, holder.get_full_name()))
        rows.append(
            AtRiskRow(
                name=name,
                email=email,
                courses=", ".join(courses_of.get((holder.pk, credential.program_id), [])),
                program=credential.program.code,
                status=status,
                status_label=status_label(credential.program, status),
                valid_through=valid_through,
                days_left=(valid_through - on).days if valid_through else None,
            )
        )
    return rows


def trained_by(credential_ids) -> dict[int, str]:
    """{credential id: the name of the training organisation whose course issued it}, for the
    credentials that came from an organisation's course. One query."""
    return dict(
        Credential.objects.filter(
            pk__in=list(credential_ids), source_course__organisation__isnull=False
        ).values_list("pk", "source_course__organisation__name")
    )


# --- Services -----------------------------------------------------------------------------


def members_visible_to(user, organisation: Organisation) -> QuerySet[OrganisationMember]:
    """The organisation's members, for its admins and platform staff; none for anyone else."""
    if organisation_role(user, organisation) not in (Role.ADMIN, "staff"):
        return OrganisationMember.objects.none()
    return OrganisationMember.objects.filter(organisation=organisation)


def organisation_member_add(
    *,
    organisation: Organisation,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    added_by: User | None = None,
) -> OrganisationMember:
    """Make the person with this address a member in `role` ("admin" or "trainer"). Someone
    without an account is registered as an invited account and sent the organisation's
    invitation. An organisation's admin adds only addresses at its own domains
    (`Organisation.member_domains`) that have no account yet; existing accounts (found by any
    of their confirmed addresses) and other domains are for platform staff who may change
    organisations (`added_by`): an organisation could otherwise claim someone's account, or
    an address its owner will sign up with later, and through its own identity provider sign
    in as them.
    Staff accounts are never members. Raises ValidationError by field (email, role,
    first_name, last_name), e.g. for someone already a member."""
    from .accounts import holder_register

    if role not in Role.values:
        raise ValidationError({"role": [CHOOSE_ROLE]})
    try:
        address = canonical_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None
    staff = added_by is not None and is_platform_staff(added_by, MANAGE_ALL)
    if not staff and address.rpartition("@")[2] not in organisation.domains:
        domains = ", ".join(sorted(organisation.domains))
        raise ValidationError(
            {"email": [OTHER_DOMAIN.format(domains=domains) if domains else NO_DOMAINS]}
        )
    with transaction.atomic():
        user = account_for_address(address)
        if user is None:
            user = holder_register(
                email=address,
                first_name=first_name,
                last_name=last_name,
                requested_by=added_by,
                organisation=organisation,
            )
        elif not staff:
            raise ValidationError({"email": [EXISTING_ACCOUNT]})
        elif user.state == User.State.DEACTIVATED:
            raise ValidationError({"email": [gettext("This account is deactivated.")]})
        elif user.is_staff or user.is_superuser:
            raise ValidationError({"email": [STAFF_NOT_MEMBERS]})
        try:
            with transaction.atomic():
                return OrganisationMember.objects.create(
                    organisation=organisation, user=user, role=role
                )
        except IntegrityError:
            # Translators: {email} is a person's address, {organisation} its name.
            text = gettext("{email} is already a member of {organisation}.")
            raise ValidationError(
                {"email": [text.format(email=user.email, organisation=organisation.name)]}
            ) from None


def _keeps_an_admin(member: OrganisationMember) -> None:
    """Inside a transaction: the organisation's row is locked first (two admins removing each
    other wait for one another), then its other admins are counted."""
    Organisation.objects.select_for_update().filter(pk=member.organisation_id).values("pk").first()
    others = (
        OrganisationMember.objects.filter(organisation_id=member.organisation_id, role=Role.ADMIN)
        .exclude(pk=member.pk)
        .order_by()
    )
    if member.role == Role.ADMIN and not others.exists():
        raise ValidationError(LAST_ADMIN)


def organisation_member_role_set(*, member: OrganisationMember, role: str) -> OrganisationMember:
    """Change a member's role. Raises ValidationError for an unknown role, or for making the
    last organisation admin a trainer."""
    if role not in Role.values:
        raise ValidationError({"role": [CHOOSE_ROLE]})
    with transaction.atomic():
        if role != Role.ADMIN:
            _keeps_an_admin(member)
        member.role = role
        member.save(update_fields=["role"])
    return member


def organisation_member_remove(*, member: OrganisationMember) -> None:
    """Remove a member: they no longer reach the organisation, and its courses no longer
    name them as trainer. Their account, and anything they attended, stay. Raises
    ValidationError for the last organisation admin."""
    with transaction.atomic():
        _keeps_an_admin(member)
        Course.trainers.through.objects.filter(
            user_id=member.user_id, course__organisation_id=member.organisation_id
        ).delete()
        member.delete()


def course_trainers_set(*, course: Course, user_ids) -> Course:
    """Name the course's trainers: members of its organisation. Raises ValidationError for a
    course without organisation, or for someone who is not a member."""
    user_ids = {int(pk) for pk in user_ids}
    if course.organisation_id is None:
        raise ValidationError(gettext("A course of no organisation has no trainers to name."))
    members = set(
        OrganisationMember.objects.filter(
            organisation_id=course.organisation_id, user_id__in=user_ids
        ).values_list("user_id", flat=True)
    )
    if user_ids - members:
        raise ValidationError({"trainers": [NOT_A_MEMBER]})
    course.trainers.set(user_ids)
    return course


def organisation_logo_check(data: bytes) -> bytes:
    """A logo upload made safe to show anywhere: a PNG or JPEG image of at most
    LOGO_MAX_BYTES, scaled down to fit LOGO_BOX pixels and stored again as PNG (nothing of
    the file but its pixels is kept: no metadata, no scripts). Raises ValidationError saying
    what is wrong."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError({"logo": [gettext("The logo may be at most 1 MB.")]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("PNG", "JPEG"):
                raise ValidationError(
                    {"logo": [gettext("Upload the logo as a PNG or JPEG image.")]}
                )
            if probe.width * probe.height > LOGO_MAX_PIXELS:
                raise ValidationError({"logo": [gettext("The image is too large (pixels).")]})
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", LOGO_BOX)  # a JPEG decodes at a fraction of its size
            image = ImageOps.exif_transpose(image)
            image.thumbnail(LOGO_BOX)
            image = image.convert("RGBA")
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            {"logo": [gettext("This file is not a PNG or JPEG image.")]}
        ) from None
    return out.getvalue()


def organisation_branding_update(
    *, organisation: Organisation, reply_to: str, website: str, logo: bytes | None = None
) -> Organisation:
    """Change an organisation's reply-to address, website and (when given) logo. Raises
    ValidationError by field."""
    organisation.reply_to = reply_to.strip()
    organisation.website = website.strip()
    fields = ["reply_to", "website"]
    if logo is not None:
        organisation.logo = organisation_logo_check(logo)
        organisation.logo_version = F("logo_version") + 1
        fields += ["logo", "logo_version"]
    organisation.full_clean(exclude=["logo", "logo_version", "name", "slug"])
    organisation.save(update_fields=fields)
    organisation.refresh_from_db(fields=["logo_version"])
    return organisation


def organisation_logo_url(organisation: Organisation | None, *, absolute: bool = True) -> str:
    """The address of the organisation's logo (absolute, for emails; else the path, for our
    pages), versioned so a new logo is fetched anew; "" when it has none."""
    if organisation is None or not organisation.logo_version:
        return ""
    if absolute:
        url = absolute_url("organisations:logo", organisation.slug)
    else:
        url = reverse("organisations:logo", args=[organisation.slug])
    return f"{url}?v={organisation.logo_version}"


def organisation_password_sessions_end(*, organisation: Organisation) -> int:
    """Sign every member of `organisation` out everywhere (its members must now sign in
    through its identity provider, and their sessions may have come from a password).
    Returns how many sessions ended."""
    from .models import AccountSession

    deleted, _ = AccountSession.objects.filter(
        account__organisation_memberships__organisation=organisation
    ).delete()
    return deleted


def password_sign_in_refused_by(user) -> Organisation | None:
    """The organisation that requires `user` to sign in through its identity provider (the
    first by name), or None when a password may sign them in."""
    return (
        Organisation.objects.filter(members__user_id=user.pk, oidc_required=True)
        .order_by("name")
        .first()
    )
