"""Plain ASGI middleware that protects any ASGI app (Starlette, FastAPI, the MCP SDK's apps).

It serves the RFC 9728 metadata document, answers unauthenticated or under-scoped requests
with RFC 6750 challenges, and passes the :class:`TokenInfo` to the app as ``scope["auth"]``
and ``scope["state"]["auth"]`` (Starlette: ``request.auth`` / ``request.state.auth``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from . import challenges
from .challenges import ErrorResponse, check_scopes
from .errors import ConfigurationError, ResourceServerError, TemporarilyUnavailable
from .prm import metadata_paths, protected_resource_metadata
from .verify import Verifier, require_scopes

logger = logging.getLogger("resource_server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_PRM_HEADERS = (
    ("content-type", "application/json"),
    ("cache-control", "public, max-age=3600"),
    # Browser-based MCP clients fetch this document cross-origin.
    ("access-control-allow-origin", "*"),
)


class BearerAuthMiddleware:
    """Require a valid bearer token (and ``required_scopes``) for every path but public ones.

    ``public_paths`` entries match exactly, or as a prefix when they end with ``/``.
    ``tool_scopes`` maps MCP tool names to the extra scopes a ``tools/call`` of them needs;
    a token without them gets one 403 challenge naming every scope the call needs
    (``required_scopes`` included), so the client can ask for a token that can make it.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: Verifier,
        *,
        required_scopes: Iterable[str] = (),
        public_paths: Iterable[str] = (),
        serve_metadata: bool = True,
        metadata: Mapping[str, Any] | None = None,
        tool_scopes: Mapping[str, Iterable[str]] | None = None,
        max_body_bytes: int = 4_000_000,
    ) -> None:
        self.app = app
        self.tool_scopes = {name: check_scopes(scopes) for name, scopes in (tool_scopes or {}).items()}
        self.max_body_bytes = max_body_bytes
        self.verifier = verifier
        config = verifier.config
        self.required_scopes = check_scopes(required_scopes)
        self.resource_metadata_url = config.resource_metadata_url
        public = tuple(public_paths)
        self._public_exact = frozenset(p for p in public if not p.endswith("/"))
        self._public_prefixes = tuple(p for p in public if p.endswith("/"))
        self._metadata_paths = frozenset(metadata_paths(config.resource)) if serve_metadata else frozenset()
        document = dict(metadata) if metadata is not None else protected_resource_metadata(config)
        self._metadata_body = json.dumps(document, separators=(",", ":")).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan and others pass through
            return
        path = _local_path(scope)
        if kind == "http" and path in self._metadata_paths:
            await self._serve_metadata(scope, send)
            return
        if self._is_public(path):
            await self.app(scope, receive, send)
            return
        outcome = await self._authenticate(scope)
        if isinstance(outcome, ErrorResponse):
            await _send_error(scope, send, outcome)
            return
        if self.tool_scopes and kind == "http" and scope.get("method") == "POST":
            body = await _read_body(receive, self.max_body_bytes)
            if body is None:
                await _send(send, 413, [(b"content-type", b"application/json")], b'{"error":"too_large"}')
                return
            needed = self._call_scopes(body)
            if needed and not outcome.has_scopes(needed):
                await _send_error(
                    scope, send, challenges.insufficient_scope(self.resource_metadata_url, needed)
                )
                return
            receive = _replay(body, receive)
        state = dict(scope.get("state") or {})
        state["auth"] = outcome
        await self.app({**scope, "auth": outcome, "state": state}, receive, send)

    def _call_scopes(self, body: bytes) -> tuple[str, ...]:
        """Every scope a JSON-RPC ``tools/call`` (or a batch of them) needs; () otherwise."""
        try:
            message = json.loads(body)
        except ValueError:
            return ()  # the MCP server answers the parse error itself
        needed: list[str] = []
        for call in message if isinstance(message, list) else [message]:
            if isinstance(call, dict) and call.get("method") == "tools/call":
                params = call.get("params")
                name = params.get("name") if isinstance(params, dict) else None
                if isinstance(name, str) and name in self.tool_scopes:
                    needed += [*self.required_scopes, *self.tool_scopes[name]]
        return tuple(dict.fromkeys(needed))

    def _is_public(self, path: str) -> bool:
        if path in self._public_exact:
            return True
        if not any(path.startswith(prefix) for prefix in self._public_prefixes):
            return False
        # "/static/../mcp" must not borrow the public prefix: ASGI servers do not remove
        # dot-segments (RFC 3986 §5.2.4), and a mounted app further in might.
        return not any(segment in (".", "..") for segment in path.split("/"))

    async def _authenticate(self, scope: Scope) -> Any:
        values = [v for k, v in scope.get("headers", ()) if k.lower() == b"authorization"]
        if len(values) > 1:
            # RFC 6750 §3.1 invalid_request: more than one credential was presented.
            return challenges.invalid_request(self.resource_metadata_url, "Multiple Authorization headers")
        if not values:
            return challenges.missing_token(self.resource_metadata_url)
        scheme, _, token = values[0].decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer":
            # Another scheme is no bearer credential at all: challenge like a missing token.
            return challenges.missing_token(self.resource_metadata_url)
        token = token.strip()
        if not _B64TOKEN.fullmatch(token):
            return challenges.invalid_token(self.resource_metadata_url, "The access token is malformed")
        try:
            info = await self.verifier.averify(token)
            require_scopes(info, self.required_scopes)
        except ResourceServerError as exc:
            _log(exc)
            return challenges.error_response(exc, self.resource_metadata_url)
        except Exception:  # never crash and never accept: an unexpected bug is a 500
            logger.exception("token verification failed unexpectedly")
            return challenges.server_error()
        return info

    async def _serve_metadata(self, scope: Scope, send: Send) -> None:
        method = scope.get("method", "GET")
        if method == "OPTIONS":  # CORS preflight
            headers = [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
                (b"access-control-allow-headers", b"*"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if method not in ("GET", "HEAD"):
            body = b'{"error":"method_not_allowed"}'
            headers = [(b"allow", b"GET, HEAD, OPTIONS"), (b"content-type", b"application/json")]
            await _send(send, 405, headers, body)
            return
        headers = [(k.encode(), v.encode()) for k, v in _PRM_HEADERS]
        await _send(
            send, 200, headers, b"" if method == "HEAD" else self._metadata_body, len(self._metadata_body)
        )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None beyond ``limit`` bytes."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)  # the client went away; the app sees an empty body
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # e.g. http.disconnect

    return replay


def _local_path(scope: Scope) -> str:
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):  # servers differ on whether path includes root_path
        return path[len(root) :] or "/"
    return path


def _log(exc: ResourceServerError) -> None:
    if isinstance(exc, ConfigurationError):
        logger.error("resource server misconfigured: %s", exc)
    elif isinstance(exc, TemporarilyUnavailable):
        logger.warning("token not verified, authorization server unavailable: %s", exc)
    else:
        logger.info("token rejected: %s", exc)


async def _send(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, length: int = -1
) -> None:
    length = len(body) if length < 0 else length
    headers = [*headers, (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_error(scope: Scope, send: Send, response: ErrorResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    body = response.body_bytes()
    if scope["type"] == "http":
        await _send(send, response.status, headers, b"" if scope.get("method") == "HEAD" else body, len(body))
        return
    # WebSocket: answer the handshake with the HTTP error if the server supports it (ASGI
    # "websocket.http.response" extension); otherwise closing before accept yields a 403.
    if "websocket.http.response" in scope.get("extensions", {}):
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "websocket.http.response.start", "status": response.status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
