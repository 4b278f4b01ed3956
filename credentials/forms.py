"""Forms for signing in and managing one's own account, laid out by crispy-forms."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Layout, Submit
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core import signing
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker.links import absolute_url
from cspo_tracker.locale import reading_as

from . import accounts
from .identity import canonical_email, validate_person_name
from .models import Program, User
from .selectors import password_reset_users


class CanonicalEmailField(forms.EmailField):
    """An email field whose value is `canonical_email`'s form; an address it refuses gets its
    message next to the field."""

    widget = forms.EmailInput(attrs={"autocomplete": "email"})

    def to_python(self, value):
        value = super().to_python(value)
        return canonical_email(value) if value else value

    def run_validators(self, value):
        pass  # canonical_email validated it already, with a more precise message


class CanonicalUsernameField(CanonicalEmailField):
    """The sign-in forms' "username" (the email address), as the auth views expect."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget = forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "autocapitalize": "none"}


class PersonNameField(forms.CharField):
    """A first or last name: required, plain text (see `validate_person_name`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 150)
        super().__init__(validators=[validate_person_name], **kwargs)


class CrispySubmitMixin:
    """Give a form a crispy FormHelper with one primary submit button."""

    submit_label = _("Save")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper(self)
        self.helper.add_input(Submit("submit", self.submit_label))


INVALID_LOGIN = _(
    "That email address and password do not match an active account. "
    "The password is case-sensitive."
)


NOT_CONFIRMED = _(
    "Your address is not confirmed yet: follow the link in the email we sent when you signed "
    "up, or set a new password below, which confirms it too."
)
DEACTIVATED = _(
    "Staff deactivated this account. Contact the staff who manage your certifications to have "
    "it reactivated."
)


ORGANISATION_SIGN_IN = _(
    # Translators: {organisation} is the training organisation's name.
    "Members of {organisation} sign in through its identity provider, not with a password: "
    "use “Sign in through {organisation}” below."
)


class EmailAuthenticationForm(CrispySubmitMixin, auth_forms.AuthenticationForm):
    """Sign-in by email: the address is reduced to its canonical form before anything looks it
    up or counts it, and one that form refuses is answered next to the field (no password is
    checked for it). A right password for an account that cannot sign in says why."""

    submit_label = _("Sign in")
    username = CanonicalUsernameField(label=_("Email address"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_messages["invalid_login"] = INVALID_LOGIN

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            request = self.request
            if request is not None and not getattr(request, "axes_locked_out", False):
                state = getattr(request, "refused_account_state", None)
                if state == User.State.PENDING:
                    raise forms.ValidationError(NOT_CONFIRMED, code="not_confirmed") from None
                if state == User.State.DEACTIVATED:
                    raise forms.ValidationError(DEACTIVATED, code="deactivated") from None
                organisation = getattr(request, "refused_for_organisation", None)
                if organisation is not None:
                    raise forms.ValidationError(
                        ORGANISATION_SIGN_IN.format(organisation=organisation.name),
                        code="organisation_sign_in",
                    ) from None
            raise


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in, with the same canonical address (and so the same throttling)."""

    username = CanonicalUsernameField(label=_("Email address"))


class PasswordResetRequestForm(CrispySubmitMixin, auth_forms.PasswordResetForm):
    """Ask for a password link. It goes to pending, invited and active accounts (following it
    proves the mailbox), never to a deactivated one; the page says the same for every address."""

    submit_label = _("Email me a reset link")
    email = CanonicalEmailField(label=_("Email"), max_length=254)

    def get_users(self, email):
        return password_reset_users(email)

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        # The link comes from SITE_URL like every other emailed link, never the request's host.
        context["link"] = absolute_url("password_reset_confirm", context["uid"], context["token"])
        # Sent by a worker: in the account's saved language and time zone.
        with reading_as(context["user"]):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class NewPasswordForm(CrispySubmitMixin, auth_forms.SetPasswordForm):
    """Choose a password from an emailed link; saving goes through the account service (which
    activates a pending or invited account and lifts sign-in pauses)."""

    submit_label = _("Set my password")

    def clean(self):
        if self.user.state == User.State.DEACTIVATED:
            raise forms.ValidationError(accounts.ACCOUNT_DEACTIVATED)
        return super().clean()

    def save(self, commit=True):
        return accounts.password_set_from_link(
            user=self.user, password=self.cleaned_data["new_password1"]
        )


