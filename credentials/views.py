"""Holder pages of the credentials app: joining, claiming a credential, the calendar feed and
public verification. Thin: each calls a service or a selector."""

import io
import ipaddress

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from cspo_tracker.links import absolute_url
from cspo_tracker.locale import reading_as
from cspo_tracker.middleware import client_ip
from cspo_tracker.ratelimit import rate_check

from . import accounts, forms, services
from .access import holder_required
from .calendar import calendar_ics
from .impact import credential_impact
from .models import Credential, EmailAddress, Organisation, Term, User
from .oidc import SESSION_KEY as OIDC_SESSION_KEY
from .oidc import OidcRefused, oidc_identity, oidc_member, oidc_redirect
from .organisations import organisation_logo_url, password_sign_in_refused_by
from .preferences import sign_up_defaults
from .selectors import (
    Status,
    address_pending,
    credential_status,
    credential_terms,
    email_change_pending,
    grace_ends_on,
    holder_credentials,
    issuer_today,
    status_is_valid,
    status_label,
    user_from_link,
)
from .tokens import (
    ADDRESS_CONFIRM_SALT,
    EMAIL_CHANGE_CANCEL_SALT,
    EMAIL_CHANGE_SALT,
    invitation_tokens,
    sign_up_tokens,
)

BACKEND = "credentials.backends.AccountStateBackend"
SIGN_UP_SENT_SESSION_KEY = "sign_up_sent_to"


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _link_invalid(request, template="credentials/invitation_invalid.html"):
    return render(request, template, status=400)


def _too_many(request, refusal: accounts.RateLimited):
    return render(request, "credentials/too_many.html", {"message": str(refusal)}, status=429)


def _posted(request):
    """The POST data of a form with no fields but its button, or None for a GET."""
    return request.POST if request.method == "POST" else None


@never_cache
def invitation_accept(request, uidb64, token):
    """An invited holder sets a password and accepts the licence agreement, then is signed in.
    The link opens a form; only its POST changes anything, and only for an invited account."""
    user = user_from_link(uidb64=uidb64, token=token, tokens=invitation_tokens)
    if user is None or user.state != user.State.INVITED:
        return _link_invalid(request)
    required_by = password_sign_in_refused_by(user)
    if required_by is not None:
        # Its members set no password here: they sign in through its identity provider.
        return render(
            request, "credentials/oidc_required.html", {"organisation": required_by}, status=200
        )
    form = forms.InvitationAcceptForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend=BACKEND)
        messages.success(request, gettext("Welcome! Your password is set."))
        return redirect("ledger:dashboard")
    return render(request, "credentials/invitation_accept.html", {"form": form, "invitee": user})


class SignInView(auth_views.LoginView):
    """Django's sign-in page, with our form, offering sign-in through each organisation's
    identity provider."""

    authentication_form = forms.EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sign_in_organisations"] = list(
            Organisation.objects.exclude(oidc_issuer="")
            .exclude(oidc_client_id="")
            .only("name", "slug")
        )
        return context


def _oidc_organisation(slug) -> Organisation:
    return get_object_or_404(Organisation.objects.defer("logo"), slug=slug)


def _oidc_refused(request, organisation, refusal: OidcRefused, status: int):
    return render(
        request,
        "credentials/oidc_refused.html",
        {"organisation": organisation, "message": str(refusal)},
        status=status,
    )


def _client_network(request) -> str:
    """The client's address, or for IPv6 its /64 (one machine may hold a whole /64)."""
    address = client_ip(request) or "-"
    if ":" in address:
        try:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        except ValueError:
            return address
    return address


