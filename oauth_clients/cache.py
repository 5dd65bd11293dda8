"""Clients by client_id, cached: every token request reads one, admins rarely change one.

The Django cache is shared by all workers when REDIS_URL is set (otherwise per process).
Saving or deleting a client drops its entry; entries also expire after
CLIENT_CACHE_SECONDS, which bounds staleness for anything written around the ORM.
"""

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from oauth2_provider.models import get_application_model

Client = get_application_model()


def _key(client_id: str) -> str:
    return f"client:{client_id}"


def get(client_id: str):
    if settings.CLIENT_CACHE_SECONDS <= 0:
        return None
    return cache.get(_key(client_id))


def put(client) -> None:
    # Metadata-document clients are re-validated by DOT on load; never serve them from here.
    if settings.CLIENT_CACHE_SECONDS > 0 and client.registration_source != "cimd":
        cache.set(_key(client.client_id), client, settings.CLIENT_CACHE_SECONDS)


def forget(client_id: str) -> None:
    cache.delete(_key(client_id))


def _on_change(sender, instance, **kwargs) -> None:
    forget(instance.client_id)


post_save.connect(_on_change, sender=Client, dispatch_uid="client-cache-save")
post_delete.connect(_on_change, sender=Client, dispatch_uid="client-cache-delete")
