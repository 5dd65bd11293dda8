"""RFC 6750 bearer challenges (with the RFC 9728 ``resource_metadata`` parameter).

The builders return plain data (:class:`ErrorResponse`) so any framework can send them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InsufficientScope, InvalidToken, TemporarilyUnavailable

# RFC 6750 §3: scope-token = 1*NQCHAR (%x21 / %x23-5B / %x5D-7E).
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# RFC 6750 §3: error and error_description are NQSCHAR (%x20-21 / %x23-5B / %x5D-7E).
_NOT_NQSCHAR = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Validate scope tokens (RFC 6749 §3.3) and drop duplicates, keeping their order."""
    result = tuple(dict.fromkeys(scopes))
    for scope in result:
        if not isinstance(scope, str) or not _SCOPE_TOKEN.fullmatch(scope):
            raise ValueError(f"invalid scope token {scope!r}")
    return result


def quote(value: str) -> str:
    """An RFC 9110 §5.6.4 quoted-string; control characters (header injection) are dropped."""
    cleaned = "".join(c for c in value if c >= " " and c != "\x7f")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _nqschar(text: str) -> str:
    # error_description may not contain '"' or '\' at all, so substitute rather than escape.
    return _NOT_NQSCHAR.sub("?", text.replace('"', "'").replace("\\", "/"))


def bearer_challenge(
    *,
    resource_metadata: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    scope: Iterable[str] | None = None,
    realm: str | None = None,
) -> str:
    """A ``WWW-Authenticate`` value: ``Bearer realm=…, error=…, scope=…, resource_metadata=…``."""
    params: list[str] = []
    if realm is not None:
        params.append(f"realm={quote(realm)}")
    if error is not None:
        params.append(f'error="{_nqschar(error)}"')
    if error_description is not None:
        params.append(f'error_description="{_nqschar(error_description)}"')
    if scope is not None:
        params.append(f'scope="{" ".join(check_scopes(scope))}"')
    if resource_metadata is not None:
        params.append(f"resource_metadata={quote(resource_metadata)}")  # RFC 9728 §5.1
    return "Bearer " + ", ".join(params) if params else "Bearer"


@dataclass(frozen=True)
class ErrorResponse:
    """Status, headers and JSON body of an error response."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: dict[str, str]

    def body_bytes(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def _json_headers(*extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("content-type", "application/json"), ("cache-control", "no-store"), *extra)


def missing_token(resource_metadata: str | None) -> ErrorResponse:
    """401 for a request without credentials: no error code (RFC 6750 §3.1)."""
    header = bearer_challenge(resource_metadata=resource_metadata)
    body = {"error": "unauthorized", "error_description": "A bearer access token is required"}
    return ErrorResponse(401, _json_headers(("www-authenticate", header)), body)


def invalid_token(
    resource_metadata: str | None, description: str = "The access token is invalid"
) -> ErrorResponse:
    """401 ``invalid_token``: the token is expired, revoked, malformed or not for us."""
    header = bearer_challenge(
        resource_metadata=resource_metadata, error="invalid_token", error_description=description
    )
    body = {"error": "invalid_token", "error_description": _nqschar(description)}
    return ErrorResponse(401, _json_headers(("www-authenticate", header)), body)


def invalid_request(resource_metadata: str | None, description: str) -> ErrorResponse:
    """400 ``invalid_request`` (e.g. more than one Authorization header)."""
    header = bearer_challenge(
        resource_metadata=resource_metadata, error="invalid_request", error_description=description
    )
    body = {"error": "invalid_request", "error_description": _nqschar(description)}
    return ErrorResponse(400, _json_headers(("www-authenticate", header)), body)


def insufficient_scope(
    resource_metadata: str | None,
    scopes: Iterable[str],
    description: str = "The access token lacks a required scope",
) -> ErrorResponse:
    """403 ``insufficient_scope``; ``scopes`` is every scope the call needs (RFC 6750 §3.1)."""
    needed = check_scopes(scopes)
    header = bearer_challenge(
        resource_metadata=resource_metadata,
        error="insufficient_scope",
        error_description=description,
        scope=needed,
    )
    body = {
        "error": "insufficient_scope",
        "error_description": _nqschar(description),
        "scope": " ".join(needed),
    }
    return ErrorResponse(403, _json_headers(("www-authenticate", header)), body)


def temporarily_unavailable(retry_after: int = 1, description: str | None = None) -> ErrorResponse:
    """503 while the AS cannot be reached: the request is refused, not accepted unverified."""
    body = {
        "error": "temporarily_unavailable",
        "error_description": _nqschar(
            description or "The authorization server cannot be reached; retry later"
        ),
    }
    return ErrorResponse(503, _json_headers(("retry-after", str(max(1, int(retry_after))))), body)


def server_error() -> ErrorResponse:
    """500 for a misconfigured RS; details go to the log, not to the caller."""
    body = {"error": "server_error", "error_description": "The resource server is misconfigured"}
    return ErrorResponse(500, _json_headers(), body)


def error_response(exc: Exception, resource_metadata: str | None) -> ErrorResponse:
    """Map a kit exception to its response; anything unexpected becomes a 500 (fail closed)."""
    if isinstance(exc, InvalidToken):
        return invalid_token(resource_metadata, exc.description)
    if isinstance(exc, InsufficientScope):
        return insufficient_scope(resource_metadata, exc.required, exc.description)
    if isinstance(exc, TemporarilyUnavailable):
        return temporarily_unavailable(exc.retry_after)
    return server_error()  # ConfigurationError or a bug: refuse, and keep details in the log
