"""A database outage answers 503 (retry later), not 500 (a bug).

When PostgreSQL restarts, fails over or refuses connections, every request that touches it
raises OperationalError or InterfaceError. API clients get RFC 6749 §5.2-shaped JSON
(`temporarily_unavailable`, the code RFC 6749 §4.1.2.1 gives this situation) with
`Retry-After`; people get a short page. One warning line per process every few seconds says
the database is down, without a traceback per request.

Django drops the broken connection at the end of the request (the error marks it, and
`close_old_connections` closes an unusable one), and CONN_HEALTH_CHECKS makes a reused
connection prove itself first: the next request after the outage reconnects on its own.
"""

import logging
import sys
import threading
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

from ops.errors import API_PREFIXES, oauth_error

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
BROWSER_PATHS = ("/oauth/authorize",)
LOG_EVERY_SECONDS = 10.0

_log_lock = threading.Lock()
_last_logged = 0.0
_unlogged = 0


def is_api_request(request: HttpRequest) -> bool:
    path = request.path_info
    return path.startswith(API_PREFIXES) and not path.startswith(BROWSER_PATHS)


def outage_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    _log_outage(request, error)
    if is_api_request(request):
        response = oauth_error(
            "temporarily_unavailable",
            "The server cannot reach its database; retry in a few seconds.",
            status=503,
        )
    else:
        page = loader.get_template("503.html").render()
        response = HttpResponse(page, status=503)
        response["Cache-Control"] = "no-store"
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Django logs every 5xx as an ERROR; the warning above (and the request log line) say
    # it once, instead of one error per request while the database is down.
    response._has_been_logged = True
    return response


def _log_outage(request: HttpRequest, error: BaseException) -> None:
    global _last_logged, _unlogged
    with _log_lock:
        now = time.monotonic()
        if now - _last_logged < LOG_EVERY_SECONDS:
            _unlogged += 1
            return
        skipped, _unlogged, _last_logged = _unlogged, 0, now
    # The first line of the driver's message (host and port, never a password).
    reason = (str(error).strip().splitlines() or [""])[0]
    logger.warning(
        "database unavailable, answering 503: %s: %s",
        type(error).__name__,
        reason,
        extra={"event": "database_unavailable", "path": request.path, "similar_unlogged": skipped},
    )


class DatabaseOutageMiddleware:
    """Turn a database connection error raised by a view into a 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            return outage_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the same 503 for a database error raised outside a view (a middleware
    saving the session), Django's 500 page for anything else."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return outage_response(request, error)
    return defaults.server_error(request)
