"""Clients by client_id, cached: every token request reads one, admins rarely change one.

The Django cache is shared by all workers when REDIS_URL is set (otherwise per process).
Saving or deleting a client drops its entry; entries also expire after
CLIENT_CACHE_SECONDS, which bounds staleness for anything written around the ORM.

The rate limiter reads the entry of the client a request names in the same Redis round
trip as its counters (ops/ratelimits.py) and hands it over with `prefetched`: the
request's first `get` of that client is then answered without another round trip.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from oauth2_provider.models import get_application_model

Client = get_application_model()


MAX_CLIENT_ID_LENGTH = Client._meta.get_field("client_id").max_length
# (client_id, entry or None) read for the current request, until its first `get`.
_prefetched: ContextVar[tuple | None] = ContextVar("client_cache_prefetched", default=None)


def key(client_id: str) -> str:
    return f"client:{client_id}"


def get(client_id: str):
    if settings.CLIENT_CACHE_SECONDS <= 0:
        return None
    prefetched = _prefetched.get()
    if prefetched is not None and prefetched[0] == client_id:
        # Once: a later read in the same request sees what the request itself changed.
        _prefetched.set(None)
        return prefetched[1]
    return cache.get(key(client_id))


def could_name_a_client(client_id: str) -> bool:
    """False for a client_id no client has: too long, or with a NUL (which PostgreSQL
    cannot even compare)."""
    return len(client_id) <= MAX_CLIENT_ID_LENGTH and "\x00" not in client_id


def prefetch_key(client_id: str) -> str | None:
    """The key the limiter reads with its counters for this client (ops/ratelimits.py),
    or None: caching off, or a client_id that could name no client."""
    if settings.CLIENT_CACHE_SECONDS > 0 and could_name_a_client(client_id):
        return key(client_id)
    return None


@contextmanager
def prefetched(client_id: str, entry):
    token = _prefetched.set((client_id, entry))
    try:
        yield
    finally:
        _prefetched.reset(token)


def put(client) -> None:
    # Metadata-document clients are re-validated by DOT on load; never serve them from here.
    if settings.CLIENT_CACHE_SECONDS > 0 and client.registration_source != "cimd":
        cache.set(key(client.client_id), client, settings.CLIENT_CACHE_SECONDS)


def forget(client_id: str) -> None:
    prefetched = _prefetched.get()
    if prefetched is not None and prefetched[0] == client_id:
        _prefetched.set(None)
    cache.delete(key(client_id))


def _on_change(sender, instance, **kwargs) -> None:
    forget(instance.client_id)


post_save.connect(_on_change, sender=Client, dispatch_uid="client-cache-save")
post_delete.connect(_on_change, sender=Client, dispatch_uid="client-cache-delete")
