"""The holder's page for their personal API tokens: make one (shown once), see when each was
last used, revoke it."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from credentials.forms import CrispySubmitMixin

from . import tokens
from .models import ApiToken


class PersonalTokenForm(CrispySubmitMixin, forms.Form):
    submit_label = _("Make a token")
    name = forms.CharField(
        max_length=100,
        label=_("Name"),
        help_text=_("What will use it, so you can tell tokens apart: “my spreadsheet”."),
    )


MADE = "api_token_made"  # the session key that carries a new token to the page, once


@login_required
def personal_tokens(request):
    """The holder's tokens and a form to make one. A new token is shown on the page the form
    redirects to, once (it travels in the session, which forgets it there): reloading that
    page neither shows it again nor makes another."""
    form = PersonalTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = tokens.token_create(
                user=request.user, kind=ApiToken.Kind.PERSONAL, name=form.cleaned_data["name"]
            )
        except ValidationError as refusal:
            for field, errors in refusal.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            request.session[MADE] = {"name": made.token.name, "secret": made.secret}
            return redirect("api_tokens")
    made = request.session.pop(MADE, None) if request.method == "GET" else None
    rows = ApiToken.objects.filter(user=request.user, kind=ApiToken.Kind.PERSONAL)
    return render(request, "api/tokens.html", {"form": form, "made": made, "rows": rows})


@login_required
@require_POST
def personal_token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, kind=ApiToken.Kind.PERSONAL)
    tokens.token_revoke(token=token)
    messages.success(
        request, gettext("Revoked “{name}”: it stops working at once.").format(name=token.name)
    )
    return redirect("api_tokens")
