"""How records look in the API (and in webhook payloads, which reuse these), and what each
write accepts. A write serializer only checks shapes and types; every rule is the services'
(they raise the same messages the pages show)."""

from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from credentials.models import Credential, Program, RosterImport, Term, User
from credentials.roster.parse import ENCODINGS
from credentials.selectors import (
    Status,
    credential_status,
    credential_terms,
    grace_ends_on,
    status_is_valid,
    status_label,
)
from cspo_tracker.links import absolute_url
from seu_ledger.models import Category, Entry, Reminder

from .events import EVENT_TYPES
from .models import ApiToken, Delivery, DeliveryAttempt, WebhookEndpoint

UNITS = {"max_digits": 6, "decimal_places": 2}
DATETIME = serializers.DateTimeField()  # formats a date and time as every field of the API does


class IssuerSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ProgramSerializer(serializers.ModelSerializer):
    issuer = IssuerSerializer()
    lifetime = serializers.BooleanField(source="is_lifetime")
    units_required = serializers.SerializerMethodField(
        help_text="Units (unit_name) a term starting today needs to renew; null: none set."
    )

    class Meta:
        model = Program
        fields = [
            "code",
            "name",
            "issuer",
            "track",
            "level",
            "lifetime",
            "validity_months",
            "unit_name",
            "units_required",
            "grace_days",
            "after_end_status",
            "valid_after_end",
            "fee_required",
            "fee_amount",
            "member_fee_amount",
            "currency",
            "min_course_hours",
            "is_active",
        ]

    @extend_schema_field(serializers.DecimalField(**UNITS, allow_null=True))
    def get_units_required(self, program) -> str | None:
        value = self.context.get("units_required", {}).get(program.pk)
        return None if value is None else f"{value:.2f}"


class CategorySerializer(serializers.ModelSerializer):
    issuer = serializers.CharField(source="issuer.code")
    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = ["id", "issuer", "code", "name", "description", "parent"]


class HolderBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name"]


class HolderSerializer(serializers.ModelSerializer):
    pending_email = serializers.CharField(
        read_only=True,
        help_text="A new address waiting for its owner to confirm it; empty when there is none.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "pending_email",
            "first_name",
            "last_name",
            "state",
            "date_joined",
            "invited_at",
        ]
        read_only_fields = fields


class HolderCreateSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=400)
    first_name = serializers.CharField(max_length=400, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=400, required=False, allow_blank=True)
    invite = serializers.BooleanField(
        default=True, help_text="Email an invitation to set a password (default: yes)."
    )


class HolderUpdateSerializer(serializers.Serializer):
    email = serializers.CharField(
        max_length=400,
        required=False,
        help_text="A new address takes effect once its owner follows the link sent to it.",
    )
    first_name = serializers.CharField(max_length=400, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=400, required=False, allow_blank=True)


class TermSerializer(serializers.ModelSerializer):
    class Meta:
        model = Term
        fields = ["id", "sequence", "starts_on", "ends_on"]


def credentials_for_representation() -> QuerySet[Credential]:
    """Credentials with what CredentialSerializer reads, in a fixed number of queries."""
    return Credential.objects.select_related(
        "holder", "program__issuer", "source_course"
    ).prefetch_related(Prefetch("terms", queryset=Term.objects.order_by("sequence")))