@require_safe
@never_cache
def oidc_start(request, slug):
    """Send the browser to the organisation's identity provider to sign in there."""
    organisation = _oidc_organisation(slug)
    # Per client address and organisation: a page elsewhere loading one organisation's
    # start a few dozen times uses up that organisation's starts only.
    wait = rate_check(
        scope="oidc-start",
        key=f"{_client_network(request)}:{organisation.pk}",
        rate=settings.OIDC_START_RATE,
    )
    if wait is not None:
        minutes = -(-wait // 60)
        message = ngettext(
            # Translators: the English keeps "minute(s)" in both forms; use your plural forms.
            "Too many sign-ins started from here; try again in {minutes} minute(s).",
            "Too many sign-ins started from here; try again in {minutes} minute(s).",
            minutes,
        ).format(minutes=minutes)
        return render(request, "credentials/too_many.html", {"message": message}, status=429)
    request.session["oidc_next"] = _safe_next(request, "")
    callback = absolute_url("oidc_callback", organisation.slug)
    try:
        return oidc_redirect(request=request, organisation=organisation, redirect_uri=callback)
    except OidcRefused as refusal:
        return _oidc_refused(request, organisation, refusal, status=502)


@require_safe
@never_cache
def oidc_callback(request, slug):
    """The identity provider sends the browser back here: sign the member in, or say why
    not."""
    organisation = _oidc_organisation(slug)
    try:
        identity = oidc_identity(request=request, organisation=organisation)
        user = oidc_member(organisation=organisation, identity=identity)
    except OidcRefused as refusal:
        return _oidc_refused(request, organisation, refusal, status=403)
    next_url = request.session.get("oidc_next") or reverse("organisations:list")
    login(request, user, backend=BACKEND)
    request.session[OIDC_SESSION_KEY] = organisation.pk
    # Translators: {organisation} is the training organisation's name.
    signed_in = gettext("Signed in through {organisation}.")
    messages.success(request, signed_in.format(organisation=organisation.name))
    return redirect(next_url)


@login_required
def licence(request):
    """Ask once for the licence agreement before any holder page opens."""
    next_url = _safe_next(request, reverse("ledger:dashboard"))
    if request.user.licence_accepted_at is not None:
        return redirect(next_url)
    form = forms.LicenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        accounts.licence_accept(user=request.user)
        return redirect(next_url)
    return render(request, "credentials/licence.html", {"form": form, "next": next_url})


def sign_up(request):
    """Self sign-up for holders the system has not seen: confirmed by email before use. The
    answer is the same page whether the address has an account or not (sent by redirect, so
    reloading it sends nothing again)."""
    if request.user.is_authenticated:
        return redirect("ledger:dashboard")
    form = forms.SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            accounts.holder_sign_up(
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password1"],
                client=client_ip(request),
                **sign_up_defaults(request),
            )
        except accounts.RateLimited as refusal:
            return _too_many(request, refusal)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session[SIGN_UP_SENT_SESSION_KEY] = data["email"]
            return redirect("sign_up_sent")
    return render(request, "credentials/sign_up.html", {"form": form})


@require_safe
def sign_up_sent(request):
    """After a sign-up: check your email (the address is the one this browser just used)."""
    email = request.session.get(SIGN_UP_SENT_SESSION_KEY, "")
    return render(request, "credentials/sign_up_sent.html", {"email": email})


@never_cache
def sign_up_confirm(request, uidb64, token):
    """The link in the sign-up email opens a form; its POST, with the password chosen at
    sign-up, activates the account and signs in."""
    user = user_from_link(uidb64=uidb64, token=token, tokens=sign_up_tokens)
    if user is None or user.state != user.State.PENDING:
        return _link_invalid(request)
    form = forms.SignUpConfirmForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.sign_up_confirm(user=user, password=form.cleaned_data["password"])
        except ValidationError as error:
            form.add_error(None, error)  # a wrong password lands next to its field
        else:
            if password_sign_in_refused_by(user) is not None:
                return redirect("login")  # confirmed; its organisation signs it in
            login(request, user, backend=BACKEND)
            messages.success(
                request, gettext("Your address is confirmed. Add the credentials you hold.")
            )
            return redirect("credentials:claim")
    return render(request, "credentials/sign_up_confirm.html", {"form": form, "invitee": user})


@never_cache
def email_change_confirm(request, token):
    """The link sent to a new address opens a page with a button; its POST moves the account
    to that address."""
    user = email_change_pending(token=token, salt=EMAIL_CHANGE_SALT)
    if user is None:
        return _link_invalid(request, "credentials/email_change_invalid.html")
    form = forms.EmailChangeConfirmForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.email_change_confirm(token=token)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                gettext("Your account now signs in with {email}.").format(email=user.email),
            )
            return redirect("login")
    return render(
        request,
        "credentials/email_change_confirm.html",
        {"form": form, "account": user, "new_email": user.pending_email},
    )


