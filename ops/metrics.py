"""Prometheus metrics (prometheus-client) and the protected `/metrics` view.

Under gunicorn, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the workers
so that every worker's counts are added up (gunicorn.conf.py cleans up after a worker).
"""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "authserver_http_requests",
    "HTTP requests by endpoint, method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "authserver_http_request_duration_seconds",
    "Time to answer a request, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TOKENS_ISSUED = Counter("authserver_tokens_issued", "Tokens issued at /oauth/token, by grant", ["grant_type"])
CLIENT_REGISTRATIONS = Counter("authserver_client_registrations", "Clients registered through DCR (RFC 7591)")
RATE_LIMITED = Counter("authserver_rate_limited", "Requests refused with 429, by endpoint", ["endpoint"])
LOGIN_FAILURES = Counter("authserver_login_failures", "Failed sign-ins")

TOKEN_ENDPOINT = "oauth2_provider:token"  # noqa: S105 (a route name)
REGISTRATION_ENDPOINT = "oauth2_provider:dcr-register"


def observe(request: HttpRequest, endpoint: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, request.method, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)
    if status == 429:
        RATE_LIMITED.labels(endpoint).inc()
    elif endpoint == TOKEN_ENDPOINT and status == 200:
        TOKENS_ISSUED.labels(_form_value(request, "grant_type") or "unknown").inc()
    elif endpoint == REGISTRATION_ENDPOINT and status == 201:
        CLIENT_REGISTRATIONS.inc()


def _form_value(request: HttpRequest, name: str) -> str | None:
    try:
        return request.POST.get(name)
    except Exception:  # an unreadable body was already answered by the view
        return None


@receiver(user_login_failed)
def count_login_failure(sender, credentials=None, request=None, **kwargs) -> None:
    LOGIN_FAILURES.inc()


def metrics_allowed(request: HttpRequest) -> bool:
    """METRICS_TOKEN as a bearer token, or a client address in METRICS_ALLOWED_IPS."""
    if settings.METRICS_TOKEN:
        presented = request.headers.get("Authorization", "")
        if hmac.compare_digest(presented.encode(), f"Bearer {settings.METRICS_TOKEN}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    registry = REGISTRY
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
