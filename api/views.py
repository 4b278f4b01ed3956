"""The REST API: thin adapters over the apps' services and selectors. Lists are paged by
cursor and cost the same number of queries whatever their length."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from credentials import accounts
from credentials.models import Course, Credential, Program, RosterImport, User
from credentials.organisations import roster_imports_visible_to
from credentials.roster.imports import (
    roster_file_bytes,
    roster_import_queue,
    roster_import_upload,
)
from credentials.selectors import today
from credentials.services import attendance_record, credential_revoke
from cspo_tracker.middleware import client_ip
from seu_ledger.models import Allocation, Category, Entry, Reminder, RuleVersion
from seu_ledger.selectors import (
    allocation_issuers,
    entry_categories,
    entry_outcomes,
    holder_ledger,
)
from seu_ledger.services import entry_log, entry_void

from . import filters, webhooks
from .access import AnyCaller, Holder, Staff
from .models import Delivery, DeliveryAttempt, Scope, WebhookEndpoint
from .serializers import (
    CategorySerializer,
    CredentialIssueSerializer,
    CredentialSerializer,
    DeliverySerializer,
    EntryCreateSerializer,
    EntrySerializer,
    HolderCreateSerializer,
    HolderSerializer,
    HolderUpdateSerializer,
    ProgramSerializer,
    ReminderSerializer,
    RevokeSerializer,
    RosterConfirmSerializer,
    RosterImportSerializer,
    RosterUploadSerializer,
    VoidSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWriteSerializer,
    credentials_for_representation,
)
from .throttling import PerAddress

ID = r"[0-9]{1,18}"
COURSE_UNKNOWN = _("Course: no course has the code “{code}”.")
HOLDER_UNKNOWN = _("Holder: no holder has the id {id}.")
CATEGORY_NOT_YOURS = _("Category: not a category you can log under (see /api/v1/categories/).")
ALLOCATION_UNKNOWN = _(
    "Allocations: category {id} is not one your hours can be split into (a skill area of an "
    "issuer of your credentials, such as PMI's Ways of Working)."
)
EMAIL_NEEDS_PERMISSION = _("Email: your account may not move holders to another address.")


class AddressFirst:
    # Counts the request against its client address before anything else, a failed
    # authentication included: guessing tokens is rate-limited too. (A comment, not a
    # docstring: the schema would show it as every operation's description.)

    def initial(self, request, *args, **kwargs):
        throttle = PerAddress()
        if not throttle.allow_request(request, self):
            self.throttled(request, throttle.wait())
        super().initial(request, *args, **kwargs)


def _validated(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Reference data -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Programs (certifications) and their renewal rules"),
    retrieve=extend_schema(summary="One program, by its code"),
)
class ProgramViewSet(AddressFirst, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AnyCaller]
    serializer_class = ProgramSerializer
    queryset = Program.objects.select_related("issuer")
    lookup_field = "code"
    lookup_value_regex = r"[^/]{1,40}"

    def get_serializer_context(self):
        on = today()
        required = {}
        for program_id, units in (
            RuleVersion.objects.filter(effective_from__lte=on)
            .order_by("program_id", "effective_from")
            .values_list("program_id", "units_required")
        ):
            required[program_id] = units  # the latest in force wins
        return {**super().get_serializer_context(), "units_required": required}


@extend_schema_view(
    list=extend_schema(summary="Categories to log units under, by issuer"),
    retrieve=extend_schema(summary="One category"),
)
class CategoryViewSet(AddressFirst, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AnyCaller]
    serializer_class = CategorySerializer
    queryset = Category.objects.select_related("issuer")
    filterset_class = filters.CategoryFilter
    lookup_value_regex = ID


# --- Staff: holders, credentials, rosters, reminders -------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Holders"),
    retrieve=extend_schema(summary="One holder"),
    create=extend_schema(
        summary="Register a holder (invited to set a password)",
        request=HolderCreateSerializer,
        responses={201: HolderSerializer},
    ),
    partial_update=extend_schema(
        summary="Correct a holder's name, or move them to a new address (confirmed by its owner)",
        request=HolderUpdateSerializer,
        responses={200: HolderSerializer},
    ),
)
class HolderViewSet(
    AddressFirst,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [Staff]
    access = {
        "list": (Scope.HOLDERS_READ, "credentials.view_user"),
        "retrieve": (Scope.HOLDERS_READ, "credentials.view_user"),
        "create": (Scope.HOLDERS_WRITE, "credentials.add_user"),
        "partial_update": (Scope.HOLDERS_WRITE, "credentials.change_user"),
    }
    http_method_names = ["get", "post", "patch", "head", "options"]
    serializer_class = HolderSerializer
    queryset = User.objects.filter(is_staff=False)
    filterset_class = filters.HolderFilter
    lookup_value_regex = ID

    def create(self, request):
        data = _validated(HolderCreateSerializer, request)
        holder = accounts.holder_register(**data, requested_by=request.user)
        return Response(HolderSerializer(holder).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        holder = self.get_object()
        data = _validated(HolderUpdateSerializer, request)
        if "email" in data and not request.user.has_perm("credentials.change_user_email"):
            raise ValidationError({"email": [EMAIL_NEEDS_PERMISSION]})
        with transaction.atomic():
            if "first_name" in data or "last_name" in data:
                accounts.profile_update(
                    user=holder,
                    first_name=data.get("first_name", holder.first_name),
                    last_name=data.get("last_name", holder.last_name),
                )
            if "email" in data:
                accounts.email_change_request(
                    user=holder,
                    new_email=data["email"],
                    requested_by=request.user,
                    client=client_ip(request),
                )
        holder.refresh_from_db()
        return Response(HolderSerializer(holder).data)


@extend_schema_view(
    list=extend_schema(summary="Credentials with their terms and status today"),
    retrieve=extend_schema(summary="One credential"),
    create=extend_schema(
        summary="Issue a credential from a course attendance",
        description="Records the holder as having completed the course with these hours (the "
        "same rules as a roster row) and issues the program's credential from the course's "
        "end date. A credential the holder has already is returned with 200.",
        request=CredentialIssueSerializer,
        responses={201: CredentialSerializer, 200: CredentialSerializer},
    ),
)
class CredentialViewSet(
    AddressFirst,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [Staff]
    access = {
        "list": (Scope.CREDENTIALS_READ, "credentials.view_credential"),
        "retrieve": (Scope.CREDENTIALS_READ, "credentials.view_credential"),
        "create": (Scope.CREDENTIALS_WRITE, "credentials.add_credential"),
        "revoke": (Scope.CREDENTIALS_WRITE, "credentials.change_credential"),
    }
    serializer_class = CredentialSerializer
    filterset_class = filters.CredentialFilter
    lookup_value_regex = ID

    def get_queryset(self):
        return credentials_for_representation()

    def create(self, request):
        data = _validated(CredentialIssueSerializer, request)
        holder = User.objects.filter(pk=data["holder"], is_staff=False).first()
        if holder is None:
            raise ValidationError({"holder": [HOLDER_UNKNOWN.format(id=data["holder"])]})
        course = (
            Course.objects.select_related("program__issuer").filter(code=data["course"]).first()
        )
        if course is None:
            raise ValidationError({"course": [COURSE_UNKNOWN.format(code=data["course"])]})
        existed = Credential.objects.filter(holder=holder, program=course.program).exists()
        _attendance, credential = attendance_record(
            holder=holder, course=course, hours_attended=data["hours_attended"], completed=True
        )
        credential = credentials_for_representation().get(pk=credential.pk)
        return Response(
            CredentialSerializer(credential).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Revoke a credential (final)",
        request=RevokeSerializer,
        responses={200: CredentialSerializer},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        credential = self.get_object()
        data = _validated(RevokeSerializer, request)
        credential_revoke(credential=credential, reason=data["reason"], by=request.user)
        credential = credentials_for_representation().get(pk=credential.pk)
        return Response(CredentialSerializer(credential).data)


@extend_schema_view(
    list=extend_schema(summary="Roster imports, newest first"),
    retrieve=extend_schema(summary="One roster import: its check results and progress"),
    create=extend_schema(
        summary="Upload a roster to be checked (nothing is written until it is confirmed)",
        request={"multipart/form-data": RosterUploadSerializer},
        responses={201: RosterImportSerializer},
    ),
)
class RosterImportViewSet(
    AddressFirst,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [Staff]
    access = {
        "list": (Scope.ROSTERS_WRITE, "credentials.view_rosterimport"),
        "retrieve": (Scope.ROSTERS_WRITE, "credentials.view_rosterimport"),
        "create": (Scope.ROSTERS_WRITE, "credentials.add_rosterimport"),
        "confirm": (Scope.ROSTERS_WRITE, "credentials.add_rosterimport"),
    }
    serializer_class = RosterImportSerializer
    queryset = RosterImport.objects.none()  # the schema's model; rows come from the selector
    filterset_class = filters.RosterImportFilter
    lookup_value_regex = ID

    def get_queryset(self):
        # Through the same selector as the pages (staff with the permission reach them all).
        return roster_imports_visible_to(self.request.user).select_related("uploaded_by")

    def create(self, request):
        data = _validated(RosterUploadSerializer, request)
        try:
            roster = roster_file_bytes(data["file"])
        except DjangoValidationError as refusal:
            raise ValidationError({"file": refusal.messages}) from None
        record = roster_import_upload(
            data=roster,
            name=data["file"].name or "roster",
            uploaded_by=request.user,
            encoding=data["encoding"],
        )
        return Response(RosterImportSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Confirm a checked roster: it is applied in the background (poll the import)",
        request=RosterConfirmSerializer,
        responses={202: RosterImportSerializer},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        record = self.get_object()
        data = _validated(RosterConfirmSerializer, request)
        record = roster_import_queue(record=record, only_valid_rows=data["only_valid_rows"])
        return Response(RosterImportSerializer(record).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="Reminders recorded for holders, newest first"),
    retrieve=extend_schema(summary="One reminder"),
)
class ReminderViewSet(AddressFirst, viewsets.ReadOnlyModelViewSet):
    permission_classes = [Staff]
    access = {
        "list": (Scope.REMINDERS_READ, "seu_ledger.view_reminder"),
        "retrieve": (Scope.REMINDERS_READ, "seu_ledger.view_reminder"),
    }
    serializer_class = ReminderSerializer
    queryset = Reminder.objects.select_related("term__credential__program")
    filterset_class = filters.ReminderFilter
    lookup_value_regex = ID


# --- The holder's own records -------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="My credentials"),
    retrieve=extend_schema(summary="One of my credentials"),
)
class MyCredentialViewSet(AddressFirst, viewsets.ReadOnlyModelViewSet):
    permission_classes = [Holder]
    serializer_class = CredentialSerializer
    filterset_class = filters.MyCredentialFilter
    lookup_value_regex = ID

    def get_queryset(self):
        return credentials_for_representation().filter(holder_id=self.request.user.pk)


@extend_schema_view(
    list=extend_schema(summary="My ledger: activities with how each counts, and why not"),
    retrieve=extend_schema(summary="One of my activities"),
    create=extend_schema(
        summary="Log an activity (with how its hours count for each issuer)",
        request=EntryCreateSerializer,
        responses={201: EntrySerializer},
    ),
)
class MyEntryViewSet(
    AddressFirst,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [Holder]
    serializer_class = EntrySerializer
    filterset_class = filters.EntryFilter
    lookup_value_regex = ID

    def get_queryset(self):
        return (
            Entry.objects.filter(holder_id=self.request.user.pk)
            .select_related("source_course")
            .prefetch_related(Prefetch("allocations", queryset=Allocation.objects.order_by("pk")))
        )

    def _context(self, entry_ids) -> dict:
        ledger = holder_ledger(self.request.user.pk)
        return {
            **self.get_serializer_context(),
            "outcomes": entry_outcomes(ledger, entry_ids=entry_ids),
        }

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = self._context([entry.pk for entry in page])
        return self.get_paginated_response(EntrySerializer(page, many=True, context=context).data)

    def retrieve(self, request, pk=None):
        entry = self.get_object()
        return Response(EntrySerializer(entry, context=self._context([entry.pk])).data)

    def create(self, request):
        data = _validated(EntryCreateSerializer, request)
        holder = request.user
        category = entry_categories(holder.pk).filter(pk=data["category"]).first()
        if category is None:
            raise ValidationError({"category": [CATEGORY_NOT_YOURS]})
        wanted = [a["category"] for a in data.get("allocations", [])]
        # The categories the activity form offers: the leaves of the holder's issuers whose
        # categories nest (PMI's skill areas).
        offered = {leaf.pk: leaf for _, leaves in allocation_issuers(holder.pk) for leaf in leaves}
        missing = [pk for pk in wanted if pk not in offered]
        if missing:
            raise ValidationError({"allocations": [ALLOCATION_UNKNOWN.format(id=missing[0])]})
        known = offered
        with transaction.atomic():
            entry = entry_log(
                holder=holder,
                activity_date=data["activity_date"],
                category=category,
                title=data["title"],
                hours=data["hours"],
                provider=data.get("provider", ""),
                description=data.get("description", ""),
                allocations=[
                    (known[a["category"]], a["hours"]) for a in data.get("allocations", [])
                ],
            )
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(
            EntrySerializer(entry, context=self._context([entry.pk])).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Void an activity: it stays in the history and stops counting",
        request=VoidSerializer,
        responses={200: EntrySerializer},
    )
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        entry = self.get_object()
        data = _validated(VoidSerializer, request)
        entry_void(entry=entry, reason=data["reason"])
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(EntrySerializer(entry, context=self._context([entry.pk])).data)


# --- Webhooks ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints"),
    retrieve=extend_schema(summary="One webhook endpoint"),
    create=extend_schema(
        summary="Register an endpoint; the answer holds its signing secret (shown once)",
        request=WebhookEndpointWriteSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an endpoint; paused=false resumes it",
        request=WebhookEndpointWriteSerializer(partial=True),
        responses={200: WebhookEndpointSerializer},
    ),
    destroy=extend_schema(summary="Remove an endpoint and its delivery log"),
)
class WebhookEndpointViewSet(AddressFirst, viewsets.ModelViewSet):
    permission_classes = [Staff]
    access = {
        "list": (Scope.WEBHOOKS_MANAGE, "api.view_webhookendpoint"),
        "retrieve": (Scope.WEBHOOKS_MANAGE, "api.view_webhookendpoint"),
        "create": (Scope.WEBHOOKS_MANAGE, "api.add_webhookendpoint"),
        "partial_update": (Scope.WEBHOOKS_MANAGE, "api.change_webhookendpoint"),
        "destroy": (Scope.WEBHOOKS_MANAGE, "api.delete_webhookendpoint"),
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.all()
    lookup_value_regex = ID

    def create(self, request):
        data = _validated(WebhookEndpointWriteSerializer, request)
        endpoint = webhooks.endpoint_create(
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
            created_by=request.user,
        )
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = _validated(WebhookEndpointWriteSerializer, request, partial=True)
        endpoint = webhooks.endpoint_update(endpoint=endpoint, **data)
        return Response(WebhookEndpointSerializer(endpoint).data)


@extend_schema_view(
    list=extend_schema(summary="The delivery log: every event sent to an endpoint, and how"),
    retrieve=extend_schema(summary="One delivery with each attempt's answer"),
)
class DeliveryViewSet(AddressFirst, viewsets.ReadOnlyModelViewSet):
    permission_classes = [Staff]
    access = {
        "list": (Scope.WEBHOOKS_MANAGE, "api.view_webhookendpoint"),
        "retrieve": (Scope.WEBHOOKS_MANAGE, "api.view_webhookendpoint"),
        "resend": (Scope.WEBHOOKS_MANAGE, "api.change_webhookendpoint"),
    }
    serializer_class = DeliverySerializer
    queryset = Delivery.objects.select_related("event").prefetch_related(
        Prefetch("tries", queryset=DeliveryAttempt.objects.order_by("pk"))
    )
    filterset_class = filters.DeliveryFilter
    lookup_value_regex = ID

    @extend_schema(
        summary="Send a delivery again (a new day of attempts)",
        request=None,
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        delivery = webhooks.delivery_resend(delivery=self.get_object())
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
