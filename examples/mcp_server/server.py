"""An MCP server protected by this authorization server, through the resource-server kit.

Three tools, each with the scopes it needs (seed 002 style):

    whoami      mcp:tools              who the token's user is
    list_notes  mcp:tools              read the notes
    add_note    mcp:tools + mcp:write  change them

Run it (the authorization server on http://127.0.0.1:8000, see README "Protect your MCP
server")::

    python -m examples.mcp_server.server

Environment (all optional):

    AUTH_ISSUER          the authorization server's issuer   http://127.0.0.1:8000
    MCP_RESOURCE         this server's URL, the tokens' aud  http://127.0.0.1:8001/mcp
    MCP_VALIDATION_MODE  jwt | introspection | userinfo      jwt
    MCP_CLIENT_ID, MCP_CLIENT_SECRET   this server's confidential client (introspection)

``jwt`` validates tokens locally against the JWKS; ``introspection`` asks the authorization
server about each token (revocation takes effect within seconds); ``userinfo`` only learns
who the user is: it cannot see scopes or audience, so there the read tools are open to any
live token of this authorization server and the write tool is refused.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mcp.server.mcpserver import Context, MCPServer

from resource_server import (
    AuthServerRedirects,
    BearerAuthMiddleware,
    ResourceServerConfig,
    TokenInfo,
    build_verifier,
)

logger = logging.getLogger("examples.mcp_server")

READ_SCOPES = ("mcp:tools",)
TOOL_SCOPES = {"add_note": ("mcp:write",)}  # on top of READ_SCOPES


@dataclass
class Settings:
    issuer: str = "http://127.0.0.1:8000"
    resource: str = "http://127.0.0.1:8001/mcp"
    mode: str = "jwt"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            issuer=os.environ.get("AUTH_ISSUER", cls.issuer),
            resource=os.environ.get("MCP_RESOURCE", cls.resource),
            mode=os.environ.get("MCP_VALIDATION_MODE", cls.mode),
            client_id=os.environ.get("MCP_CLIENT_ID") or None,
            client_secret=os.environ.get("MCP_CLIENT_SECRET") or None,
        )


def token_info(ctx: Context) -> TokenInfo:
    """What the kit's middleware learned about the caller's token."""
    return ctx.request_context.request.scope["auth"]


def build_mcp_server() -> MCPServer:
    server = MCPServer("notes", instructions="A notebook shared by the users of this server.")
    notes: list[dict[str, str]] = []

    @server.tool()
    def whoami(ctx: Context) -> dict:
        """The signed-in user and the scopes the token grants."""
        info = token_info(ctx)
        return {"sub": info.subject, "client_id": info.client_id, "scopes": sorted(info.scopes)}

    @server.tool()
    def list_notes() -> list[dict[str, str]]:
        """Every note, oldest first."""
        return list(notes)

    @server.tool()
    def add_note(text: str, ctx: Context) -> dict[str, str]:
        """Add a note (needs the mcp:write scope)."""
        note = {"author": token_info(ctx).subject or "", "text": text}
        notes.append(note)
        return note

    return server


def build_app(settings: Settings | None = None, **config_options):
    """The ASGI app: the MCP endpoint behind the kit, plus the compatibility redirects.

    ``config_options`` go to :class:`ResourceServerConfig` (cache lifetimes, leeway...)."""
    settings = settings or Settings.from_env()
    config = ResourceServerConfig(
        issuer=settings.issuer,
        resource=settings.resource,
        mode=settings.mode,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes_supported=(*READ_SCOPES, *TOOL_SCOPES["add_note"]),
        resource_name="Notes (example MCP server)",
        **config_options,
    )
    verifier = build_verifier(config)
    if settings.mode == "userinfo":
        # userinfo tells who the user is, not what the token allows: read tools for any
        # live token, and the write tool refused (no scope can be proven).
        logger.warning("userinfo mode: scopes cannot be checked; add_note is refused")
        required, tool_scopes = (), {"add_note": ("mcp:tools", "mcp:write")}
    else:
        required, tool_scopes = READ_SCOPES, TOOL_SCOPES
    mcp_app = build_mcp_server().streamable_http_app(
        streamable_http_path=urlsplit(settings.resource).path or "/mcp",
        stateless_http=True,
        json_response=True,
        host=urlsplit(settings.resource).hostname or "127.0.0.1",
    )
    protected = BearerAuthMiddleware(mcp_app, verifier, required_scopes=required, tool_scopes=tool_scopes)
    return AuthServerRedirects(protected, verifier)


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    settings = Settings.from_env()
    parts = urlsplit(settings.resource)
    uvicorn.run(build_app(settings), host=parts.hostname or "127.0.0.1", port=parts.port or 8001)


if __name__ == "__main__":
    main()
