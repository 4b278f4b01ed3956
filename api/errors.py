"""Every API error as JSON: {"errors": [{"code", "message", "field"}]}, with the services'
own messages (the ones the pages show). `field` is the request field at fault (dotted for
nested ones: "allocations.0.hours"), or null."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from credentials.accounts import RateLimited

logger = logging.getLogger(__name__)
NOT_FOUND = _("Not found: no such record, or not one you can see.")
SERVER_ERROR = _("Something went wrong on our side; it was logged. Try again later.")
NON_FIELD = {"non_field_errors", "__all__", "detail"}
REQUEST_REFUSED = _("The request has too many fields or parameters to be read.")
TOO_DEEP = _("The JSON body is nested too deeply to be read.")


class TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = _("The request body is larger than this API reads.")
    default_code = "too_large"


def _flatten(details, field: str | None = None) -> list[dict]:
    """DRF's full error details (dicts by field, lists by position) as a flat list."""
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        return [{"code": str(details["code"]), "message": str(details["message"]), "field": field}]
    if isinstance(details, dict):
        found = []
        for key, value in details.items():
            name = None if key in NON_FIELD else (f"{field}.{key}" if field else str(key))
            found += _flatten(value, name if key not in NON_FIELD else field)
        return found
    if isinstance(details, list):
        found = []
        for index, value in enumerate(details):
            nested = isinstance(value, (dict, list)) and not (
                isinstance(value, dict) and set(value) == {"message", "code"}
            )
            found += _flatten(value, f"{field}.{index}" if nested and field else field)
        return found
    return [{"code": "invalid", "message": str(details), "field": field}]


def error_body(errors: list[dict]) -> dict:
    return {"errors": errors}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RateLimited):
        exc = exceptions.Throttled(wait=exc.minutes * 60, detail=str(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = TooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields, and the like
        exc = exceptions.ParseError(REQUEST_REFUSED)
    elif isinstance(exc, RecursionError):  # JSON nested deeper than Python reads
        exc = exceptions.ParseError(TOO_DEEP)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("API error", exc_info=exc)
        return Response(
            error_body([{"code": "server_error", "message": str(SERVER_ERROR), "field": None}]),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.APIException):
        details = exc.get_full_details()
        # DRF's own "Not found." (in the active language) gets ours.
        if isinstance(exc, exceptions.NotFound) and str(exc.detail) == str(
            exceptions.NotFound.default_detail
        ):
            details = {"message": str(NOT_FOUND), "code": "not_found"}
        response.data = error_body(_flatten(details))
    return response


@csrf_exempt  # nothing is changed here: a POST to no route is a JSON 404, not a CSRF page
def not_found(request, *args, **kwargs):
    """Any /api/ address that is no route: JSON, like every other API error."""
    return JsonResponse(
        error_body([{"code": "not_found", "message": str(NOT_FOUND), "field": None}]), status=404
    )


def _json_for_api(code: str, message: str, status: int, fallback):
    def handler(request, *args, **kwargs):
        if request.path.startswith("/api/"):
            body = error_body([{"code": code, "message": str(message), "field": None}])
            return JsonResponse(body, status=status)
        return fallback(request, *args, **kwargs)

    return handler


# The project's error pages, in JSON under /api/ (a refused Host header, an error before any
# API view ran), as the pages' own elsewhere.
bad_request = _json_for_api(
    "bad_request", _("The request could not be read."), 400, defaults.bad_request
)
server_error = _json_for_api("server_error", SERVER_ERROR, 500, defaults.server_error)
