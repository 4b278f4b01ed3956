"""Pages of a training organisation: its courses and their attendees (trainers see the
courses naming them, organisation admins all), its members, its branding and its at-risk
list. Every row comes through the selectors of `credentials.organisations`; an organisation
the user does not reach answers 404, a page beyond their role 403."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import get_valid_filename
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cspo_tracker.spreadsheets import export_response

from .forms import CrispySubmitMixin
from .models import Organisation, User
from .organisations import (
    Role,
    at_risk_rows,
    course_attendees,
    course_rows,
    course_trainers_set,
    courses_visible_to,
    is_organisation_member,
    is_platform_staff,
    members_visible_to,
    organisation_branding_update,
    organisation_logo_url,
    organisation_member_add,
    organisation_member_remove,
    organisation_member_role_set,
    organisation_role,
    organisations_visible_to,
    roster_imports_visible_to,
)
from .selectors import today

# Header rows of the downloads (translated when a download is made: `_header`).
ATTENDEE_COLUMNS = (
    _("Name"),
    _("Email"),
    _("Hours attended"),
    _("Completed"),
    _("Credential issued"),
)
AT_RISK_COLUMNS = (
    _("Name"),
    _("Email"),
    _("Courses attended"),
    _("Credential"),
    _("Status"),
    _("Valid through"),
    _("Days left"),
)


def _header(columns) -> list[str]:
    """A download's header in the current language."""
    return [str(column) for column in columns]


def _yes_no(value: bool) -> str:
    # Translators: a cell of a download (attendees): completed, credential issued.
    return gettext("yes") if value else gettext("no")


def organisation_work(view):
    """Signed in (else sent to sign in), and platform staff or a member of some
    organisation (else 403)."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not (is_platform_staff(request.user) or is_organisation_member(request.user)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def organisation_page(*, admin: bool = False, report: bool = False):
    """Signed in; platform staff or a member of some organisation (else 403); the
    organisation of the URL's slug among those the user reaches (else 404); with `admin`,
    only its organisation admins and platform staff who may change organisations, with
    `report` its admins and any platform staff (else 403). The view gets the organisation
    and the user's role there."""

    def decorator(view):
        @wraps(view)
        @organisation_work
        def wrapper(request, slug, *args, **kwargs):
            organisation = get_object_or_404(
                organisations_visible_to(request.user).defer("logo"), slug=slug
            )
            role = organisation_role(request.user, organisation)
            if admin and role != Role.ADMIN:
                raise PermissionDenied
            if report and role not in (Role.ADMIN, "staff"):
                raise PermissionDenied  # its reports: its admins and platform staff
            return view(request, organisation, role, *args, **kwargs)

        return wrapper

    return decorator


@organisation_work
@require_safe
def organisations(request):
    """The organisations the user reaches; a member of one goes straight to it."""
    reached = list(organisations_visible_to(request.user).defer("logo"))
    if len(reached) == 1 and not is_platform_staff(request.user):
        return redirect("organisations:detail", reached[0].slug)
    return render(request, "organisations/list.html", {"organisations": reached})


@organisation_page()
@require_safe
def organisation_detail(request, organisation, role):
    courses = list(course_rows(request.user, organisation))
    rosters = list(
        roster_imports_visible_to(request.user)
        .filter(organisation=organisation)
        .select_related("uploaded_by")[:10]
    )
    return render(
        request,
        "organisations/detail.html",
        {
            "organisation": organisation,
            "role": role,
            "is_admin": role == Role.ADMIN,
            "courses": courses,
            "rosters": rosters,
        },
    )


def _course(request, organisation, pk):
    return get_object_or_404(
        courses_visible_to(request.user)
        .filter(organisation=organisation)
        .select_related("program"),
        pk=pk,
    )


class MembersField(forms.ModelMultipleChoiceField):
    """Checkboxes of members; a value that is not an id at all is invalid (rather than an
    integer too large for the database)."""

    def _check_values(self, value):
        for pk in value:
            if not str(pk).isdigit() or len(str(pk)) > 12:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class TrainersForm(forms.Form):
    trainers = MembersField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Trainers"),
        help_text=_("The members who run this course: they see its attendees."),
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainers"].queryset = User.objects.filter(
            organisation_memberships__organisation=organisation
        ).order_by("last_name", "first_name", "email")
        self.fields["trainers"].label_from_instance = lambda user: (
            f"{user.get_full_name() or user.email} ({user.email})"
        )


@organisation_page()
@require_safe
def course_detail(request, organisation, role, pk):
    course = _course(request, organisation, pk)
    trainers = list(course.trainers.order_by("last_name", "first_name", "email"))
    form = None
    if role == Role.ADMIN:
        form = TrainersForm(
            organisation=organisation, initial={"trainers": [u.pk for u in trainers]}
        )
    return render(
        request,
        "organisations/course.html",
        {
            "organisation": organisation,
            "course": course,
            "trainers": trainers,
            "attendees": course_attendees(request.user, course),
            "form": form,
        },
    )


@organisation_page()
@require_safe
def course_attendees_export(request, organisation, role, pk, file_format):
    course = _course(request, organisation, pk)
    rows = (
        (
            row.name,
            row.email,
            row.hours_attended.normalize(),
            _yes_no(row.completed),
            _yes_no(row.credential_issued),
        )
        for row in course_attendees(request.user, course)
    )
    return export_response(
        file_format,
        name=get_valid_filename(f"{organisation.slug}-{course.code}-attendees") or "attendees",
        header=_header(ATTENDEE_COLUMNS),
        rows=rows,
        # Translators: the name of a spreadsheet's sheet (at most 31 characters).
        sheet_title=gettext("Attendees"),
    )


