"""One log line per request: request id, endpoint, client_id, status, duration.

Never the query string, a body, a header value or a token: `client_id` is read from the
form or the Basic credentials' user part, never the secret. Lines are JSON unless DEBUG
is on (see LOGGING in settings). Every other log record written while the request runs
carries its request id too.
"""

import base64
import binascii
import contextvars
import logging
import re
import time
import uuid
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse

from authserver import metrics

logger = logging.getLogger("authserver.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get()
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
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        # RFC 6749 §2.3.1: the user part is the form-encoded client_id.
        return unquote_plus(decoded.split(":", 1)[0])[:200] or None
    return None


def _post(request: HttpRequest):
    try:
        return request.POST
    except Exception:
        return {}
