"""List filters. Unknown values are refused with a message naming the parameter."""

import django_filters as filters
from django import forms
from django.db.models import Max, Min

from credentials.models import Credential, RosterImport, User
from credentials.selectors import Status, status_condition, today
from seu_ledger.models import Category, Entry, Reminder

from .models import Delivery


class IdFilter(filters.NumberFilter):
    """A record's id: a whole number that fits the database's."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**62)
        super().__init__(*args, **kwargs)


class CredentialFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=Status.choices, method="by_status", help_text="The status today."
    )
    program = filters.CharFilter(field_name="program__code", help_text="A program code.")
    holder = IdFilter(field_name="holder_id")
    issued_after = filters.DateFilter(field_name="issued_on", lookup_expr="gte")
    issued_before = filters.DateFilter(field_name="issued_on", lookup_expr="lte")
    valid_through_after = filters.DateFilter(method="by_valid_through_after")
    valid_through_before = filters.DateFilter(method="by_valid_through_before")

    class Meta:
        model = Credential
        fields = []

    @staticmethod
    def _dated(queryset):
        if "valid_through" in queryset.query.annotations:
            return queryset
        return queryset.annotate(
            valid_through=Max("terms__ends_on"), first_starts_on=Min("terms__starts_on")
        )

    def by_status(self, queryset, name, value):
        return self._dated(queryset).filter(status_condition(Status(value), today()))

    def by_valid_through_after(self, queryset, name, value):
        return self._dated(queryset).filter(valid_through__gte=value)

    def by_valid_through_before(self, queryset, name, value):
        return self._dated(queryset).filter(valid_through__lte=value)


class MyCredentialFilter(CredentialFilter):
    """The same filters, less the holder (it is always the caller)."""

    holder = None


class CategoryFilter(filters.FilterSet):
    issuer = filters.CharFilter(field_name="issuer__code", help_text="An issuer's code: pmi.")

    class Meta:
        model = Category
        fields = []


class HolderFilter(filters.FilterSet):
    email = filters.CharFilter(method="by_email", help_text="An address (any spelling of it).")
    state = filters.ChoiceFilter(choices=User.State.choices)

    class Meta:
        model = User
        fields = []

    def by_email(self, queryset, name, value):
        from credentials.identity import canonical_email

        try:
            value = canonical_email(value)
        except Exception:  # noqa: BLE001 -- an address no account can have matches nothing
            return queryset.none()
        return queryset.filter(email=value)


class EntryFilter(filters.FilterSet):
    voided = filters.BooleanFilter(field_name="voided_at", lookup_expr="isnull", exclude=True)
    activity_after = filters.DateFilter(field_name="activity_date", lookup_expr="gte")
    activity_before = filters.DateFilter(field_name="activity_date", lookup_expr="lte")
    category = IdFilter(field_name="category_id")

    class Meta:
        model = Entry
        fields = []


class RosterImportFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RosterImport.Status.choices)

    class Meta:
        model = RosterImport
        fields = []


class ReminderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Reminder.Status.choices)
    kind = filters.ChoiceFilter(choices=Reminder.Kind.choices)
    holder = IdFilter(field_name="holder_id")
    program = filters.CharFilter(field_name="term__credential__program__code")
    created_after = filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Reminder
        fields = []


class DeliveryFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Delivery.Status.choices)
    endpoint = IdFilter(field_name="endpoint_id")
    event = filters.CharFilter(field_name="event__type", help_text="An event type.")

    class Meta:
        model = Delivery
        fields = []
