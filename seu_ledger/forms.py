"""Holder forms for the ledger. Validation that is a rule lives in the services; the views turn
a service's ValidationError into errors next to the fields."""

import datetime
import os
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import Jinja2
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from credentials.forms import CrispySubmitMixin
from credentials.models import Term
from credentials.selectors import reader_today
from cspo_tracker import formats

from . import services
from .models import MAX_ENTRY_HOURS, Category


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, category):
        return f"{category.issuer.name}: {category.name}"


class IssuerGroupedChoiceIterator(ModelChoiceIterator):
    """Categories in one <optgroup> per issuer (they come ordered by issuer)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        groups: dict[str, list] = {}
        for category in self.field.categories:
            groups.setdefault(category.issuer.name, []).append(self.choice(category))
        yield from groups.items()


class IssuerGroupedCategoryField(forms.ModelChoiceField):
    """A choice among a list of categories already loaded (issuer loaded, ordered by issuer):
    offered and checked without a query."""

    iterator = IssuerGroupedChoiceIterator

    def __init__(self, *args, **kwargs):
        super().__init__(Category.objects.none(), *args, **kwargs)
        self.categories: list[Category] = []

    def set_categories(self, categories: list[Category]) -> None:
        """Offer `categories`; the queryset (for anything reading it) names the same rows."""
        self.categories = list(categories)
        self.queryset = Category.objects.filter(pk__in=[c.pk for c in self.categories])

    def label_from_instance(self, category):
        return category.name

    def to_python(self, value):
        if value in self.empty_values:
            return None
        by_pk = {str(category.pk): category for category in self.categories}
        if str(value) not in by_pk:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return by_pk[str(value)]


class EntryForm(forms.Form):
    """An activity, and for issuers whose categories nest (PMI's Talent Triangle) how its hours
    split across their categories: one optional hours field per category, blank for all of
    them to count the activity under the category it maps to.

    The service's rules on the date, the hours, the split and the evidence are checked here
    with the form's own, so a holder sees every problem at once; the service checks them again
    when it writes. A valid evidence file chosen on a try that fails is kept (see
    `keep_evidence`) so it is not lost with the other errors.

    Drawn by `seu_ledger/entry_form.html` field by field (`plain_fields`, the evidence, then
    `allocation_fieldsets`), in Bootstrap's markup without a layout library: it is the form
    holders open most.
    """

    submit_label = _("Save activity")
    # Django's own widget templates, rendered by Jinja2: the same markup at a fraction of the
    # Django template engine's cost for the form holders open most.
    default_renderer = Jinja2()
    activity_date = forms.DateField(
        label=_("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Not in the future."),
    )
    category = IssuerGroupedCategoryField(
        label=_("Category"),
        help_text=_(
            "Pick the issuer's own category; it also counts for your other issuers where "
            "they recognise it (Scrum Alliance Learning is PMI Education)."
        ),
    )
    title = forms.CharField(
        label=_("Title"), max_length=200, help_text=_("What you did, e.g. the course or talk.")
    )
    provider = forms.CharField(
        label=_("Provider"), max_length=200, required=False, help_text=_("Who ran it.")
    )
    # No max_digits: the rule on hours (services.entry_rule_errors) says what is wrong in the
    # domain's words, not "Ensure that there are no more than 4 digits before the decimal
    # point".
    hours = forms.DecimalField(
        label=_("Hours"),
        widget=forms.NumberInput(
            attrs={"step": "0.25", "min": "0.25", "max": str(MAX_ENTRY_HOURS)}
        ),
        help_text=_("One hour is one unit, in steps of 0.25."),
    )
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    evidence = forms.FileField(
        label=_("Evidence"),
        required=False,
        help_text=_("Optional: a certificate or receipt as PDF, PNG or JPEG, up to 10 MB."),
        widget=forms.FileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )
    evidence_token = forms.CharField(required=False, widget=forms.HiddenInput)

    ALLOCATION_PREFIX = "hours_in_"

    def __init__(
        self,
        *args,
        holder_id: int,
        categories,
        allocation_issuers=(),
        entry=None,
        hours_notes=(),
        on: datetime.date | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.holder_id = holder_id
        self.entry = entry
        self.on = on or reader_today()
        self.kept_evidence: services.KeptEvidence | None = None
        self._kept_replaced: services.KeptEvidence | None = None
        self._kept_file = None
        self.fields["activity_date"].widget.attrs.update(
            max=self.on.isoformat(), min=services.entry_earliest_date(self.on).isoformat()
        )
        self.fields["category"].set_categories(categories)
        if hours_notes:
            self.fields["hours"].help_text += " " + " ".join(hours_notes)
        self.current_evidence_url = None
        if entry is not None and entry.evidence:
            self.current_evidence_url = reverse("ledger:entry_evidence", args=[entry.pk])
            self.fields["remove_evidence"] = forms.BooleanField(
                required=False,
                label=gettext("Remove the evidence file"),
                help_text=gettext("The activity stays; only its evidence file is taken off."),
            )
        self.allocation_fields: dict[str, Category] = {}
        self.allocation_groups: list[tuple[str, list[str]]] = []
        for issuer, categories_of_issuer in allocation_issuers:
            names = []
            for category in categories_of_issuer:
                name = f"{self.ALLOCATION_PREFIX}{category.pk}"
                self.fields[name] = forms.DecimalField(
                    label=category.name,
                    required=False,
                    widget=forms.NumberInput(
                        attrs={"step": "0.25", "min": "0.25", "max": str(MAX_ENTRY_HOURS)}
                    ),
                )
                self.allocation_fields[name] = category
                names.append(name)
            self.allocation_groups.append((issuer.name, names))

    EVIDENCE_FIELDS = ("evidence", "evidence_token", "remove_evidence")

    def plain_fields(self) -> list:
        """The activity's own fields (bound), in order: date, category, title, provider,
        hours, description."""
        return [
            self[name]
            for name in self.fields
            if name not in self.allocation_fields and name not in self.EVIDENCE_FIELDS
        ]

    def allocation_fieldsets(self) -> list[tuple[str, list]]:
        """(issuer name, its categories' hours fields, bound) for each issuer whose categories
        nest: where the holder may split the hours."""
        return [
            (issuer, [self[name] for name in names]) for issuer, names in self.allocation_groups
        ]

    def clean_evidence(self):
        upload = self.cleaned_data.get("evidence")
        if upload:
            name = os.path.basename(upload.name or "")[:100] or "evidence"
            try:
                services.evidence_check(upload)  # gives the upload a random name
            except ValidationError as error:
                raise ValidationError(error.message_dict.get("evidence", error.messages)) from None
            upload.holder_name = name
        return upload

    def clean(self):
        data = super().clean()
        rule_errors = services.entry_rule_errors(
            activity_date=data.get("activity_date"), hours=data.get("hours"), on=self.on
        )
        for field, messages in rule_errors.items():
            self.add_error(field, messages)
        hours_ok = "hours" not in self.errors
        try:
            services.allocations_check(self.allocations(), data.get("hours") if hours_ok else None)
        except ValidationError as error:
            self.add_service_error(error)
        self._clean_kept_evidence(data)
        return data

    def _clean_kept_evidence(self, data) -> None:
        """The file kept from an earlier try, unless a new one replaces it. A token that is
        not this holder's, damaged or too old is not used, and the holder is told."""
        token = data.get("evidence_token")
        if not token:
            return
        kept = services.evidence_kept(holder_id=self.holder_id, token=token)
        if data.get("evidence"):
            self._kept_replaced = kept
        elif kept is None:
            self.add_error("evidence", services.EVIDENCE_KEPT_LOST)
        else:
            self.kept_evidence = kept

    def allocation_issuer_ids(self) -> list[int]:
        """The issuers whose split the form asks for."""
        return sorted({category.issuer_id for category in self.allocation_fields.values()})

    def allocations(self) -> list[tuple[Category, Decimal]]:
        """(category, hours) for every allocation field filled in."""
        return [
            (category, self.cleaned_data[name])
            for name, category in self.allocation_fields.items()
            if self.cleaned_data.get(name)
        ]

    def evidence_change(self) -> dict:
        """What saving does to the evidence: {"evidence": a file} for a new or kept file,
        {"evidence": ""} to remove it, {} to leave it as it is."""
        if self.cleaned_data.get("evidence"):
            return {"evidence": self.cleaned_data["evidence"]}
        if self.kept_evidence is not None:
            self._kept_file = services.evidence_kept_file(self.kept_evidence)
            return {"evidence": self._kept_file}
        if self.cleaned_data.get("remove_evidence"):
            return {"evidence": ""}
        return {}

    def keep_evidence(self) -> None:
        """The form is shown again with errors: store a valid file chosen on this try so the
        next try can use it (browsers cannot refill a file input), and carry its token in the
        hidden field. A file kept from an earlier try and not replaced stays kept."""
        if self._kept_file is not None:
            self._kept_file.close()
            self._kept_file = None
        upload = getattr(self, "cleaned_data", {}).get("evidence")
        if upload:
            self.kept_evidence = services.evidence_keep(
                holder_id=self.holder_id, upload=upload, name=upload.holder_name
            )
            self._discard(self._kept_replaced)
        self.data = self.data.copy()
        self.data["evidence_token"] = self.kept_evidence.token if self.kept_evidence else ""

    def evidence_saved(self) -> None:
        """The activity is saved with its evidence copied in: the kept files are done with."""
        if self._kept_file is not None:
            self._kept_file.close()
        self._discard(self.kept_evidence)
        self._discard(self._kept_replaced)

    @staticmethod
    def _discard(kept) -> None:
        if kept is not None:
            services.evidence_kept_discard(kept)

    def add_service_error(self, error: ValidationError) -> None:
        """A service's refusal next to its field, or above the form for what has no field."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class VoidForm(CrispySubmitMixin, forms.Form):
    submit_label = _("Void this entry")
    reason = forms.CharField(
        label=_("Reason"), max_length=300, help_text=_("Kept in your history with the entry.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper.inputs[0].field_classes = "btn btn-danger"


class FeeReferenceForm(CrispySubmitMixin, forms.Form):
    submit_label = _("I have paid: record my receipt")
    reference = forms.CharField(
        max_length=120,
        label=_("Receipt reference"),
        help_text=_("The receipt or transaction number from the issuer. Staff confirm it."),
        error_messages={
            "required": _("Receipt reference: enter the reference from the issuer."),
        },
    )

    def __init__(self, *args, action: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper.form_action = action


class HistoryFilterForm(forms.Form):
    term = forms.ChoiceField(label=_("Counting toward"), required=False)
    category = CategoryChoiceField(
        label=_("Category"),
        queryset=Category.objects.select_related("issuer").order_by("issuer__name", "name"),
        required=False,
        empty_label=_("Any category"),
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, terms: list[Term], categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        if categories is not None:
            self.fields["category"].queryset = categories
        # Translators: a term to filter the history by: "CSPO term 2 (14 May 2024 to 14 May
        # 2026)"; {ends_on} may be "lifetime".
        label = gettext("{code} term {sequence} ({starts_on} to {ends_on})")
        lifetime = gettext("lifetime")
        self.fields["term"].choices = [("", gettext("Any credential"))] + [
            (
                str(term.pk),
                label.format(
                    code=term.credential.program.code,
                    sequence=term.sequence,
                    starts_on=formats.day(term.starts_on),
                    ends_on=formats.day(term.ends_on) if term.ends_on else lifetime,
                ),
            )
            for term in terms
        ]
        self.helper = FormHelper(self)
        self.helper.form_method = "get"
        self.helper.add_input(Submit("submit", gettext("Filter"), css_class="btn-secondary"))