@never_cache
def email_change_cancel(request, token):
    """The link in the notice to the old address opens a page with a button; its POST stops
    the waiting address change."""
    user = email_change_pending(token=token, salt=EMAIL_CHANGE_CANCEL_SALT)
    if user is None:
        return _link_invalid(request, "credentials/email_change_invalid.html")
    form = forms.EmailChangeCancelForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            accounts.email_change_cancel(token=token)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                gettext("Nothing changed: the account keeps {email}.").format(email=user.email),
            )
            return redirect("login")
    return render(
        request,
        "credentials/email_change_cancel.html",
        {"form": form, "account": user, "new_email": user.pending_email},
    )


@login_required
def account_profile(request):
    """The signed-in person's name and sign-in address."""
    user = request.user
    form = forms.ProfileForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            accounts.profile_update(
                user=user, first_name=data["first_name"], last_name=data["last_name"]
            )
            if data["email"] != user.email:
                accounts.email_change_request(
                    user=user,
                    new_email=data["email"],
                    requested_by=user,
                    client=client_ip(request),
                )
                messages.info(
                    request,
                    gettext(
                        "We sent a link to {new_email}; your address changes when you follow "
                        "it. Until then you sign in with {email}."
                    ).format(new_email=data["email"], email=user.email),
                )
        except accounts.RateLimited as refusal:
            form.add_error("email", str(refusal))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("Saved."))
            return redirect("account_profile")
    return _profile_page(request, form=form)


def _profile_page(request, *, form=None, address_form=None, status=200):
    user = request.user
    return render(
        request,
        "credentials/profile.html",
        {
            "form": form or forms.ProfileForm(user=user),
            "address_form": address_form or forms.AddressAddForm(),
            "addresses": EmailAddress.objects.filter(user=user),
        },
        status=status,
    )


@login_required
def address_add(request):
    """Add a secondary address from the profile page: a link goes to it, and it counts once
    followed. A refusal shows next to the field on the profile page."""
    if request.method != "POST":
        return redirect("account_profile")
    form = forms.AddressAddForm(request.POST)
    if form.is_valid():
        try:
            row = accounts.address_add(
                user=request.user, address=form.cleaned_data["address"], client=client_ip(request)
            )
        except accounts.RateLimited as refusal:
            form.add_error("address", str(refusal))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.info(
                request,
                gettext(
                    "We sent a link to {address}; it is added to your account once you follow it."
                ).format(address=row.address),
            )
            return redirect("account_profile")
    return _profile_page(request, address_form=form, status=400)


@login_required
@require_POST
def address_remove(request, pk):
    """Remove one of the person's own secondary addresses (404 for anyone else's)."""
    try:
        address = accounts.address_remove(user=request.user, address_id=pk)
    except EmailAddress.DoesNotExist:
        raise Http404("No such address on your account.") from None
    messages.success(
        request, gettext("{address} is no longer on your account.").format(address=address)
    )
    return redirect("account_profile")


