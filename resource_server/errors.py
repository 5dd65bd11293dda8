"""Exceptions raised by the kit.

Every verification outcome other than success is one of these, so an adapter maps them to
HTTP without guessing: ``InvalidToken`` -> 401, ``InsufficientScope`` -> 403,
``TemporarilyUnavailable`` -> 503, ``ConfigurationError`` -> 500.
"""

from __future__ import annotations

from collections.abc import Iterable


class ResourceServerError(Exception):
    """Base class for every error the kit raises on purpose."""


class ConfigurationError(ResourceServerError):
    """The resource server itself is misconfigured (a deployment problem, not the caller's)."""


class InvalidToken(ResourceServerError):
    """The presented token is not acceptable (RFC 6750 §3.1 ``invalid_token``).

    ``description`` is safe to show to the caller: it never echoes token contents.
    """

    def __init__(self, description: str = "The access token is invalid") -> None:
        super().__init__(description)
        self.description = description


class InsufficientScope(ResourceServerError):
    """The token is valid but lacks scopes (RFC 6750 §3.1 ``insufficient_scope``).

    ``required`` lists every scope the call needs (not only the missing ones), because
    the client uses the challenge's ``scope`` to ask for a new token that can make the call.
    """

    def __init__(self, required: Iterable[str], description: str | None = None) -> None:
        self.required: tuple[str, ...] = tuple(dict.fromkeys(required))
        self.description = description or "The access token lacks a required scope"
        super().__init__(self.description)


class TemporarilyUnavailable(ResourceServerError):
    """The authorization server (metadata, JWKS, introspection) cannot be reached right now.

    Verification fails closed: nothing is accepted while this is raised. ``retry_after`` is a
    hint, in seconds, for the ``Retry-After`` header of the 503 response.
    """

    def __init__(self, description: str, retry_after: float = 1.0) -> None:
        super().__init__(description)
        self.description = description
        self.retry_after = max(1, round(retry_after))
