from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .images import MAX_BYTES
from .models import BadgeSubject

PASTE_HELP = _("The credential you were sent: its JSON, or the signed text (it starts with eyJ).")


class SubjectForm(forms.ModelForm):
    class Meta:
        model = BadgeSubject
        fields = ["did"]
        widgets = {
            "did": forms.TextInput(attrs={"placeholder": "did:key:z6Mk...", "spellcheck": "false"})
        }


class CheckForm(forms.Form):
    credential = forms.CharField(
        label=_("Paste a credential"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=PASTE_HELP,
        max_length=200_000,
    )
    file = forms.FileField(
        label=_("Or upload the badge image or credential file"),
        required=False,
        help_text=_(
            "A PNG badge with the credential baked in, or a .json or .jwt file (up to 2 MB)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > MAX_BYTES:
            raise forms.ValidationError(
                gettext(
                    # Translators: {size} is the file's size in megabytes, such as 2.5.
                    "The file is {size} MB; our credentials and badge images are under 2 MB."
                ).format(size=f"{upload.size / 2**20:,.1f}")
            )
        return upload

    def clean(self):
        data = super().clean()
        if not data.get("credential", "").strip() and not data.get("file"):
            raise forms.ValidationError(gettext("Paste a credential or choose a file."))
        return data