class CredentialSerializer(serializers.ModelSerializer):
    holder = HolderBriefSerializer()
    program = serializers.CharField(source="program.code")
    issuer = serializers.CharField(source="program.issuer.code")
    course = serializers.CharField(source="source_course.code", allow_null=True, default=None)
    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    valid = serializers.SerializerMethodField()
    valid_through = serializers.SerializerMethodField()
    grace_ends_on = serializers.SerializerMethodField()
    verification_url = serializers.SerializerMethodField()
    terms = serializers.SerializerMethodField()

    class Meta:
        model = Credential
        fields = [
            "id",
            "verification_code",
            "holder",
            "program",
            "issuer",
            "issued_on",
            "certificate_number",
            "verified",
            "course",
            "status",
            "status_label",
            "valid",
            "valid_through",
            "grace_ends_on",
            "revoked_at",
            "verification_url",
            "terms",
        ]

    def _status(self, credential) -> Status:
        on = self.context.get("on")  # none: each credential on its issuer's today
        cache = self.context.setdefault("_status", {})
        if credential.pk not in cache:
            cache[credential.pk] = credential_status(credential, on)
        return cache[credential.pk]

    @extend_schema_field(serializers.ChoiceField(choices=Status.choices))
    def get_status(self, credential) -> str:
        return str(self._status(credential).value)

    def get_status_label(self, credential) -> str:
        return status_label(credential.program, self._status(credential))

    def get_valid(self, credential) -> bool:
        return status_is_valid(credential.program, self._status(credential))

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_valid_through(self, credential) -> str | None:
        ends = credential_terms(credential)[-1].ends_on
        return ends.isoformat() if ends else None

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_grace_ends_on(self, credential) -> str | None:
        ends = grace_ends_on(credential.program, credential_terms(credential)[-1].ends_on)
        return ends.isoformat() if ends else None

    @extend_schema_field(OpenApiTypes.URI)
    def get_verification_url(self, credential) -> str:
        return absolute_url("credentials:verify", credential.verification_code)

    @extend_schema_field(TermSerializer(many=True))
    def get_terms(self, credential) -> list:
        return TermSerializer(credential_terms(credential), many=True).data

    def to_representation(self, credential):
        """The same as the declared fields give (`declared_representation`; a test holds them
        equal), built directly: the API's hottest list, 50 a page (see the benchmark)."""
        terms = credential_terms(credential)
        status = self._status(credential)
        program, holder = credential.program, credential.holder
        last = terms[-1].ends_on
        grace = grace_ends_on(program, last)
        revoked = credential.revoked_at
        return {
            "id": credential.pk,
            "verification_code": str(credential.verification_code),
            "holder": {
                "id": holder.pk,
                "email": holder.email,
                "first_name": holder.first_name,
                "last_name": holder.last_name,
            },
            "program": program.code,
            "issuer": program.issuer.code,
            "issued_on": credential.issued_on.isoformat(),
            "certificate_number": credential.certificate_number,
            "verified": credential.verified,
            "course": credential.source_course.code if credential.source_course_id else None,
            "status": str(status.value),
            "status_label": status_label(program, status),
            "valid": status_is_valid(program, status),
            "valid_through": last.isoformat() if last else None,
            "grace_ends_on": grace.isoformat() if grace else None,
            "revoked_at": None if revoked is None else DATETIME.to_representation(revoked),
            "verification_url": absolute_url("credentials:verify", credential.verification_code),
            "terms": [
                {
                    "id": term.pk,
                    "sequence": term.sequence,
                    "starts_on": term.starts_on.isoformat(),
                    "ends_on": term.ends_on.isoformat() if term.ends_on else None,
                }
                for term in terms
            ],
        }

    def declared_representation(self, credential) -> dict:
        """The representation by the declared fields, as the schema describes it."""
        return super().to_representation(credential)


class CredentialIssueSerializer(serializers.Serializer):
    holder = serializers.IntegerField(min_value=1, max_value=2**62, help_text="The holder's id.")
    course = serializers.CharField(max_length=64, help_text="The course's code.")
    hours_attended = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal(0), coerce_to_string=True
    )


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, allow_blank=True, help_text="Why (kept for staff; never shown publicly)."
    )


class AllocationSerializer(serializers.Serializer):
    category = serializers.IntegerField(min_value=1, max_value=2**62)
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)


class OutcomeSerializer(serializers.Serializer):
    renewal = serializers.CharField(help_text="The credential (or group) it counts toward.")
    counted = serializers.DecimalField(**UNITS)
    not_counted = serializers.ListField(
        child=serializers.CharField(), help_text="Each part that does not count, and why."
    )
    sentence = serializers.CharField()


