"""Service API keys (seeds 000, 003, 004's "static bearer token" mode), as DOT access tokens."""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, set_token_value

from oauth_clients import policy
from oauth_clients.models import ApiKey
from oauth_clients.scopes import allowed_scopes

logger = logging.getLogger(__name__)

AccessToken = get_access_token_model()


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_api_key_request(client, scopes: list[str], resource: list[str], expires_in: timedelta) -> None:
    if not scopes:
        raise policy.ValidationError("Choose at least one scope.")
    policy.validate_scopes(scopes)
    not_allowed = sorted(set(scopes) - set(allowed_scopes(client)))
    if not_allowed:
        raise policy.ValidationError(f"Scopes not allowed for this client: {', '.join(not_allowed)}.")
    policy.validate_resources(resource)
    if expires_in <= timedelta(0):
        raise policy.ValidationError("An API key must expire in the future.")


@transaction.atomic
def create_api_key(
    client,
    *,
    name: str,
    scopes: list[str],
    expires_in: timedelta,
    resource: list[str] = (),
    user=None,
    created_by=None,
) -> tuple[ApiKey, str]:
    """Issue a key; the plaintext is returned here, once, and stored only as a checksum."""
    validate_api_key_request(client, scopes, list(resource), expires_in)
    raw = ApiKey.PREFIX + secrets.token_urlsafe(32)
    expires = timezone.now() + expires_in
    token = AccessToken(
        user=user, application=client, scope=" ".join(scopes), expires=expires, resource=list(resource)
    )
    set_token_value(token, raw)
    token.save()
    key = ApiKey.objects.create(
        name=name,
        client=client,
        user=user,
        access_token=token,
        token_checksum=token.token_checksum,
        scope=token.scope,
        resource=" ".join(resource),
        expires=expires,
        created_by=created_by,
    )
    logger.info("api key created", extra={"client_id": client.client_id, "api_key_id": key.pk})
    return key, raw


def revoke_api_key(key: ApiKey) -> None:
    if key.access_token_id:
        AccessToken.objects.filter(pk=key.access_token_id).delete()
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now(), access_token=None)
    logger.info("api key revoked", extra={"api_key_id": key.pk})


def note_use(raw_token: str) -> None:
    """Record the last use of an API key; free for every other token (prefix check only)."""
    if raw_token.startswith(ApiKey.PREFIX):
        ApiKey.objects.filter(token_checksum=_checksum(raw_token)).update(last_used_at=timezone.now())
