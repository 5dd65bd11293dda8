"""The refresh-token grace window.

Tokens are hashed at rest, so DOT cannot hand a retrying client the pair it minted a
moment ago. We keep that pair in the cache for ``REFRESH_TOKEN_GRACE_SECONDS``, encrypted
with a key derived from ``SECRET_KEY`` and filed under the checksum of the refresh token
it replaced. After the window the entry is gone and a reused refresh token revokes its
whole family (DOT's REFRESH_TOKEN_REUSE_PROTECTION).
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.cache import cache

_PAIR_FIELDS = ("access_token", "refresh_token", "expires_in", "scope", "id_token", "token_type")


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"refresh-grace:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _key(old_checksum: str) -> str:
    return f"refresh-grace:{old_checksum}"


def remember(old_checksum: str, client_id: str, token: dict) -> None:
    if settings.REFRESH_TOKEN_GRACE_SECONDS <= 0:
        return
    pair = {field: token[field] for field in _PAIR_FIELDS if field in token}
    payload = json.dumps({"client_id": client_id, "token": pair}).encode()
    cache.set(_key(old_checksum), _fernet().encrypt(payload), settings.REFRESH_TOKEN_GRACE_SECONDS)


def lookup(old_checksum: str) -> dict | None:
    if settings.REFRESH_TOKEN_GRACE_SECONDS <= 0:
        return None
    blob = cache.get(_key(old_checksum))
    if blob is None:
        return None
    try:
        data = json.loads(_fernet().decrypt(blob, ttl=settings.REFRESH_TOKEN_GRACE_SECONDS))
    except InvalidToken:
        return None
    data["scope"] = data["token"].get("scope", "").split()
    return data


def apply(token: dict, replay: dict) -> None:
    """Make oauthlib's freshly generated response carry the pair issued the first time."""
    for field in _PAIR_FIELDS:
        token.pop(field, None)
    token.update(replay["token"])
