"""Holder forms for the ledger. Validation that is a rule lives in the services; the views turn
a service's ValidationError into errors next to the fields."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from credentials.forms import CrispySubmitMixin
from credentials.models import Term

from .models import Category


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, category):
        return f"{category.issuer.name}: {category.name}"


class EntryForm(CrispySubmitMixin, forms.Form):
    submit_label = "Save activity"
    activity_date = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}), help_text="Not in the future."
    )
    category = CategoryChoiceField(
        queryset=Category.objects.select_related("issuer").order_by("issuer__name", "name"),
        help_text="Pick the issuer's own category; it also counts for your other issuers where "
        "they recognise it (Scrum Alliance Learning is PMI Education).",
    )
    title = forms.CharField(max_length=200, help_text="What you did, e.g. the course or talk.")
    provider = forms.CharField(max_length=200, required=False, help_text="Who ran it.")
    hours = forms.DecimalField(
        max_digits=6,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.25", "min": "0.25"}),
        help_text="One hour is one unit, in steps of 0.25.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    evidence = forms.FileField(
        required=False,
        help_text="Optional: a certificate or receipt as PDF, PNG or JPEG, up to 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )


class VoidForm(CrispySubmitMixin, forms.Form):
    submit_label = "Void this entry"
    reason = forms.CharField(max_length=300, help_text="Kept in your history with the entry.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper.inputs[0].field_classes = "btn btn-danger"


class FeeReferenceForm(CrispySubmitMixin, forms.Form):
    submit_label = "I have paid: record my receipt"
    reference = forms.CharField(
        max_length=120,
        label="Receipt reference",
        help_text="The receipt or transaction number from the issuer. Staff confirm it.",
    )

    def __init__(self, *args, action: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper.form_action = action


class HistoryFilterForm(forms.Form):
    term = forms.ChoiceField(label="Counting toward", required=False)
    category = CategoryChoiceField(
        queryset=Category.objects.select_related("issuer").order_by("issuer__name", "name"),
        required=False,
        empty_label="Any category",
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, terms: list[Term], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].choices = [("", "Any credential")] + [
            (
                str(term.pk),
                f"{term.credential.program.code} term {term.sequence} "
                f"({term.starts_on.isoformat()} to "
                f"{term.ends_on.isoformat() if term.ends_on else 'lifetime'})",
            )
            for term in terms
        ]
        self.helper = FormHelper(self)
        self.helper.form_method = "get"
        self.helper.add_input(Submit("submit", "Filter", css_class="btn-secondary"))
