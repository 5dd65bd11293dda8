"""Configuration of a resource server (RS) that trusts one authorization server (AS)."""

from __future__ import annotations

import functools
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError

Mode = Literal["jwt", "introspection", "userinfo", "auto"]
MODES: tuple[str, ...] = ("jwt", "introspection", "userinfo", "auto")

# Only asymmetric JWS algorithms (RFC 7518 §3.1 / RFC 8037). Symmetric HS* is never accepted:
# the RS holds only public keys, and allowing HMAC opens the "public key as HMAC secret" attack.
ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}
)
DEFAULT_ALGORITHMS: tuple[str, ...] = ("ES256", "RS256", "PS256", "EdDSA")


class Clock(Protocol):
    """Source of time; tests inject a fake one."""

    def time(self) -> float:
        """Wall-clock seconds since the epoch (compared with ``exp``/``iat``/``nbf``)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (cache lifetimes, rate limits, backoff)."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (plain HTTP is tolerated there)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _origin_only(parts: tuple[str, str, str, str, str]) -> bool:
    return parts[2] in ("", "/") and not parts[3] and not parts[4]


@functools.lru_cache(maxsize=1024)  # bounded; audiences repeat, and urlsplit is not free
def normalize_resource(url: str) -> str:
    """Canonical form used to compare resource identifiers.

    Scheme and host are case-insensitive (RFC 3986 §6.2.2.1), and an origin-only URL with or
    without its trailing slash names the same resource; a path is compared exactly, because
    ``/mcp`` and ``/mcp/`` can be different resources behind one origin.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower()
    if _origin_only(parts):
        return f"{scheme}://{netloc}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def resource_matches(candidate: object, resource: str) -> bool:
    """Whether one ``aud`` value names ``resource`` (see :func:`normalize_resource`)."""
    return isinstance(candidate, str) and normalize_resource(candidate) == normalize_resource(resource)


def well_known_url(identifier: str, suffix: str) -> str:
    """RFC 8414 §3.1 / RFC 9728 §3.1: insert ``/.well-known/<suffix>`` between host and path.

    A path of just ``/`` is dropped first, so ``https://a.example/`` and ``https://a.example``
    give the same URL.
    """
    parts = urlsplit(identifier)
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{suffix}{path}", parts.query, ""))


def _check_url(name: str, url: str, *, allow_insecure_http: bool, allow_query: bool) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not a valid URL: {url!r}") from exc
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, got {url!r}")
    if parts.scheme == "http" and not (allow_insecure_http or is_loopback_host(parts.hostname)):
        # RFC 8414 §2 / RFC 9728 §2: https is required; loopback HTTP is for local development.
        raise ConfigurationError(f"{name} must use https (plain http is allowed only on loopback): {url!r}")
    if parts.fragment or (parts.query and not allow_query):
        raise ConfigurationError(f"{name} must not contain a query or fragment: {url!r}")


@dataclass(frozen=True)
class ResourceServerConfig:
    """Everything the kit needs to know about this RS and the AS it trusts.

    ``issuer`` must equal the AS's ``issuer`` exactly (RFC 8414 §3.3); ``resource`` is this
    server's own RFC 8707 resource URL, the value the AS puts in ``aud``.
    """

    issuer: str
    resource: str
    mode: Mode = "auto"
    scopes_supported: tuple[str, ...] = ()
    # The RS's own client credentials, used only for introspection (RFC 7662 §2.1).
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway: float = 30.0
    # Endpoint overrides; each one set skips discovery for that endpoint.
    metadata_url: str | None = None
    jwks_uri: str | None = None
    introspection_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    http_timeout: float = 5.0
    max_response_bytes: int = 1_000_000
    allow_insecure_http: bool = False
    # Metadata/JWKS lifetime: Cache-Control max-age clamped to [min, max]; default without it.
    cache_ttl_default: float = 300.0
    cache_ttl_min: float = 60.0
    cache_ttl_max: float = 86_400.0
    # An unknown kid refreshes the JWKS at most once per this many seconds.
    jwks_refresh_min_interval: float = 30.0
    # Keys already fetched stay usable this long past their TTL while the AS is unreachable.
    stale_if_error: float = 600.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    # Opaque-token results (introspection/userinfo): positive results never outlive ``exp``.
    token_cache_ttl: float = 60.0
    negative_cache_ttl: float = 5.0
    token_cache_size: int = 10_000
    # Verified-JWT cache keyed by the full token string; 0 disables it.
    jwt_cache_size: int = 10_000
    max_token_length: int = 16_384
    resource_name: str | None = None
    resource_documentation: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes_supported", tuple(self.scopes_supported))
        object.__setattr__(self, "algorithms", tuple(self.algorithms))
        insecure = self.allow_insecure_http
        _check_url("issuer", self.issuer, allow_insecure_http=insecure, allow_query=False)
        parts = urlsplit(self.issuer)
        if parts.path == "/":
            # An origin-only issuer is written without the slash (the form the AS uses in `iss`).
            object.__setattr__(self, "issuer", self.issuer[:-1])
        # RFC 8707 §2: the resource indicator must not have a fragment and should not have a query.
        _check_url("resource", self.resource, allow_insecure_http=insecure, allow_query=False)
        for name in ("metadata_url", "jwks_uri", "introspection_endpoint", "userinfo_endpoint"):
            value = getattr(self, name)
            if value is not None:
                _check_url(name, value, allow_insecure_http=insecure, allow_query=True)
        if self.mode not in MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode == "introspection" and not self.has_client_credentials:
            raise ConfigurationError(
                "mode='introspection' needs client_id and client_secret: the AS authenticates "
                "every introspection caller (RFC 7662 §2.1)"
            )
        if not self.algorithms:
            raise ConfigurationError("algorithms must not be empty")
        bad = [alg for alg in self.algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if bad:
            raise ConfigurationError(
                f"unsupported or symmetric algorithms {bad}; allowed: {sorted(ASYMMETRIC_ALGORITHMS)}"
            )
        for scope in self.scopes_supported:
            if not scope or any(c in scope for c in ' "\\') or not scope.isprintable():
                raise ConfigurationError(f"invalid scope name {scope!r} (RFC 6749 §3.3)")
        positive = ("leeway", "http_timeout", "cache_ttl_default", "cache_ttl_min", "cache_ttl_max")
        for name in positive + ("backoff_initial", "backoff_max", "token_cache_ttl"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"{name} must not be negative")
        if self.cache_ttl_min > self.cache_ttl_max:
            raise ConfigurationError("cache_ttl_min must not exceed cache_ttl_max")

    @property
    def has_client_credentials(self) -> bool:
        return bool(self.client_id) and self.client_secret is not None

    @property
    def authorization_server_metadata_url(self) -> str:
        """RFC 8414 §3.1 metadata URL of the configured issuer (or the override)."""
        return self.metadata_url or well_known_url(self.issuer, "oauth-authorization-server")

    @property
    def resource_metadata_url(self) -> str:
        """RFC 9728 §3.1 URL of this RS's protected-resource metadata."""
        return well_known_url(self.resource, "oauth-protected-resource")
