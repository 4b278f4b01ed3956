"""Open Badges pages: what verifiers fetch (keys, issuer, achievements, status lists), the
public check of a pasted or uploaded credential, and the holder's share page and downloads."""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_safe

from credentials.access import holder_required
from credentials.models import Credential, Issuer, Program
from credentials.selectors import Status, credential_status, status_is_valid, status_label
from cspo_tracker.links import absolute_url
from cspo_tracker.middleware import max_request_bytes

from . import documents, images, keys, securing
from .forms import CheckForm, SubjectForm
from .models import BadgeSubject
from .selectors import (
    Unreadable,
    credential_check,
    linkedin_url,
    status_list_published,
    status_lists_in_use,
    token_from,
)
from .services import NotIssuable, badge_current, subject_set

JSON_LD = "application/ld+json"


def _public(response: HttpResponse, max_age: int = 300) -> HttpResponse:
    """A document any verifier may fetch and keep a few minutes."""
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _keys_or_404():
    try:
        return keys.public_jwks()
    except keys.KeysMissing as missing:
        raise Http404(str(missing)) from missing


@require_safe
def jwks(request):
    """Every published public key (JWKS), rotated ones included."""
    return _public(JsonResponse(_keys_or_404(), content_type="application/jwk-set+json"))


@require_safe
def did_document(request):
    """The did:web document of the deployment: its keys as assertion methods."""
    document = documents.did_document(_keys_or_404()["keys"])
    return _public(JsonResponse(document, content_type="application/did+json"))


@require_safe
def issuer(request, code):
    """The OB3 Profile of a certifying body (the creator of its achievements)."""
    body = get_object_or_404(Issuer, code=code)
    profile = {
        "@context": [documents.VC_CONTEXT, documents.OB_CONTEXT],
        **documents.issuer_profile_of(body),
    }
    return _public(JsonResponse(profile, content_type=JSON_LD))


@require_safe
def achievement(request, code):
    """The OB3 Achievement of a program."""
    program = get_object_or_404(Program.objects.select_related("issuer"), code=code)
    document = {
        "@context": [documents.VC_CONTEXT, documents.OB_CONTEXT],
        **documents.achievement(program, timezone.localdate()),
    }
    return _public(JsonResponse(document, content_type=JSON_LD))


@require_safe
def achievement_image(request, code):
    program = get_object_or_404(Program.objects.select_related("issuer"), code=code)
    return _public(HttpResponse(images.achievement_png(program), content_type="image/png"), 86400)


@require_safe
def status_list(request, purpose, number):
    """A signed BitstringStatusListCredential (vc+jwt): the bits as they are now."""
    if purpose not in documents.PURPOSES or not 1 <= number <= status_lists_in_use():
        raise Http404("No such status list.")
    _keys_or_404()
    token = status_list_published(purpose, number)
    # A minute at most in a verifier's or a proxy's cache: staff revocation shows at once here.
    return _public(HttpResponse(token, content_type=securing.MEDIA_TYPE), max_age=60)


# A pasted credential and a badge image are far below this; the form's own fields fit in it.
CHECK_MAX_REQUEST_BYTES = images.MAX_BYTES + 256 * 1024
TOO_LARGE = _(
    "That is too large to be one of our credentials (over 2 MB): it was refused before it "
    "was read. Paste the credential or upload the badge image you downloaded."
)


@max_request_bytes(CHECK_MAX_REQUEST_BYTES, TOO_LARGE)
@require_http_methods(["GET", "HEAD", "POST"])
def check(request):
    """Anyone pastes or uploads an Open Badges credential of ours and sees whether its
    signature and status check out."""
    result = None
    status = 200
    if request.method == "POST":
        form = CheckForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data.get("file")
            try:
                token = token_from(
                    form.cleaned_data.get("credential", ""),
                    upload.read(images.MAX_BYTES + 1) if upload else None,
                )
            except (Unreadable, images.NotABadgeImage) as unreadable:
                form.add_error("file" if upload else "credential", str(unreadable))
                status = 400
            else:
                result = credential_check(token)
        else:
            status = 400
    else:
        form = CheckForm()
    context = {"form": form, "result": result}
    response = render(request, "badges/check.html", context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _holders_credential(request, pk) -> Credential:
    return get_object_or_404(
        Credential.objects.select_related(
            "holder", "program__issuer", "source_course"
        ).prefetch_related("terms"),
        pk=pk,
        holder=request.user,
    )


@holder_required
@require_http_methods(["GET", "HEAD", "POST"])
def share(request, pk):
    """The holder's page to carry a credential elsewhere: the Open Badges credential to
    download (JSON, baked PNG), the verification link to copy, Add to LinkedIn, and the DID
    they want to be named by."""
    credential = _holders_credential(request, pk)
    subject = BadgeSubject.objects.filter(holder=request.user).first()
    form = SubjectForm(instance=subject)
    status = 200
    if request.method == "POST":
        form = SubjectForm(request.POST, instance=subject)
        if form.is_valid():
            subject_set(holder=request.user, did=form.cleaned_data["did"])
            try:
                badge_current(credential)
            except (NotIssuable, keys.KeysMissing) as refused:
                # Translators: {reason} says why no Open Badge could be issued.
                messages.warning(request, gettext("Saved. {reason}").format(reason=refused))
            else:
                messages.success(
                    request,
                    gettext(
                        "Saved. Download your credential again to carry one that names you by "
                        "that DID; copies you downloaded before still verify."
                    )
                    if form.cleaned_data["did"]
                    else gettext(
                        "Saved. Credentials from now on name you by your name and hashed "
                        "email address only."
                    ),
                )
            return redirect("badges:share", pk=credential.pk)
        status = 400
    badge, unavailable = None, ""
    try:
        badge = badge_current(credential)
    except (NotIssuable, keys.KeysMissing) as refused:
        unavailable = (
            str(refused)
            if isinstance(refused, NotIssuable)
            else gettext(
                "Open Badges are not set up on this site yet; the verification link still works."
            )
        )
    current = credential_status(credential)
    context = {
        "credential": credential,
        "badge": badge,
        "unavailable": unavailable,
        "status": current,
        "status_text": status_label(credential.program, current),
        "revoked": current == Status.REVOKED,
        "valid_today": status_is_valid(credential.program, current),
        "verify_url": absolute_url("credentials:verify", credential.verification_code),
        "check_url": absolute_url("badges:check"),
        "linkedin_url": linkedin_url(credential) if credential.verified else "",
        "form": form,
    }
    return render(request, "badges/share.html", context, status=status)


DOWNLOADS = {"json", "png", "jwt"}


@holder_required
@require_safe
@cache_control(private=True, no_store=True)
def download(request, pk, fmt):
    """The holder's Open Badges credential of the credential's latest term: JSON (the W3C
    EnvelopedVerifiableCredential holding the vc+jwt), the baked PNG, or the bare vc+jwt."""
    if fmt not in DOWNLOADS:
        raise Http404("No such download.")
    credential = _holders_credential(request, pk)
    try:
        badge = badge_current(credential)
    except (NotIssuable, keys.KeysMissing) as refused:
        raise Http404(str(refused)) from refused
    name = f"{slugify(credential.program.code).upper()}-{badge.valid_from.isoformat()}"
    if fmt == "json":
        body = json.dumps(documents.enveloped(badge.jwt), indent=2) + "\n"
        response = HttpResponse(body, content_type="application/json")
    elif fmt == "png":
        response = HttpResponse(
            images.baked_png(credential.program, badge.jwt), content_type="image/png"
        )
    else:
        response = HttpResponse(badge.jwt, content_type=securing.MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
