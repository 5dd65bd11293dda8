"""RFC 7591 §3 initial access tokens: with DCR_MODE=token, only their holders may register.

An admin issues one (admin or `createinitialaccesstoken`); it is shown once, stored as a
SHA-256 checksum, expires, and may be limited to a number of registrations.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from oauth_clients.models import InitialAccessToken


def _checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def create_initial_access_token(
    name: str, expires_in: timedelta, max_uses: int | None = None, created_by=None
) -> tuple[InitialAccessToken, str]:
    """Issue a token; returns the row and the plaintext, which is never stored."""
    if expires_in <= timedelta(0):
        raise ValueError("expires_in must be positive")
    if max_uses is not None and max_uses < 1:
        raise ValueError("max_uses must be at least 1")
    raw = InitialAccessToken.PREFIX + secrets.token_urlsafe(32)
    token = InitialAccessToken.objects.create(
        name=name,
        token_checksum=_checksum(raw),
        expires=timezone.now() + expires_in,
        max_uses=max_uses,
        created_by=created_by,
    )
    return token, raw


def spend_initial_access_token(raw: str) -> bool:
    """Count one registration against `raw`; False if it is unknown, expired, revoked or used up.

    One conditional UPDATE: two registrations racing for a single-use token cannot both
    win. Run it inside the registration's transaction so a refused registration gives the
    use back.
    """
    now = timezone.now()
    return bool(
        InitialAccessToken.objects.filter(
            token_checksum=_checksum(raw), revoked_at__isnull=True, expires__gt=now
        )
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .update(uses=F("uses") + 1, last_used_at=now)
    )
