"""Token verifiers: local JWT (RFC 9068), introspection (RFC 7662) and userinfo (OIDC Core §5.3).

Every verifier offers ``verify(token)`` and ``await averify(token)``; both return a
:class:`TokenInfo` or raise ``InvalidToken`` / ``TemporarilyUnavailable`` /
``ConfigurationError``. Nothing is ever accepted on an error path.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import quote_plus

import httpx

from ._jws import CompactJWS, PublicKey, looks_like_jws
from .config import Clock, ResourceServerConfig, resource_matches
from .discovery import AuthServerClient, Backoff, HttpResponse
from .errors import ConfigurationError, InsufficientScope, InvalidToken, TemporarilyUnavailable

logger = logging.getLogger("resource_server")

# RFC 9068 §2.1: "at+jwt"; RFC 8725 §3.11 allows the full media type form too.
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# RFC 7662 §2.2 token_type values that denote an access token (refresh tokens must not pass).
_ACCESS_TOKEN_TYPE_HINTS = frozenset({"bearer", "access_token"})


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What the RS learned about a valid token.

    ``subject`` and ``client_id`` may be None for introspection/userinfo results that omit
    them; ``audience`` is empty when the source does not say (userinfo). ``claims`` is a
    read-only view of everything the source returned.
    """

    subject: str | None
    client_id: str | None
    scopes: frozenset[str]
    audience: tuple[str, ...]
    expires_at: int | None
    claims: Mapping[str, Any]
    source: str = "jwt"

    def has_scopes(self, needed: Iterable[str]) -> bool:
        return self.scopes.issuperset(needed)


def require_scopes(info: TokenInfo, needed: Iterable[str]) -> None:
    """Raise ``InsufficientScope`` (listing every needed scope) unless ``info`` has them all."""
    needed = tuple(dict.fromkeys(needed))
    if not info.scopes.issuperset(needed):
        raise InsufficientScope(needed)


def looks_like_jwt(token: str) -> bool:
    """Heuristic for ``auto`` mode: a JWS compact serialization with a JSON header."""
    if not looks_like_jws(token):
        return False
    try:
        CompactJWS.parse(token)
    except ValueError:
        return False
    return True


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # RFC 7519 §2 NumericDate: a JSON number; bool is an int subclass in Python, so exclude it.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidToken(f"The {name} claim is malformed")
    return value


