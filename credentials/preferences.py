"""A person's language and time zone: the picker in the layout, the preferences page, and the
rule for what a new account starts with.

The saved language is what every page, email, PDF transcript and calendar feed for the account
comes in (cspo_tracker.locale activates it per request; emails and tasks override to it). The
time zone is where the pages' dates and times are shown and when the reminder emails arrive.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from cspo_tracker import zones

from .models import User

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)
LANGUAGE_CODES_IN_ORDER = [code for code, _name in settings.LANGUAGES]


def language_name(code: str) -> str:
    """A language in its own name ("Deutsch", "简体中文"), as the picker shows it."""
    return translation.get_language_info(code)["name_local"].capitalize()


@receiver(user_logged_in)
def language_kept_at_sign_in(sender, request, user, **kwargs):
    """An account with no saved language (registered by staff or a roster) keeps the one its
    owner reads the site in when signing in, so its emails and PDFs follow."""
    if request is not None and not getattr(user, "language", "x"):
        language = translation.get_language()
        if language in LANGUAGE_CODES:
            preferences_update(user=user, language=language)


def preferences_update(*, user: User, language: str | None = None, time_zone: str | None = None):
    """Save the account's language (a code of settings.LANGUAGES, "" for the browser's) and
    time zone (an IANA name, "" for the site's); None leaves one as it is. Raises ValueError for
    a code or name not offered. Writes only the fields that change."""
    changed = []
    if language is not None:
        if language and language not in LANGUAGE_CODES:
            raise ValueError(f"not an offered language: {language!r}")
        if user.language != language:
            user.language = language
            changed.append("language")
    if time_zone is not None:
        if time_zone and time_zone not in zones.available():
            raise ValueError(f"not a time zone: {time_zone!r}")
        if user.time_zone != time_zone:
            user.time_zone = time_zone
            changed.append("time_zone")
    if changed:
        user.save(update_fields=changed)
    return changed


def sign_up_defaults(request) -> dict:
    """What a new account starts with: the language the visitor reads the site in, and the time
    zone their browser reported (the sign-up form's hidden field), when it names a known zone."""
    language = translation.get_language_from_request(request)
    return {
        "language": language if language in LANGUAGE_CODES else "",
        "time_zone": zones.guess(request.POST.get("time_zone")),
    }


class PreferencesForm(forms.Form):
    """The account's language and time zone."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("The browser's language"))]
        + [(code, language_name(code)) for code in LANGUAGE_CODES_IN_ORDER],
        help_text=_("Pages, emails, PDF transcripts and the calendar feed come in it."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_(
            "Dates and times are shown in it, and reminder emails arrive in the morning there."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        site_zone = gettext("The site's time zone ({zone})").format(zone=settings.TIME_ZONE)
        self.fields["time_zone"].choices = [("", site_zone), *zones.choices()]
        # IANA names read the same in every language (and the page check skips them).
        self.fields["time_zone"].widget.attrs.update({"autocomplete": "off", "translate": "no"})
        self.helper = FormHelper(self)
        self.helper.add_input(Submit("submit", _("Save")))


@login_required
def preferences(request):
    """Show and save the signed-in account's language and time zone."""
    user = request.user
    form = PreferencesForm(
        request.POST or None, initial={"language": user.language, "time_zone": user.time_zone}
    )
    if request.method == "POST" and form.is_valid():
        preferences_update(
            user=user,
            language=form.cleaned_data["language"],
            time_zone=form.cleaned_data["time_zone"],
        )
        if user.language:
            translation.activate(user.language)
        messages.success(request, gettext("Saved."))
        response = redirect("account_preferences")
        _remember_language(response, user.language)
        return response
    return render(
        request,
        "credentials/preferences.html",
        {"form": form, "heading": _("Language and time zone")},
        status=400 if form.errors else 200,
    )


def _remember_language(response, language: str) -> None:
    """Keep the cookie in step with the account, so the sign-in page after signing out speaks
    the same language; "the browser's language" drops it, so the browser's is used again."""
    if not language:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    else:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )


@require_POST
def set_language(request):
    """The layout's language picker: Django's set_language (cookie, back to the page), and for a
    signed-in account the choice saved, so its emails and PDFs follow."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in LANGUAGE_CODES:
        preferences_update(user=request.user, language=language)
    return response
