"""Liveness and readiness for load balancers and orchestrators."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import resolve
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage does not
    get every worker restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the cache answer; 503 otherwise."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    ready = all(checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {k: "ok" if v else "fail" for k, v in checks.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("readiness: database check failed")
        return False


def _cache_ok() -> bool:
    try:
        cache.set("readyz", "1", 10)
        return cache.get("readyz") == "1"
    except Exception:
        logger.exception("readiness: cache check failed")
        return False


class HealthCheckMiddleware:
    """Answer /healthz, /readyz and /metrics before Host validation and the https redirect.

    Probes (Docker's HEALTHCHECK, Kubernetes) and Prometheus call the container by its own
    address, a Host that ALLOWED_HOSTS rightly refuses; these views build no URL from the
    Host, and /metrics keeps its own guard (METRICS_TOKEN, METRICS_ALLOWED_IPS).
    """

    PATHS = ("/healthz", "/readyz", "/metrics")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path_info in self.PATHS:
            match = resolve(request.path_info)
            request.resolver_match = match
            return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
