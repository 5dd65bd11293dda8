"""One log line per request: request id, endpoint, client_id, status, duration.

Never the query string, a body, a header value or a token: `client_id` is read from the
form or the Basic credentials' user part, never the secret. Lines are JSON unless DEBUG
is on (see LOGGING in settings). Every other log record written while the request runs
carries its request id too, and passes RedactSecretsFilter: Django's own records (the
`request` of django.request, runserver's request line) would otherwise write URLs whose
query carries tokens, codes or secrets.
"""

import base64
import binascii
import contextvars
import logging
import re
import time
import uuid
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from ops import metrics

logger = logging.getLogger("authserver.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get()
        return True


# Query and form parameters whose values are credentials (RFC 6749, 6750, 7009, 7523, 7591,
# 7662, OIDC Core): a URL written to a log keeps their names, never their values.
SECRET_PARAMS = (
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "assertion",
    "token",
    "registration_access_token",
    "password",
)
_NAMES = "|".join(SECRET_PARAMS)
# In a query string (`code=...`), and in the dict reprs oauthlib logs at DEBUG (`'code': '...'`).
_SECRET_PARAM = re.compile(r"(?<![A-Za-z0-9_.-])(" + _NAMES + r")=[^&\s'\"#]*", re.IGNORECASE)
_SECRET_ITEM = re.compile(r"(['\"](?:" + _NAMES + r")['\"]:\s*)(['\"])[^'\"]*\2", re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET_ITEM.sub(r"\1'[redacted]'", _SECRET_PARAM.sub(r"\1=[redacted]", text))


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            # The JSON formatter writes extras with str(): a WSGIRequest's repr is its full URL.
            record.request = f"{request.method} {request.path}"
        try:
            message = record.getMessage()
        except Exception:  # a broken format: the handler reports it, a filter must not raise
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        reset = _request_id.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration = time.perf_counter() - started
            endpoint = _endpoint(request)
            metrics.observe(request, endpoint, response.status_code, duration)
            response[REQUEST_ID_HEADER] = request.request_id
            logger.info(
                "%s %s %s",
                request.method,
                endpoint,
                response.status_code,
                extra={
                    "event": "request",
                    "method": request.method,
                    "endpoint": endpoint,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration * 1000, 2),
                    "client_id": client_id_of(request),
                },
            )
            return response
        finally:
            _request_id.reset(reset)


def _endpoint(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    # The route's name, never the raw path: one label per endpoint, not per URL.
    return match.view_name if match and match.url_name else "unmatched"


def client_id_of(request: HttpRequest) -> str | None:
    for source in (request.GET, _post(request)):
        value = source.get("client_id")
        if value:
            return value[:200]
    return basic_client_id(request)


def basic_client_id(request: HttpRequest) -> str | None:
    """The client_id of HTTP Basic client credentials, unverified (None without them)."""
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    # RFC 6749 §2.3.1: the user part is the form-encoded client_id.
    return unquote_plus(decoded.split(":", 1)[0])[:200] or None


def client_ip(request: HttpRequest) -> str:
    """The client's address (see client_address); also django-axes' AXES_CLIENT_IP_CALLABLE."""
    return client_address(request.META)


def client_address(meta) -> str:
    """The client's address: REMOTE_ADDR, or, when that is one of TRUSTED_PROXIES, the
    rightmost X-Forwarded-For entry that is not a trusted proxy (entries further left were
    written by the client and prove nothing). `meta` is a request's META (or the copy of it
    that DOT hands oauthlib as headers)."""
    remote = meta.get("REMOTE_ADDR", "")
    if not settings.TRUSTED_PROXIES or not address_in(parse_address(remote), settings.TRUSTED_PROXIES):
        return remote
    client = remote
    for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = parse_address(hop.strip())
        if address is None:
            break
        client = str(address)
        if not address_in(address, settings.TRUSTED_PROXIES):
            break
    return client


@lru_cache(maxsize=4096)
def parse_address(value: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(value)
    except ValueError:
        return None


def address_in(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def _post(request: HttpRequest):
    try:
        return request.POST
    except Exception:
        return {}
