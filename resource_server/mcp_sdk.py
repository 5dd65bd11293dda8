"""Adapter for the MCP Python SDK's server auth (``mcp.server.auth``).

The SDK is imported lazily, so the rest of the kit works without it installed::

    verifier = build_verifier(config)
    server = MCPServer("demo", token_verifier=MCPTokenVerifier(verifier),
                       auth=mcp_auth_settings(config, required_scopes=["mcp:tools"]))
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .config import ResourceServerConfig, resource_matches
from .errors import InvalidToken, TemporarilyUnavailable
from .verify import TokenInfo, Verifier

if TYPE_CHECKING:  # the SDK is optional: import it for type checkers only
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings

logger = logging.getLogger("resource_server")


class MCPTokenVerifier:
    """Implements ``mcp.server.auth.provider.TokenVerifier`` on top of a kit :class:`Verifier`.

    The SDK's protocol can only say "valid" or "not valid", so an unreachable AS yields
    ``None`` (a 401: fail closed). Set ``raise_on_unavailable`` to let the exception through
    instead, or wrap the app in :class:`~resource_server.asgi.BearerAuthMiddleware`, which
    answers 503. A ``ConfigurationError`` always propagates: it needs fixing, not retrying.
    """

    def __init__(self, verifier: Verifier, *, raise_on_unavailable: bool = False) -> None:
        self.verifier = verifier
        self.raise_on_unavailable = raise_on_unavailable

    async def verify_token(self, token: str) -> AccessToken | None:
        """Return an ``mcp`` ``AccessToken`` for a valid token, else ``None``."""
        try:
            info = await self.verifier.averify(token)
        except InvalidToken as exc:
            logger.info("token rejected: %s", exc)
            return None
        except TemporarilyUnavailable as exc:
            logger.warning("token not verified, authorization server unavailable: %s", exc)
            if self.raise_on_unavailable:
                raise
            return None
        return to_access_token(token, info, self.verifier.config)


def to_access_token(token: str, info: TokenInfo, config: ResourceServerConfig) -> AccessToken:
    """Convert a :class:`TokenInfo` to the installed SDK's ``AccessToken``.

    Only fields the installed SDK version defines are passed (``resource``, ``subject`` and
    ``claims`` arrived in later releases).
    """
    from mcp.server.auth.provider import AccessToken

    claims = dict(info.claims)
    # The SDK identifies a principal by (client_id, iss, sub); we trust exactly one issuer.
    claims.setdefault("iss", config.issuer)
    values: dict[str, Any] = {
        "token": token,
        "client_id": info.client_id or "",
        "scopes": sorted(info.scopes),
        "expires_at": info.expires_at,
        # The audience entry that names this RS, which the SDK compares with resource_server_url.
        "resource": next((a for a in info.audience if resource_matches(a, config.resource)), None),
        "subject": info.subject,
        "claims": claims,
    }
    fields = getattr(AccessToken, "model_fields", None) or values
    return AccessToken(**{name: value for name, value in values.items() if name in fields})


def mcp_auth_settings(
    config: ResourceServerConfig, *, required_scopes: Iterable[str] | None = None, **extra: Any
) -> AuthSettings:
    """``mcp.server.auth.settings.AuthSettings`` for an RS that trusts ``config.issuer``."""
    from mcp.server.auth.settings import AuthSettings

    values: dict[str, Any] = {
        "issuer_url": config.issuer,
        "resource_server_url": config.resource,
        "required_scopes": list(required_scopes) if required_scopes is not None else None,
        # Our verifier already checks `aud`; this makes the SDK check it a second time.
        "validate_token_resource": True,
    }
    values.update(extra)
    fields = getattr(AuthSettings, "model_fields", None) or values
    return AuthSettings(**{name: value for name, value in values.items() if name in fields})