@organisation_page(admin=True)
@require_POST
def course_trainers(request, organisation, role, pk):
    course = _course(request, organisation, pk)
    form = TrainersForm(request.POST, organisation=organisation)
    if form.is_valid():
        try:
            course_trainers_set(
                course=course, user_ids=[u.pk for u in form.cleaned_data["trainers"]]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, gettext("Trainers of {course} saved.").format(course=course.code)
            )
    else:
        messages.error(request, gettext("Choose trainers among the organisation's members."))
    return redirect("organisations:course", organisation.slug, course.pk)


class MemberAddForm(CrispySubmitMixin, forms.Form):
    submit_label = _("Add the member")
    email = forms.EmailField(
        label=_("Email"), help_text=_("Someone without an account gets an invitation.")
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.TRAINER)


# What adding a member, or changing one's role, says (a whole sentence for each role).
MEMBER_ADDED = {
    # Translators: {email} is the member's address, {organisation} the organisation's name.
    Role.ADMIN: _("{email} is now organisation admin of {organisation}."),
    # Translators: {email} is the member's address, {organisation} the organisation's name.
    Role.TRAINER: _("{email} is now trainer of {organisation}."),
}
ROLE_SET = {
    # Translators: {email} is the member's address.
    Role.ADMIN: _("{email} is now organisation admin."),
    # Translators: {email} is the member's address.
    Role.TRAINER: _("{email} is now trainer."),
}


@organisation_page(admin=True)
@require_http_methods(["GET", "HEAD", "POST"])
def members(request, organisation, role):
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = organisation_member_add(
                organisation=organisation, added_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(
                request,
                MEMBER_ADDED[member.role].format(
                    email=member.user.email, organisation=organisation.name
                ),
            )
            return redirect("organisations:members", organisation.slug)
    listed = members_visible_to(request.user, organisation).select_related("user")
    return render(
        request,
        "organisations/members.html",
        {
            "organisation": organisation,
            "members": listed,
            "form": form,
            "roles": Role.choices,
        },
    )


@organisation_page(admin=True)
@require_POST
def member_change(request, organisation, role, pk):
    member = get_object_or_404(
        members_visible_to(request.user, organisation).select_related("user"), pk=pk
    )
    try:
        if request.POST.get("action") == "remove":
            organisation_member_remove(member=member)
            done = gettext("{email} is no longer a member.").format(email=member.user.email)
        else:
            organisation_member_role_set(member=member, role=request.POST.get("role", ""))
            done = ROLE_SET[member.role].format(email=member.user.email)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("organisations:members", organisation.slug)


class BrandingForm(CrispySubmitMixin, forms.Form):
    submit_label = _("Save")
    reply_to = forms.EmailField(
        label=_("Reply-to address"),
        required=False,
        help_text=_("Replies to the invitations your courses send reach this address."),
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG or JPEG, at most 1 MB; shown at most 400 x 160 pixels."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )


@organisation_page(admin=True)
@require_http_methods(["GET", "HEAD", "POST"])
def branding(request, organisation, role):
    organisation = Organisation.objects.get(pk=organisation.pk)  # with its logo
    form = BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={"reply_to": organisation.reply_to, "website": organisation.website},
    )
    if request.method == "POST" and form.is_valid():
        logo = form.cleaned_data["logo"]
        try:
            organisation_branding_update(
                organisation=organisation,
                reply_to=form.cleaned_data["reply_to"],
                website=form.cleaned_data["website"],
                logo=logo.read() if logo else None,
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, gettext("Saved."))
            return redirect("organisations:branding", organisation.slug)
    return render(
        request,
        "organisations/branding.html",
        {
            "organisation": organisation,
            "form": form,
            "logo_url": organisation_logo_url(organisation, absolute=False),
        },
    )


@organisation_page(report=True)
@require_safe
def at_risk(request, organisation, role):
    everyone = request.GET.get("all") == "1"
    return render(
        request,
        "organisations/at_risk.html",
        {
            "organisation": organisation,
            "rows": at_risk_rows(organisation, everyone=everyone),
            "everyone": everyone,
            "role": role,
            "is_admin": role == Role.ADMIN,
        },
    )


@organisation_page(report=True)
@require_safe
def at_risk_export(request, organisation, role, file_format):
    on = today()
    rows = (
        (
            row.name,
            row.email,
            row.courses,
            row.program,
            row.status_label,
            row.valid_through,
            row.days_left,
        )
        for row in at_risk_rows(organisation, on=on, everyone=request.GET.get("all") == "1")
    )
    return export_response(
        file_format,
        name=f"{organisation.slug}-at-risk-{on.isoformat()}",
        header=_header(AT_RISK_COLUMNS),
        rows=rows,
        # Translators: the name of a spreadsheet's sheet (at most 31 characters).
        sheet_title=gettext("At risk"),
    )


@require_safe
def logo(request, slug):
    """An organisation's logo, public (it brands emails and the verification page)."""
    organisation = get_object_or_404(Organisation.objects.only("logo", "logo_version"), slug=slug)
    if not organisation.logo_version:
        raise Http404("This organisation has no logo.")
    response = HttpResponse(bytes(organisation.logo), content_type="image/png")
    versioned = request.GET.get("v") == str(organisation.logo_version)
    response["Cache-Control"] = (
        "public, max-age=31536000, immutable" if versioned else "public, max-age=300"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
