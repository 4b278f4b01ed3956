"""Forms for signing in and managing one's own account, laid out by crispy-forms."""

from axes.utils import reset as axes_reset
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation

from .models import Program, User, normalize_email


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

    def save(self, commit=True):
        user = super().save(commit)
        # Proving the address with a reset link lifts a sign-in lockout for it.
        axes_reset(username=normalize_email(user.email))
        return user


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


LICENCE_LABEL = "I have read and accept the licence agreement"


class InvitationAcceptForm(NewPasswordForm):
    """Set a first password and accept the licence agreement, from an invitation link."""

    submit_label = "Set password and continue"
    accept_licence = forms.BooleanField(label=LICENCE_LABEL, required=True)


class LicenceForm(CrispySubmitMixin, forms.Form):
    submit_label = "Accept and continue"
    accept_licence = forms.BooleanField(label=LICENCE_LABEL, required=True)


class SignUpForm(CrispySubmitMixin, forms.Form):
    submit_label = "Create my account"
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_licence = forms.BooleanField(label=LICENCE_LABEL, required=True)

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            candidate = User(
                email=cleaned.get("email") or "",
                first_name=cleaned.get("first_name") or "",
                last_name=cleaned.get("last_name") or "",
            )
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class CredentialClaimForm(CrispySubmitMixin, forms.Form):
    """Add a credential earned elsewhere, to be verified by staff."""

    submit_label = "Add credential"
    program = forms.ModelChoiceField(
        queryset=Program.objects.filter(is_active=True).select_related("issuer"),
        help_text="The certification as the issuer names it.",
    )
    certificate_number = forms.CharField(
        max_length=64, help_text="As printed on your certificate or in the issuer's profile."
    )
    issued_on = forms.DateField(label="Issue date", widget=forms.DateInput(attrs={"type": "date"}))
