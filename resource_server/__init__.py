"""Trust access tokens from our OAuth 2.1 authorization server in an MCP server (the RS).

Protect your MCP server in five lines::

    from resource_server import BearerAuthMiddleware, ResourceServerConfig, build_verifier

    config = ResourceServerConfig(issuer="https://auth.example.com", resource="https://mcp.example.com/mcp")
    verifier = build_verifier(config)  # mode="auto": JWTs locally, opaque tokens by introspection
    app = BearerAuthMiddleware(mcp_asgi_app, verifier, required_scopes=["mcp:tools"])

The middleware serves ``/.well-known/oauth-protected-resource/mcp`` (RFC 9728), answers 401/403
with RFC 6750 challenges pointing at it, 503 while the AS is unreachable, and hands the app a
:class:`TokenInfo` in ``scope["auth"]``. ``tool_scopes={"add_note": ["mcp:write"]}`` adds
per-tool scopes: a ``tools/call`` without them gets one 403 naming every scope it needs.
``examples/mcp_server`` is a complete server built this way. With the MCP Python SDK, pass
``MCPTokenVerifier(verifier)`` as its ``token_verifier`` instead (see :mod:`.mcp_sdk`).

Without a framework: ``info = verifier.verify(token)`` (or ``await verifier.averify(token)``),
then ``require_scopes(info, ["mcp:tools"])``; both raise the exceptions below.
"""

from .asgi import BearerAuthMiddleware
from .challenges import bearer_challenge, error_response
from .compat import AuthServerRedirects
from .config import ResourceServerConfig
from .errors import (
    ConfigurationError,
    InsufficientScope,
    InvalidToken,
    ResourceServerError,
    TemporarilyUnavailable,
)
from .mcp_sdk import MCPTokenVerifier, mcp_auth_settings
from .prm import metadata_path, protected_resource_metadata
from .verify import (
    AutoVerifier,
    IntrospectionVerifier,
    JWTVerifier,
    TokenInfo,
    UserinfoVerifier,
    Verifier,
    build_verifier,
    require_scopes,
)

__all__ = [
    "AuthServerRedirects",
    "AutoVerifier",
    "BearerAuthMiddleware",
    "ConfigurationError",
    "InsufficientScope",
    "IntrospectionVerifier",
    "InvalidToken",
    "JWTVerifier",
    "MCPTokenVerifier",
    "ResourceServerConfig",
    "ResourceServerError",
    "TemporarilyUnavailable",
    "TokenInfo",
    "UserinfoVerifier",
    "Verifier",
    "bearer_challenge",
    "build_verifier",
    "error_response",
    "mcp_auth_settings",
    "metadata_path",
    "protected_resource_metadata",
    "require_scopes",
]
