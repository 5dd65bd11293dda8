"""Rate limits on the endpoints worth flooding: token, introspect, revoke, register,
authorize and sign-in.

Each request is counted in fixed windows in the Django cache (Redis in production, shared
by every process): once per client address and, on the token, introspection and revocation
endpoints, once per `client_id` the request names. A window of N requests per P seconds
allows a burst of N and N/P per second on average. Past a limit the answer is 429 with
`Retry-After`: a JSON error on the API endpoints, a page on the others.

Hosted MCP clients (claude.ai) call from one egress range for all of their users and
register a client per connection, so per-address limits are generous, a known client is
counted on its own, and RATELIMIT_TRUSTED_RANGES multiplies both for such ranges.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from ops.errors import oauth_error
from ops.request_log import address_in, basic_client_id, client_ip, parse_address

logger = logging.getLogger(__name__)

# Sent once per key and window when a limit is first crossed (the audit trail records it:
# audit/events.py). Arguments: request, endpoint, key ("ip" or "client"), client_id, limit.
rate_limited = Signal()


# How the client registry (an app above this one) has the entry of the client a request
# names read in the same cache round trip as the counters: `key(client_id)` is the cache key
# to read (None: not this one), `handover(client_id, entry)` a context manager that serves
# the entry to the view. Set once by oauth_clients' AppConfig; unset, nothing is read ahead.
_client_entry: tuple | None = None


def read_client_entries_with_counters(key, handover) -> None:
    global _client_entry
    _client_entry = (key, handover)


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Only paths under these are resolved and looked up in ENDPOINTS.
LIMITED_PREFIXES = ("/oauth/", "/accounts/login/", "/admin/login/")
# Route name → (limit name, methods counted, answered as JSON).
ENDPOINTS = {
    "oauth2_provider:token": ("token", {"POST"}, True),
    "oauth2_provider:introspect": ("introspect", {"GET", "POST"}, True),
    # Every bearer string presented costs a token lookup: counted per address.
    "oauth2_provider:user-info": ("userinfo", {"GET", "POST"}, True),
    "oauth2_provider:revoke-token": ("revoke", {"POST"}, True),
    "oauth2_provider:dcr-register": ("register", {"POST"}, True),
    "oauth2_provider:authorize": ("authorize", {"GET", "POST"}, False),
    "login": ("login", {"POST"}, False),
    "admin:login": ("login", {"POST"}, False),
}
# Counted with a client key as well as the address.
CLIENT_KEYED = {"token", "introspect", "revoke"}
# Tests give every test its own counters; production keeps this one.
KEY_PREFIX = "rl"


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.RATELIMIT_ENABLED:
            return self.get_response(request)
        refused, prefetched = self.check(request)
        if refused is not None:
            return refused
        if prefetched is None:
            return self.get_response(request)
        with _client_entry[1](*prefetched):
            return self.get_response(request)

    def check(self, request: HttpRequest) -> tuple[HttpResponse | None, tuple | None]:
        """The refusal (or None), and the client's cache entry when it was read in the same
        round trip as the counters: (client_id, entry or None)."""
        if not request.path_info.startswith(LIMITED_PREFIXES):
            return None, None
        endpoint = _endpoint(request.path_info)
        if endpoint is None or request.method not in endpoint[1]:
            return None, None
        name, _, as_json = endpoint
        per_address, per_client = settings.RATELIMITS[name]
        address = client_ip(request)
        factor = (
            settings.RATELIMIT_TRUSTED_FACTOR
            if address_in(parse_address(address), settings.RATELIMIT_TRUSTED_RANGES)
            else 1
        )
        client_id = _client_id(request) if name in CLIENT_KEYED else None
        counted = [(per_address, f"ip:{address}")]
        if per_client and client_id:
            digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
            counted.append((per_client, f"client:{digest}"))
        counted = [(rate, f"{name}:{key}") for rate, key in counted if rate is not None]
        # The endpoint will read this client from the cache next: read it in the same trip.
        reads_ahead = _client_entry is not None and client_id and hasattr(cache, "count_and_get")
        prefetch = _client_entry[0](client_id) if reads_ahead else None
        try:
            hits, entry = _hit_all(counted, factor, prefetch)
        except Exception:  # the cache is down: serve unlimited rather than fail every request
            logger.warning("rate limits skipped: the cache is unreachable", exc_info=True)
            return None, None
        prefetched = (client_id, entry) if prefetch else None
        retry_after = max((wait for wait, _ in hits), default=0)
        if not retry_after:
            return None, prefetched
        crossed = [
            (key.split(":")[1], rate) for (rate, key), (_, first) in zip(counted, hits, strict=True) if first
        ]
        for kind, rate in crossed:
            # Once per key and window, not per refused request: a flood must not become a
            # flood of audit rows.
            rate_limited.send(
                RateLimitMiddleware,
                request=request,
                endpoint=name,
                key=kind,
                client_id=client_id if kind == "client" else None,
                limit=f"{rate[0] * factor}/{rate[1]}s",
            )
        # The request log names the endpoint by its route, as for any other answer.
        request.resolver_match = resolve(request.path_info)
        return _refusal(request, as_json, retry_after), None


clock = time.time  # the windows' clock (tests hold it still)

# Path → its ENDPOINTS entry (None: not limited), for the routes without parameters: a
# finite set, so the memo cannot be grown by requests for made-up paths.
_endpoints: dict[str, tuple | None] = {}


def _endpoint(path: str) -> tuple | None:
    try:
        return _endpoints[path]
    except KeyError:
        pass
    try:
        match = resolve(path)
    except Resolver404:
        return None
    endpoint = ENDPOINTS.get(match.view_name)
    if not match.args and not match.kwargs:
        _endpoints[path] = endpoint
    return endpoint


def _hit_all(counted: list, factor: int, prefetch: str | None) -> tuple[list[tuple[int, bool]], object]:
    """Count one request in the current window of each ((limit, period), key): for each,
    (0, False) if within the limit, else the seconds until its window ends and whether
    this is the window's first refusal. With `prefetch` (a cache key), also its value."""
    now = clock()
    windows = [int(now // period) for (_, period), _ in counted]
    counters = [
        (f"{KEY_PREFIX}:{key}:{window}", period + 1)
        for ((_, period), key), window in zip(counted, windows, strict=True)
    ]
    entry = None
    count_and_get = getattr(cache, "count_and_get", None)
    if count_and_get is not None:  # ops.redis_cache.RedisCache: one round trip for all
        counts, values = count_and_get(counters, [prefetch] if prefetch else [])
        entry = values[0] if prefetch else None
    else:
        counts = [_increment(key, timeout) for key, timeout in counters]
    hits = []
    for ((limit, period), _), window, count in zip(counted, windows, counts, strict=True):
        limit *= factor
        if count <= limit:
            hits.append((0, False))
        else:
            hits.append((max(1, math.ceil((window + 1) * period - now)), count == limit + 1))
    return hits, entry


def _increment(key: str, timeout: int) -> int:
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout)
        return 1


def _client_id(request: HttpRequest) -> str | None:
    """The client_id a request names (Basic credentials' user part or the form), unverified:
    its own counter, never a way around the per-address one."""
    if request.headers.get("Authorization", "")[:6].lower() == "basic ":
        return basic_client_id(request)
    if request.content_type == FORM_CONTENT_TYPE:
        return (request.POST.get("client_id") or "")[:200] or None
    return None


def _refusal(request: HttpRequest, as_json: bool, retry_after: int) -> HttpResponse:
    headers = {"Retry-After": str(retry_after)}
    if as_json:
        return oauth_error(
            "slow_down", f"Too many requests; retry in {retry_after} s.", status=429, headers=headers
        )
    response = render(request, "429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = headers["Retry-After"]
    response["Cache-Control"] = "no-store"
    return response
