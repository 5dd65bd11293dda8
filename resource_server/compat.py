"""Optional redirects from AS paths on the MCP server to the real AS.

Clients written against the 2025-03-26 MCP spec look for ``/authorize``, ``/token``,
``/register`` and ``/.well-known/oauth-authorization-server`` on the MCP server's own origin.
This middleware sends them to the AS: 302 for GET/HEAD (query string kept) and 307 for every
other method, which preserves the method and body (RFC 9110 §15.4.8). Put it outside
:class:`~resource_server.asgi.BearerAuthMiddleware`: these routes are public.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .asgi import ASGIApp, Receive, Scope, Send, _local_path, _send, _send_error
from .challenges import temporarily_unavailable
from .errors import TemporarilyUnavailable
from .verify import Verifier

logger = logging.getLogger("resource_server")

METADATA = "metadata"  # pseudo endpoint name: the AS metadata document itself
DEFAULT_PATHS: Mapping[str, str] = {
    "/authorize": "authorization_endpoint",
    "/token": "token_endpoint",
    "/register": "registration_endpoint",
    "/.well-known/oauth-authorization-server": METADATA,
}


class AuthServerRedirects:
    """ASGI middleware redirecting ``paths`` (path -> AS metadata endpoint name) to the AS.

    With ``app=None`` it is a standalone app that answers 404 for every other path.
    """

    def __init__(
        self, app: ASGIApp | None, verifier: Verifier, *, paths: Mapping[str, str] | None = None
    ) -> None:
        self.app = app
        self.client = verifier.client
        self.paths = dict(DEFAULT_PATHS if paths is None else paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = self.paths.get(_local_path(scope)) if scope.get("type") == "http" else None
        if name is None:
            if self.app is None:
                await _send(send, 404, [(b"content-type", b"application/json")], b'{"error":"not_found"}')
            else:
                await self.app(scope, receive, send)
            return
        if name == METADATA:
            target: str | None = self.client.config.authorization_server_metadata_url
        else:
            try:
                value = (await self.client.ametadata()).get(name)
            except TemporarilyUnavailable as exc:
                await _send_error(scope, send, temporarily_unavailable(exc.retry_after))
                return
            target = value if isinstance(value, str) and value else None
        if target is None:  # e.g. the AS offers no dynamic registration
            await _send(send, 404, [(b"content-type", b"application/json")], b'{"error":"not_found"}')
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            target += ("&" if "?" in target else "?") + query
        status = 302 if scope.get("method") in ("GET", "HEAD") else 307
        headers = [(b"location", target.encode("latin-1")), (b"cache-control", b"no-store")]
        await _send(send, status, headers, b"")
