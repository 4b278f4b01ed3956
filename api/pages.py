"""The holder's page for their personal API tokens: make one (shown once), see when each was
last used, revoke it."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from credentials.forms import CrispySubmitMixin

from . import tokens
from .models import ApiToken


class PersonalTokenForm(CrispySubmitMixin, forms.Form):
    submit_label = "Make a token"
    name = forms.CharField(
        max_length=100,
        help_text="What will use it, so you can tell tokens apart: “my spreadsheet”.",
    )


@login_required
def personal_tokens(request):
    form = PersonalTokenForm(request.POST or None)
    made = None
    if request.method == "POST" and form.is_valid():
        try:
            made = tokens.token_create(
                user=request.user, kind=ApiToken.Kind.PERSONAL, name=form.cleaned_data["name"]
            )
        except ValidationError as refusal:
            for field, errors in refusal.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form = PersonalTokenForm()
    rows = ApiToken.objects.filter(user=request.user, kind=ApiToken.Kind.PERSONAL)
    return render(request, "api/tokens.html", {"form": form, "made": made, "rows": rows})


@login_required
@require_POST
def personal_token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, kind=ApiToken.Kind.PERSONAL)
    tokens.token_revoke(token=token)
    messages.success(request, f"Revoked “{token.name}”: it stops working at once.")
    return redirect("api_tokens")