class EntrySerializer(serializers.ModelSerializer):
    category = serializers.PrimaryKeyRelatedField(read_only=True)
    course = serializers.CharField(source="source_course.code", allow_null=True, default=None)
    allocations = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField(
        help_text="How it counts toward each renewal it could count toward."
    )

    class Meta:
        model = Entry
        fields = [
            "id",
            "activity_date",
            "category",
            "title",
            "provider",
            "hours",
            "description",
            "course",
            "allocations",
            "voided_at",
            "void_reason",
            "created_at",
            "counts",
        ]

    @extend_schema_field(AllocationSerializer(many=True))
    def get_allocations(self, entry) -> list:
        return [
            {"category": a.category_id, "hours": f"{a.hours:.2f}"} for a in entry.allocations.all()
        ]

    @extend_schema_field(OutcomeSerializer(many=True))
    def get_counts(self, entry) -> list:
        outcomes = self.context.get("outcomes", {}).get(entry.pk, [])
        return [
            {
                "renewal": outcome.label,
                "counted": f"{outcome.counted:.2f}",
                "not_counted": outcome.reasons,
                "sentence": outcome.sentence,
            }
            for outcome in outcomes
        ]


class EntryCreateSerializer(serializers.Serializer):
    activity_date = serializers.DateField(
        help_text="The day it took place: not in the future, at most 10 years back."
    )
    category = serializers.IntegerField(
        min_value=1,
        max_value=2**62,
        help_text="A category's id (GET /api/v1/categories/?issuer=scrum-alliance): one "
        "of your credentials' issuers recognises it.",
    )
    title = serializers.CharField(max_length=200, help_text="What it was: “Agile meetup”.")
    provider = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Who ran it."
    )
    hours = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        help_text="Hours, in steps of 0.25 (1 hour = 1 SEU or PDU); more than zero.",
    )
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    allocations = AllocationSerializer(
        many=True,
        required=False,
        help_text="How the hours split across an issuer's skill areas (PMI's Talent "
        "Triangle: Ways of Working, Power Skills, Business Acumen), adding up to `hours`.",
    )


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True)


class RosterImportSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.EmailField(source="uploaded_by.email", allow_null=True, default=None)
    percent_done = serializers.IntegerField()
    row_errors = serializers.SerializerMethodField(
        help_text="Rows the check refused (the first 200): line, email, column, problem."
    )
    row_errors_total = serializers.SerializerMethodField()

    class Meta:
        model = RosterImport
        fields = [
            "id",
            "original_name",
            "uploaded_by",
            "created_at",
            "status",
            "encoding",
            "rows_read",
            "rows_total",
            "rows_done",
            "percent_done",
            "only_valid_rows",
            "totals",
            "row_errors_total",
            "row_errors",
            "summary",
            "failure",
            "finished_at",
        ]

    @extend_schema_field(
        serializers.ListField(child=serializers.DictField(child=serializers.JSONField()))
    )
    def get_row_errors(self, record) -> list:
        return list(record.errors or [])[:200]

    def get_row_errors_total(self, record) -> int:
        return len(record.errors or [])


class RosterUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV or XLSX roster with a header row.")
    encoding = serializers.ChoiceField(
        choices=["", *ENCODINGS],
        required=False,
        default="",
        help_text="A CSV's encoding; empty: detect (UTF-8, else Windows-1252).",
    )


class RosterConfirmSerializer(serializers.Serializer):
    only_valid_rows = serializers.BooleanField(
        default=False, help_text="Import the valid rows and leave out those with errors."
    )


class ReminderSerializer(serializers.ModelSerializer):
    holder = serializers.PrimaryKeyRelatedField(read_only=True)
    credential = serializers.IntegerField(source="term.credential_id")
    program = serializers.CharField(source="term.credential.program.code")

    class Meta:
        model = Reminder
        fields = [
            "id",
            "holder",
            "credential",
            "program",
            "kind",
            "days_before",
            "term_ends_on",
            "status",
            "attempts",
            "skip_reason",
            "created_at",
            "sent_at",
        ]


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)))
    paused = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "paused",
            "paused_at",
            "paused_reason",
            "created_at",
        ]

    def get_paused(self, endpoint) -> bool:
        return endpoint.paused_at is not None


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointWriteSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    events = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20)
    paused = serializers.BooleanField(required=False)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "error", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event.type")
    webhook_id = serializers.CharField(help_text="The webhook-id header the receiver got.")
    payload = serializers.JSONField(source="event.payload")
    tries = DeliveryAttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "event",
            "webhook_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "payload",
            "tries",
        ]


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "kind",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