@never_cache
def address_confirm(request, token):
    """The link sent to a secondary address opens a page with a button; its POST confirms the
    address for the account that asked for it."""
    row = address_pending(token=token, salt=ADDRESS_CONFIRM_SALT)
    if row is None:
        return _link_invalid(request, "credentials/address_invalid.html")
    form = forms.AddressConfirmForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            row = accounts.address_confirm(token=token)
        except ValidationError as error:
            form.add_error(None, error.messages)  # the page has a button, not the field
        else:
            messages.success(
                request,
                gettext("{address} is confirmed: it now finds your account too.").format(
                    address=row.address
                ),
            )
            return redirect("account_profile" if request.user.is_authenticated else "login")
    return render(
        request,
        "credentials/address_confirm.html",
        {"form": form, "account": row.user, "address": row.address},
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, sent through the account service: one job for a worker
    whatever the address, within the limits per address and per client."""

    def form_valid(self, form):
        try:
            accounts.password_reset_request(
                email=form.cleaned_data["email"], client=client_ip(self.request)
            )
        except accounts.RateLimited as refusal:
            return _too_many(self.request, refusal)
        return redirect(self.get_success_url())


@holder_required
def credential_claim(request):
    """Add a credential earned elsewhere; staff verify it with the issuer. Where adding it
    would change the holder's other renewals (Scrum Alliance renews them together), the page
    first shows what would change, and the holder confirms."""
    form = forms.CredentialClaimForm(request.POST or None)
    changes = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        impact = credential_impact(
            holder=request.user, program=data["program"], issued_on=data["issued_on"]
        )
        if impact and not form.confirmed():
            changes = services.impact_in_words(impact)
            # Translators: a button; {program} is a certification's code, such as CSPO.
            button = gettext("Add {program} and accept these changes")
            form.ask_to_confirm(button.format(program=data["program"].code))
        else:
            try:
                credential = services.credential_claim(holder=request.user, **data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if impact:
                    added = gettext(
                        # Translators: {program} is a certification's code (CSPO), {issuer} the
                        # name of the body that issues it (Scrum Alliance).
                        "{program} added. Staff will verify it with {issuer}; until then it "
                        "shows as unverified, and your renewal dates change once they do."
                    )
                else:
                    added = gettext(
                        "{program} added. Staff will verify it with {issuer}; until then it "
                        "shows as unverified."
                    )
                messages.success(
                    request,
                    added.format(
                        program=credential.program.code, issuer=credential.program.issuer.name
                    ),
                )
                return redirect("ledger:dashboard")
    return render(request, "credentials/claim.html", {"form": form, "changes": changes})


@holder_required
def calendar(request):
    """Show the holder's private calendar feed URL, and reset it on request."""
    if request.method == "POST":
        services.calendar_token_reset(user=request.user)
        messages.success(
            request, gettext("Your calendar link was replaced; the old one no longer works.")
        )
        return redirect("credentials:calendar")
    token = services.calendar_token_for(request.user)
    feed_url = absolute_url("credentials:calendar_feed", token)
    return render(request, "credentials/calendar.html", {"feed_url": feed_url})


@require_safe
def calendar_feed(request, token):
    """The iCalendar feed; the secret token in the URL is the only key."""
    user = get_object_or_404(User, calendar_token=token, is_active=True)
    # A calendar app has no session: the feed speaks the holder's saved language.
    with reading_as(user):
        body = calendar_ics(list(holder_credentials(user.pk)), now=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="certifications.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


def _public_credential(code) -> Credential:
    try:
        return (
            Credential.objects.select_related(
                "holder", "program__issuer", "source_course__organisation"
            )
            .defer("source_course__organisation__logo")
            .prefetch_related("terms")
            .get(verification_code=code, verified=True, holder__is_active=True)
        )
    except Credential.DoesNotExist as missing:
        raise Http404("No verified credential has this code.") from missing


def _trained_by(credential: Credential) -> dict | None:
    """The training organisation whose course issued the credential, for the public."""
    course = credential.source_course
    if course is None or course.organisation is None:
        return None
    return {"name": course.organisation.name, "website": course.organisation.website or None}


def _verification(credential: Credential) -> dict:
    """What the public may know of a credential today: its status (expiring shown as active),
    validity, dates and grace end. Nothing personal but the holder's name."""
    terms: list[Term] = credential_terms(credential)
    # Validity is decided on the issuer's calendar, wherever the verifier is.
    checked_on = issuer_today(credential.program)
    status = credential_status(credential, checked_on)
    # In grace (PMI: suspended), a verifier sees until when it can still be renewed.
    grace_end = None
    if status == Status.IN_GRACE:
        grace_end = grace_ends_on(credential.program, terms[-1].ends_on)
    # Expiring is nobody else's business: a verifier sees "Active".
    shown_status = Status.ACTIVE if status == Status.EXPIRING else status
    return {
        "holder_name": f"{credential.holder.first_name} {credential.holder.last_name}".strip()
        or gettext("Name not given"),
        "status": shown_status,
        "public_status": status_label(credential.program, shown_status),
        "valid": status_is_valid(credential.program, status),
        "issued_on": terms[0].starts_on,
        "valid_through": terms[-1].ends_on,
        "terms": terms,
        "grace_ends_on": grace_end,
        "grace_days_left": (grace_end - checked_on).days if grace_end else None,
        "verify_url": absolute_url("credentials:verify", credential.verification_code),
        "checked_on": checked_on,
        "issuer_time_zone": credential.program.time_zone,
        "revoked_on": timezone.localdate(credential.revoked_at) if credential.revoked_at else None,
    }


@require_safe
def verify(request, code):
    """Public proof that a credential is genuine and current: nothing else personal. Open
    Graph and Twitter card tags let a shared link preview the credential."""
    credential = _public_credential(code)
    context = {"credential": credential, **_verification(credential)}
    trained_by = credential.source_course.organisation if credential.source_course else None
    context["trained_by"] = trained_by
    context["trained_by_logo"] = organisation_logo_url(trained_by, absolute=False)
    context["json_url"] = absolute_url("credentials:verify_json", credential.verification_code)
    context["site_url"] = settings.SITE_URL.rstrip("/")
    response = render(request, "credentials/verify.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_safe
def verify_json(request, code):
    """The verification page as data: the live status of a credential, for software.
    `status` is one of active, in_grace (still valid), suspended (after the end, not valid:
    PMI), lapsed, not_yet_valid, revoked; `valid` says whether it counts today."""
    try:
        credential = _public_credential(code)
    except Http404:
        return JsonResponse(
            {"error": {"code": "not_found", "message": "No verified credential has this code."}},
            status=404,
        )
    facts = _verification(credential)
    program = credential.program
    data = {
        "code": str(credential.verification_code),
        "holder_name": facts["holder_name"],
        "program": {"code": program.code, "name": program.name},
        "issuer": {"code": program.issuer.code, "name": program.issuer.name},
        "trained_by": _trained_by(credential),
        # The days after the end that do not count as valid are PMI's suspension.
        "status": "suspended"
        if facts["status"] == Status.IN_GRACE and not program.valid_after_end
        else str(facts["status"]),
        "status_label": facts["public_status"],
        "valid": facts["valid"],
        "issued_on": facts["issued_on"].isoformat(),
        "valid_through": facts["valid_through"].isoformat() if facts["valid_through"] else None,
        "grace_ends_on": facts["grace_ends_on"].isoformat() if facts["grace_ends_on"] else None,
        "revoked_on": facts["revoked_on"].isoformat() if facts["revoked_on"] else None,
        "terms": [
            {
                "sequence": term.sequence,
                "starts_on": term.starts_on.isoformat(),
                "ends_on": term.ends_on.isoformat() if term.ends_on else None,
            }
            for term in facts["terms"]
        ],
        "checked_on": facts["checked_on"].isoformat(),
        # The zone whose calendar decides validity: valid through a date means until midnight
        # at its end there.
        "time_zone": facts["issuer_time_zone"],
        "verification_url": facts["verify_url"],
    }
    response = JsonResponse(data)
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_safe
def verify_qr(request, code):
    """A QR code (SVG) that opens the verification page."""
    credential = _public_credential(code)
    url = absolute_url("credentials:verify", credential.verification_code)
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, dark="#000", light="#fff")
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["X-Robots-Tag"] = "noindex"
    return response