class ChangePasswordForm(CrispySubmitMixin, auth_forms.PasswordChangeForm):
    """Change one's own password: the old one is checked once, and the new one hashed once."""

    submit_label = _("Change my password")

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if not accounts.password_confirms(user=self.user, password=old_password):
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class UserCreationForm(auth_forms.UserCreationForm):
    """Admin form to add a person by email address (in its canonical form), which no account
    has, as its sign-in or a confirmed secondary address."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")
        field_classes = {"email": CanonicalEmailField}

    def clean_email(self):
        from .models import EMAIL_TAKEN
        from .selectors import account_for_address

        email = self.cleaned_data["email"]
        if account_for_address(email) is not None:
            raise forms.ValidationError(gettext(EMAIL_TAKEN))
        return email


class UserChangeForm(auth_forms.UserChangeForm):
    """Admin form for a person. A new email address is not saved here: the admin asks the
    account service to confirm it with its owner first."""

    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"email": CanonicalEmailField}

    def _post_clean(self):
        super()._post_clean()
        if self.errors and self.instance.pk:
            # The page's title and breadcrumbs name the person as stored, not as mistyped.
            self.instance.email = self.initial.get("email", self.instance.email)


LICENCE_LABEL = _("I have read and accept the licence agreement")


class InvitationAcceptForm(CrispySubmitMixin, auth_forms.SetPasswordForm):
    """Set a first password and accept the licence agreement, from an invitation link."""

    submit_label = _("Set password and continue")
    accept_licence = forms.BooleanField(label=LICENCE_LABEL, required=True)

    def save(self, commit=True):
        return accounts.invitation_accept(
            user=self.user, password=self.cleaned_data["new_password1"]
        )


class SignUpConfirmForm(CrispySubmitMixin, forms.Form):
    """Confirm a sign-up from the emailed link with the password chosen when signing up."""

    submit_label = _("Confirm and sign in")
    password = forms.CharField(
        label=_("The password you chose when signing up"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class LicenceForm(CrispySubmitMixin, forms.Form):
    submit_label = _("Accept and continue")
    accept_licence = forms.BooleanField(label=LICENCE_LABEL, required=True)


class SignUpForm(CrispySubmitMixin, forms.Form):
    submit_label = _("Create my account")
    email = CanonicalEmailField(label=_("Email"), max_length=254)
    first_name = PersonNameField(label=_("First name"))
    last_name = PersonNameField(label=_("Last name"))
    password1 = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_licence = forms.BooleanField(label=LICENCE_LABEL, required=True)
    # Filled in by the browser (static/js/preferences.js): the account's first time zone.
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The licence text comes before the box that accepts it.
        self.helper.layout = Layout(
            "email",
            "first_name",
            "last_name",
            "password1",
            "password2",
            HTML('{% include "credentials/licence_text.html" %}'),
            "accept_licence",
            "time_zone",
        )

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", gettext("The two passwords differ."))
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


class ProfileForm(CrispySubmitMixin, forms.Form):
    """The signed-in person's own name and sign-in address. A new address takes effect once
    confirmed from it; changing it needs the current password."""

    submit_label = _("Save")
    first_name = PersonNameField(label=_("First name"))
    last_name = PersonNameField(label=_("Last name"))
    email = CanonicalEmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("You sign in with it. A new one takes effect once you confirm it from there."),
    )
    current_password = forms.CharField(
        label=_("Current password"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Needed to change the email address."),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        kwargs.setdefault(
            "initial",
            {"first_name": user.first_name, "last_name": user.last_name, "email": user.email},
        )
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        changing = cleaned.get("email") and cleaned["email"] != self.user.email
        password = cleaned.get("current_password") or ""
        if changing and not accounts.password_confirms(user=self.user, password=password):
            self.add_error(
                "current_password", gettext("Enter your current password to change the address.")
            )
        return cleaned


class AddressAddForm(CrispySubmitMixin, forms.Form):
    """Add another address (work, personal) to the signed-in person's account; it counts once
    confirmed from the link sent to it."""

    submit_label = _("Add this address")
    address = CanonicalEmailField(
        label=_("Another email address"),
        max_length=254,
        help_text=_(
            "Trainers who list you under this address add to this account once you "
            "confirm it from the link we send there. You can sign in with it too."
        ),
    )

    def __init__(self, *args, **kwargs):
        from django.urls import reverse

        super().__init__(*args, **kwargs)
        self.helper.form_action = reverse("address_add")


class AddressConfirmForm(CrispySubmitMixin, forms.Form):
    """The button that confirms a secondary address (a POST, so a mail scanner opening the
    link changes nothing)."""

    submit_label = _("Confirm this address")


class EmailChangeConfirmForm(CrispySubmitMixin, forms.Form):
    """The button that applies an address change (a POST, so a mail scanner opening the link
    changes nothing)."""

    submit_label = _("Use this address")


class EmailChangeCancelForm(CrispySubmitMixin, forms.Form):
    """The button that stops a waiting address change, from the notice to the old address."""

    submit_label = _("Keep my current address")


class CredentialClaimForm(CrispySubmitMixin, forms.Form):
    """Add a credential earned elsewhere, to be verified by staff."""

    submit_label = _("Add credential")
    program = forms.ModelChoiceField(
        label=_("Program"),
        queryset=Program.objects.filter(is_active=True).select_related("issuer"),
        help_text=_("The certification as the issuer names it."),
    )
    certificate_number = forms.CharField(
        label=_("Certificate number"),
        max_length=64,
        help_text=_("As printed on your certificate or in the issuer's profile."),
    )
    issued_on = forms.DateField(
        label=_("Issue date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    CONFIRM_SALT = "credentials.claim-impact"

    def _confirmed_values(self) -> list:
        data = self.cleaned_data
        return [data["program"].pk, data["issued_on"].isoformat()]

    def ask_to_confirm(self, label: str) -> None:
        """Show the form again with the impact above it: one button confirms. The button
        carries a signature of the values the impact was worked out for, so changing them
        before confirming shows the impact again (`confirmed`)."""
        from crispy_forms.layout import Hidden

        token = signing.dumps(self._confirmed_values(), salt=self.CONFIRM_SALT)
        self.helper.inputs = []
        self.helper.add_input(Hidden("confirm", token))
        self.helper.add_input(Submit("submit", label))

    def confirmed(self) -> bool:
        """Whether the holder confirmed the impact of exactly these values (within a day)."""
        try:
            values = signing.loads(
                self.data.get("confirm", ""), salt=self.CONFIRM_SALT, max_age=86400
            )
        except signing.BadSignature:
            return False
        return values == self._confirmed_values()
