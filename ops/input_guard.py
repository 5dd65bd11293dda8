"""Requests no endpoint can serve, refused before a view sees them.

PostgreSQL text cannot hold NUL (a 500 when a lookup or an insert meets one), and Django
answers an oversized or over-long form with its HTML 400 page. On the API endpoints both
become the JSON errors their RFCs define (RFC 6749 §5.2, RFC 7591 §3.2.2); on the pages a
person sees, Django's 400 page. The authorization endpoint is left to its view, which must
decide between a redirect and an error page (RFC 6749 §4.1.2.1).
"""

import base64
import binascii
import json
from urllib.parse import unquote_plus

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.views.defaults import bad_request

from ops.errors import API_PREFIXES, oauth_error

AUTHORIZE_PATHS = ("/oauth/authorize", "/oauth/authorize/")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
UTF8 = ("utf-8", "utf8")


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in AUTHORIZE_PATHS:
            # Its view answers NUL bytes per RFC 6749 §4.1.2.1; a body or query that cannot
            # even be read gets Django's 400 page instead of a 500.
            problem = _unreadable(request)
            return (
                self.get_response(request)
                if problem is None
                else bad_request(request, SuspiciousOperation(problem))
            )
        api = request.path.startswith(API_PREFIXES)
        # Pages read their parameters through forms, whose fields refuse NUL themselves.
        problem = (
            _problem(request)
            if api
            else ("\x00" in request.path and "NUL in the path") or _unreadable(request)
        )
        if not problem:
            return self.get_response(request)
        if api:
            error = (
                "invalid_client_metadata" if request.path.startswith("/oauth/register") else "invalid_request"
            )
            return oauth_error(error, problem)
        return bad_request(request, SuspiciousOperation(problem))


def _unreadable(request: HttpRequest) -> str | None:
    """Why the query string or form body cannot be parsed, or None."""
    if (
        request.content_type in FORM_TYPES
        and request.content_params.get("charset", "utf-8").lower() not in UTF8
    ):
        return "Form bodies must be UTF-8 (RFC 6749 Appendix B)."
    try:
        request.GET  # noqa: B018 (parses the query string)
        if request.method == "POST" and request.content_type in FORM_TYPES:
            request.POST  # noqa: B018
    except RequestDataTooBig:
        return "The request body is too large."
    except (SuspiciousOperation, UnicodeDecodeError, LookupError, ValueError):
        # Too many fields, a malformed multipart body, an undecodable one.
        return "The request body could not be read."
    return None


def _problem(request: HttpRequest) -> str | None:
    """Why this request cannot be served, or None."""
    if "\x00" in request.path:
        return "The path must not contain NUL."
    if problem := _unreadable(request):
        return problem
    fields = [*request.GET.lists()]
    if request.method == "POST" and request.content_type in FORM_TYPES:
        fields += request.POST.lists()
    if any(_has_nul(key) or any(_has_nul(value) for value in values) for key, values in fields):
        return "Parameters must not contain NUL."
    if request.content_type == "application/json" and request.method in ("POST", "PUT", "PATCH"):
        try:
            body = request.body
        except RequestDataTooBig:
            return "The request body is too large."
        try:
            document = json.loads(body)
        except ValueError:
            return None  # the view says what is wrong with it
        if _json_has_nul(document):
            return "JSON strings must not contain NUL."
    if _has_nul(_basic_user(request)):
        return "Credentials must not contain NUL."
    return None


def _has_nul(value) -> bool:
    return isinstance(value, str) and "\x00" in value


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_json_has_nul(key) or _json_has_nul(item) for key, item in value.items())
    return False


def _basic_user(request: HttpRequest) -> str | None:
    """The client_id and secret of HTTP Basic credentials, form-decoded (RFC 6749 §2.3.1)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return unquote_plus(base64.b64decode(encoded.strip()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
