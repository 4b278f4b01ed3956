"""Forms for signing in and managing one's own account, laid out by crispy-forms."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth import forms as auth_forms

from .models import User, normalize_email


class CrispySubmitMixin:
    """Give a form a crispy FormHelper with one primary submit button."""

    submit_label = "Save"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper(self)
        self.helper.add_input(Submit("submit", self.submit_label))


class EmailAuthenticationForm(CrispySubmitMixin, auth_forms.AuthenticationForm):
    submit_label = "Sign in"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email"}
        )
        self.error_messages["invalid_login"] = (
            "That email address and password do not match an active account. "
            "The password is case-sensitive."
        )


class PasswordResetRequestForm(CrispySubmitMixin, auth_forms.PasswordResetForm):
    submit_label = "Email me a reset link"

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])


class NewPasswordForm(CrispySubmitMixin, auth_forms.SetPasswordForm):
    submit_label = "Set my password"


class ChangePasswordForm(CrispySubmitMixin, auth_forms.PasswordChangeForm):
    submit_label = "Change my password"


class UserCreationForm(auth_forms.UserCreationForm):
    """Admin form to add a person by email address."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
