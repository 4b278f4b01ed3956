"""The OpenAPI schema: drf-spectacular's, with the error answers every operation can give."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema

ERROR_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string", "nullable": True},
                },
            },
        }
    },
}
ERRORS = {
    "400": "The request is not valid: each error names its field.",
    "401": "No token, or one that is revoked, expired or mistyped.",
    "403": "The token or account may not do this.",
    "404": "No such record, or not one this caller can see.",
    "405": "This method is not allowed here.",
    "406": "The Accept header asks for something other than JSON.",
    "413": "The request body is larger than this API reads.",
    "415": "The body's content type is not one this operation reads.",
    "429": "Too many requests: wait the seconds in Retry-After.",
}


class AutoSchema(BaseAutoSchema):
    pass


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token (cspo_pat_…: the holder's own records) or an "
            "integration token (cspo_int_…: staff routes, by scope).",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def error_responses(result, generator, request, public):
    """Add the JSON error answers to every operation, and 304 to every read (ETags)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    retry_after = {
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
    }
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, text in ERRORS.items():
                answer = {
                    "description": text,
                    "content": {"application/json": {"schema": reference}},
                }
                if code == "429":
                    answer["headers"] = retry_after
                responses.setdefault(code, answer)
            if method == "get":
                responses.setdefault("304", {"description": "Not modified (If-None-Match)."})
    return result