def _scopes(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        raise InvalidToken("The scope claim is malformed")
    return frozenset(value.split())  # RFC 6749 §3.3: space-delimited


def _audiences(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(a, str) for a in value):
        return tuple(value)
    return ()


def _evict_oldest(cache: dict[Any, Any], size: int) -> None:
    """Drop the oldest tenth of a full cache (dicts keep insertion order).

    Batching makes eviction O(1) amortised with no full scans; expired entries are also
    dropped lazily when looked up, and old entries are the ones most likely to be expired.
    """
    for key in list(itertools.islice(cache, max(1, size // 10))):
        del cache[key]


class Verifier:
    """Base class of the verifiers; see the module docstring for the contract."""

    def __init__(self, client: AuthServerClient) -> None:
        self.client = client
        self.config: ResourceServerConfig = client.config
        self.clock: Clock = client.clock

    def verify(self, token: str) -> TokenInfo:
        raise NotImplementedError

    async def averify(self, token: str) -> TokenInfo:
        raise NotImplementedError

    def _precheck(self, token: str) -> None:
        if not token or len(token) > self.config.max_token_length:
            raise InvalidToken("The access token is malformed")

    def _check_times(self, claims: Mapping[str, Any], *, require_exp: bool) -> int | None:
        now, leeway = self.clock.time(), self.config.leeway
        exp = _number(claims, "exp")
        if exp is None:
            if require_exp:
                raise InvalidToken("The access token has no expiry")
        elif now > exp + leeway:
            raise InvalidToken("The access token expired")
        nbf = _number(claims, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise InvalidToken("The access token is not valid yet")
        iat = _number(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise InvalidToken("The access token was issued in the future")
        return int(exp) if exp is not None else None

    def _check_audience(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        # RFC 9068 §4 / RFC 8707: the token must name this RS, or it could be replayed here
        # from another resource (the MCP "token passthrough" confused-deputy problem).
        audiences = _audiences(claims.get("aud"))
        if not any(resource_matches(a, self.config.resource) for a in audiences):
            raise InvalidToken("The access token is not intended for this resource")
        return audiences

    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:
        await self.client.aclose()


class JWTVerifier(Verifier):
    """Local validation of RFC 9068 JWT access tokens against the AS's JWKS.

    Accepted tokens are remembered (bounded, keyed by the full token string) until their
    ``exp`` so repeat calls skip the signature check; a cached entry is used only while its
    key is still published.
    """

    def __init__(self, client: AuthServerClient) -> None:
        super().__init__(client)
        self._algorithms = frozenset(self.config.algorithms)
        self._cache: dict[str, tuple[TokenInfo, PublicKey, str]] = {}
        self._cache_lock = threading.Lock()

    def verify(self, token: str) -> TokenInfo:
        hit = self._cached(token)
        if hit is not None:
            return hit
        jws, alg, kid = self._parse(token)
        return self._finish(token, jws, alg, self.client.signing_key(kid, alg))

    async def averify(self, token: str) -> TokenInfo:
        hit = self._cached(token)
        if hit is not None:
            return hit
        jws, alg, kid = self._parse(token)
        return self._finish(token, jws, alg, await self.client.asigning_key(kid, alg))

    def _cached(self, token: str) -> TokenInfo | None:
        entry = self._cache.get(token)
        if entry is None:
            return None
        info, key, alg = entry
        # Never past exp (no leeway here), and only while the signing key is still published.
        if info.expires_at is not None and self.clock.time() < info.expires_at:
            if self.client.current_key(key.kid, alg) is key:
                return info
        with self._cache_lock:
            self._cache.pop(token, None)
        return None

    def _remember(self, token: str, info: TokenInfo, key: PublicKey, alg: str) -> None:
        size = self.config.jwt_cache_size
        if size <= 0:
            return
        with self._cache_lock:
            if len(self._cache) >= size:
                _evict_oldest(self._cache, size)
            self._cache[token] = (info, key, alg)

    def _parse(self, token: str) -> tuple[CompactJWS, str, str | None]:
        self._precheck(token)
        try:
            jws = CompactJWS.parse(token)
        except ValueError as exc:
            raise InvalidToken("The access token is not a valid JWT") from exc
        header = jws.header
        alg = header.get("alg")
        # RFC 8725 §3.1: the verifier, not the token, decides the algorithm. This rejects
        # "none" and every HS* variant, so a public key can never be used as an HMAC secret.
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken("The access token uses an unacceptable algorithm")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _ACCESS_TOKEN_TYPES:
            # RFC 9068 §4: prevents ID tokens or other JWTs from the same AS being used here.
            raise InvalidToken("The token is not a JWT access token (typ must be at+jwt)")
        if "crit" in header:
            # RFC 7515 §4.1.11: we understand no extensions, so a critical one must fail.
            raise InvalidToken("The access token uses unsupported critical header parameters")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("The access token has a malformed kid")
        # jku/x5u/jwk/x5c headers are deliberately ignored: keys come only from the AS's JWKS.
        return jws, alg, kid

    def _finish(self, token: str, jws: CompactJWS, alg: str, key: PublicKey) -> TokenInfo:
        if not key.verify(alg, jws.signing_input, jws.signature):
            raise InvalidToken("The access token signature is invalid")
        try:
            claims = jws.payload()
        except ValueError as exc:
            raise InvalidToken("The access token payload is not JSON") from exc
        if not isinstance(claims, dict):
            raise InvalidToken("The access token payload is not a JSON object")
        if claims.get("iss") != self.config.issuer:  # RFC 9068 §4: exact match
            raise InvalidToken("The access token was issued by another authorization server")
        audiences = self._check_audience(claims)
        expires_at = self._check_times(claims, require_exp=True)
        sub, client_id = claims.get("sub"), claims.get("client_id")
        if not isinstance(sub, str) or not isinstance(client_id, str):  # RFC 9068 §2.2: required
            raise InvalidToken("The access token lacks sub or client_id")
        info = TokenInfo(
            subject=sub,
            client_id=client_id,
            scopes=_scopes(claims.get("scope")),
            audience=audiences,
            expires_at=expires_at,
            claims=MappingProxyType(claims),
            source="jwt",
        )
        self._remember(token, info, key, alg)
        return info


class _ResultCache:
    """Bounded TTL cache of opaque-token results, keyed by a hash of the token.

    Hashing keeps raw bearer tokens out of long-lived memory and makes keys fixed-size.
    """

    def __init__(self, max_entries: int, clock: Clock) -> None:
        self._max, self._clock = max_entries, clock
        self._items: dict[bytes, tuple[float, TokenInfo | InvalidToken]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, key: bytes) -> TokenInfo | InvalidToken | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if self._clock.monotonic() < entry[0]:
            return entry[1]
        with self._lock:
            self._items.pop(key, None)
        return None

    def put(self, key: bytes, value: TokenInfo | InvalidToken, ttl: float) -> None:
        if ttl <= 0 or self._max <= 0:
            return
        now = self._clock.monotonic()
        with self._lock:
            if len(self._items) >= self._max:
                _evict_oldest(self._items, self._max)
            self._items[key] = (now + ttl, value)


class _RemoteVerifier(Verifier):
    """Shared logic for verifiers that ask the AS about each (uncached) token."""

    endpoint_name = ""

    def __init__(self, client: AuthServerClient) -> None:
        super().__init__(client)
        self._results = _ResultCache(self.config.token_cache_size, self.clock)
        self._backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        self._backoff_lock = threading.Lock()
        self.calls = 0  # requests sent to the AS (observability, tests)

    def verify(self, token: str) -> TokenInfo:
        key = self._start(token)
        cached = self._results.get(key)
        if cached is not None:
            return self._resolve(cached)
        self._check_backoff()
        request = self._request(self.client.endpoint(self.endpoint_name), token)
        self.calls += 1
        try:
            response = self.client.http.request(**request)
        except TemporarilyUnavailable:
            self._failed()
            raise
        return self._handle(key, response)

    async def averify(self, token: str) -> TokenInfo:
        key = self._start(token)
        cached = self._results.get(key)
        if cached is not None:
            return self._resolve(cached)
        self._check_backoff()
        request = self._request(await self.client.aendpoint(self.endpoint_name), token)
        self.calls += 1
        try:
            response = await self.client.http.arequest(**request)
        except TemporarilyUnavailable:
            self._failed()
            raise
        return self._handle(key, response)

    def _start(self, token: str) -> bytes:
        self._precheck(token)
        self._preflight()
        return _ResultCache.key(token)

    def _preflight(self) -> None:
        """Configuration checks that must fail before any network call."""

    @staticmethod
    def _resolve(result: TokenInfo | InvalidToken) -> TokenInfo:
        if isinstance(result, InvalidToken):
            raise InvalidToken(result.description)
        return result

    def _check_backoff(self) -> None:
        now = self.clock.monotonic()
        with self._backoff_lock:
            if self._backoff.blocked(now):
                raise TemporarilyUnavailable(
                    f"{self.endpoint_name} is unavailable", retry_after=self._backoff.retry_after(now)
                )

    def _failed(self) -> None:
        with self._backoff_lock:
            self._backoff.failure(self.clock.monotonic())

    def _ok(self) -> None:
        with self._backoff_lock:
            self._backoff.success()

    def _reject(self, key: bytes, description: str) -> InvalidToken:
        error = InvalidToken(description)
        self._results.put(key, error, self.config.negative_cache_ttl)  # briefly: it may be a race
        return error

    def _accept(self, key: bytes, info: TokenInfo) -> TokenInfo:
        ttl = self.config.token_cache_ttl
        if info.expires_at is not None:
            ttl = min(ttl, info.expires_at - self.clock.time())  # never cache past exp
        self._results.put(key, info, ttl)
        return info

    def _unavailable(self, response: HttpResponse) -> TemporarilyUnavailable:
        self._failed()
        return TemporarilyUnavailable(f"{self.endpoint_name} answered HTTP {response.status}")

    def _request(self, url: str, token: str) -> dict[str, Any]:
        raise NotImplementedError

    def _handle(self, key: bytes, response: HttpResponse) -> TokenInfo:
        raise NotImplementedError


class IntrospectionVerifier(_RemoteVerifier):
    """Opaque (or any) tokens checked by RFC 7662 introspection with the RS's credentials.

    Results are cached (``token_cache_ttl``, never past ``exp``), so a revocation at the AS
    takes effect here within that many seconds; lower it for faster revocation (§4).
    """

    endpoint_name = "introspection_endpoint"

    def _preflight(self) -> None:
        if not self.config.has_client_credentials:
            raise ConfigurationError(
                "token introspection needs client_id and client_secret in ResourceServerConfig "
                "(RFC 7662 §2.1: the AS authenticates the caller)"
            )

    def _request(self, url: str, token: str) -> dict[str, Any]:
        config = self.config
        # RFC 6749 §2.3.1: form-urlencode each part before joining them for HTTP Basic.
        basic = httpx.BasicAuth(quote_plus(config.client_id or ""), quote_plus(config.client_secret or ""))
        return {
            "method": "POST",
            "url": url,
            "data": {"token": token, "token_type_hint": "access_token"},
            "auth": basic,
        }

    def _handle(self, key: bytes, response: HttpResponse) -> TokenInfo:
        if response.status in (401, 403):
            logger.error("introspection endpoint refused the RS credentials (HTTP %s)", response.status)
            raise ConfigurationError(
                f"the introspection endpoint refused this resource server's client credentials "
                f"(HTTP {response.status}); check client_id/client_secret"
            )
        if response.status != 200:
            raise self._unavailable(response)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("active"), bool):
            raise self._unavailable(response)
        self._ok()
        if data["active"] is not True:  # RFC 7662 §2.2: inactive, revoked, expired or unknown
            raise self._reject(key, "The access token is not active")
        try:
            info = self._info(data)
        except InvalidToken as exc:
            raise self._reject(key, exc.description) from None
        return self._accept(key, info)

    def _info(self, data: dict[str, Any]) -> TokenInfo:
        if "iss" in data and data["iss"] != self.config.issuer:
            raise InvalidToken("The access token was issued by another authorization server")
        token_type = data.get("token_type")
        if token_type is not None and str(token_type).lower() not in _ACCESS_TOKEN_TYPE_HINTS:
            raise InvalidToken("The token is not an access token")
        audiences = self._check_audience(data)
        expires_at = self._check_times(data, require_exp=False)
        sub, client_id = data.get("sub"), data.get("client_id")
        return TokenInfo(
            subject=sub if isinstance(sub, str) else None,
            client_id=client_id if isinstance(client_id, str) else None,
            scopes=_scopes(data.get("scope")),
            audience=audiences,
            expires_at=expires_at,
            claims=MappingProxyType(data),
            source="introspection",
        )


class UserinfoVerifier(_RemoteVerifier):
    """Tokens checked by calling the AS's userinfo endpoint with them.

    Weaker than the other modes: userinfo tells neither the audience nor the scopes, so the
    RS cannot confirm that the token was issued for it, and ``scopes`` is always empty.
    Use it only when neither JWT access tokens nor introspection are available.
    """

    endpoint_name = "userinfo_endpoint"

    def _request(self, url: str, token: str) -> dict[str, Any]:
        return {"method": "GET", "url": url, "headers": {"Authorization": f"Bearer {token}"}}

    def _handle(self, key: bytes, response: HttpResponse) -> TokenInfo:
        if response.status >= 500 or response.status == 429:
            raise self._unavailable(response)
        self._ok()
        if response.status != 200:  # 401 invalid_token (RFC 6750 §3.1) or any other refusal
            raise self._reject(key, "The access token was rejected by the authorization server")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("sub"), str):
            raise self._reject(key, "The authorization server returned no subject for the token")
        info = TokenInfo(
            subject=data["sub"],
            client_id=None,
            scopes=frozenset(),
            audience=(),
            expires_at=None,
            claims=MappingProxyType(data),
            source="userinfo",
        )
        return self._accept(key, info)


class AutoVerifier(Verifier):
    """JWT validation for tokens that look like JWTs, introspection for everything else."""

    def __init__(self, client: AuthServerClient) -> None:
        super().__init__(client)
        self.jwt = JWTVerifier(client)
        self.introspection = IntrospectionVerifier(client)

    def verify(self, token: str) -> TokenInfo:
        self._precheck(token)
        if looks_like_jwt(token):
            return self.jwt.verify(token)
        return self.introspection.verify(token)

    async def averify(self, token: str) -> TokenInfo:
        self._precheck(token)
        if looks_like_jwt(token):
            return await self.jwt.averify(token)
        return await self.introspection.averify(token)


_VERIFIERS: dict[str, type[Verifier]] = {
    "jwt": JWTVerifier,
    "introspection": IntrospectionVerifier,
    "userinfo": UserinfoVerifier,
    "auto": AutoVerifier,
}


def build_verifier(
    config: ResourceServerConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> Verifier:
    """The verifier for ``config.mode``; transports and clock are injectable for tests."""
    client = AuthServerClient(config, transport=transport, async_transport=async_transport, clock=clock)
    return _VERIFIERS[config.mode](client)
