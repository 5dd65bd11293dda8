"""AS metadata (RFC 8414) and JWKS (RFC 7517) fetching with bounded, thread-safe caching.

Cache lifetimes follow ``Cache-Control: max-age`` clamped to the configured bounds. Failures
fail closed (``TemporarilyUnavailable``) and back off exponentially, so a struggling AS gets a
trickle of retries instead of one request per incoming call. An unknown ``kid`` triggers at
most one JWKS refresh per ``jwks_refresh_min_interval``: a flood of tokens with made-up kids
costs the AS nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from ._jws import KeySet, PublicKey
from .config import Clock, ResourceServerConfig, SystemClock
from .errors import ConfigurationError, InvalidToken, TemporarilyUnavailable

logger = logging.getLogger("resource_server")

T = TypeVar("T")

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_USER_AGENT = "resource-server-kit/1"


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` from a Cache-Control header (RFC 9111 §5.2.2.1); 0 for no-store/no-cache."""
    if not cache_control:
        return None
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def cache_ttl(config: ResourceServerConfig, headers: Mapping[str, str]) -> float:
    """Lifetime of a fetched document: max-age within [cache_ttl_min, cache_ttl_max]."""
    max_age = parse_max_age(headers.get("cache-control"))
    if max_age is None:
        max_age = config.cache_ttl_default
    return min(max(max_age, config.cache_ttl_min), config.cache_ttl_max)


class Backoff:
    """Exponential backoff after consecutive failures (not thread-safe; callers hold a lock)."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial, self.maximum = initial, maximum
        self.failures = 0
        self.next_attempt = float("-inf")

    def blocked(self, now: float) -> bool:
        return now < self.next_attempt

    def retry_after(self, now: float) -> float:
        return max(self.next_attempt - now, 1.0)

    def failure(self, now: float) -> None:
        self.failures += 1
        delay = min(self.initial * 2 ** (self.failures - 1), self.maximum)
        self.next_attempt = now + delay

    def success(self) -> None:
        self.failures = 0
        self.next_attempt = float("-inf")


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """Parsed JSON body; raises ValueError if it is not JSON."""
        return json.loads(self.body)


class _LoopLocal(Generic[T]):
    """One object per running event loop (asyncio primitives and pools are loop-bound)."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._items: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()
        self._guard = threading.Lock()

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        with self._guard:
            item = self._items.get(loop)
            if item is None:
                item = self._items[loop] = self._factory()
            return item

    def pop_current(self) -> T | None:
        with self._guard:
            return self._items.pop(asyncio.get_running_loop(), None)


class HttpClient:
    """Sync and async HTTP with a timeout, a response size cap and no redirects.

    Redirects are not followed: an introspection request carries the RS's credentials and
    the token, neither of which may be replayed to wherever a redirect points.
    """

    def __init__(
        self,
        config: ResourceServerConfig,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        if async_transport is None and isinstance(transport, httpx.AsyncBaseTransport):
            async_transport = transport  # httpx.MockTransport serves both
        self._transport = transport
        self._async_transport = async_transport
        self._sync: httpx.Client | None = None
        self._sync_guard = threading.Lock()
        self._async: _LoopLocal[httpx.AsyncClient] = _LoopLocal(self._new_async_client)

    def _options(self) -> dict[str, Any]:
        return {
            "timeout": self.config.http_timeout,
            "follow_redirects": False,
            "headers": {"User-Agent": _USER_AGENT, "Accept": "application/json"},
        }

    def _new_async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self._async_transport, **self._options())

    def _sync_client(self) -> httpx.Client:
        with self._sync_guard:
            if self._sync is None:
                self._sync = httpx.Client(transport=self._transport, **self._options())
            return self._sync

    def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        """Perform a request; network errors become ``TemporarilyUnavailable``."""
        limit = self.config.max_response_bytes
        try:
            with self._sync_client().stream(method, url, **kwargs) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise TemporarilyUnavailable(f"response from {url} exceeds {limit} bytes")
                return HttpResponse(response.status_code, response.headers, bytes(body))
        except httpx.HTTPError as exc:
            raise TemporarilyUnavailable(f"cannot reach {url}: {type(exc).__name__}") from exc

    async def arequest(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        """Async :meth:`request`."""
        limit = self.config.max_response_bytes
        try:
            async with self._async.get().stream(method, url, **kwargs) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise TemporarilyUnavailable(f"response from {url} exceeds {limit} bytes")
                return HttpResponse(response.status_code, response.headers, bytes(body))
        except httpx.HTTPError as exc:
            raise TemporarilyUnavailable(f"cannot reach {url}: {type(exc).__name__}") from exc

    def close(self) -> None:
        with self._sync_guard:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the current event loop's async client (and the sync one)."""
        client = self._async.pop_current()
        if client is not None:
            await client.aclose()
        self.close()


_USE, _FETCH, _UNAVAILABLE = "use", "fetch", "unavailable"


class _BadDocument(Exception):
    pass


class CachedDocument(Generic[T]):
    """A remote JSON document with TTL caching, single-flight refresh and failure backoff."""

    def __init__(
        self,
        name: str,
        config: ResourceServerConfig,
        http: HttpClient,
        clock: Clock,
        url: Callable[[], str],
        aurl: Callable[[], Awaitable[str]],
        parse: Callable[[Any], T],
    ) -> None:
        self.name, self._config, self._http, self._clock = name, config, http, clock
        self._url, self._aurl, self._parse = url, aurl, parse
        self._value: T | None = None
        self._expires = float("-inf")
        self._last_attempt = float("-inf")
        self._backoff = Backoff(config.backoff_initial, config.backoff_max)
        self._state = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._afetch_locks: _LoopLocal[asyncio.Lock] = _LoopLocal(asyncio.Lock)
        self.fetch_count = 0

    def _decide(self, want_refresh: bool, now: float) -> str:
        with self._state:
            fresh = self._value is not None and now < self._expires
            forced = want_refresh and now - self._last_attempt >= self._config.jwks_refresh_min_interval
            if fresh and not forced:
                return _USE
            if self._backoff.blocked(now):
                return _USE if self._stale_usable(now) else _UNAVAILABLE
            return _FETCH

    def _stale_usable(self, now: float) -> bool:
        # RFC 5861-style stale-if-error: keep serving what we had while the AS is unreachable.
        return self._value is not None and now < self._expires + self._config.stale_if_error

    def peek(self) -> T | None:
        """The cached value if it may be used right now, without any network call."""
        now = self._clock.monotonic()
        with self._state:
            if self._value is not None and (
                now < self._expires or (self._backoff.blocked(now) and self._stale_usable(now))
            ):
                return self._value
        return None

    def _unavailable(self) -> TemporarilyUnavailable:
        now = self._clock.monotonic()
        with self._state:
            retry = self._backoff.retry_after(now)
        return TemporarilyUnavailable(f"{self.name} is unavailable", retry_after=retry)

    def _settle(self) -> T:
        # After our own fetch attempt: the new value, a stale one within bounds, or fail closed.
        now = self._clock.monotonic()
        with self._state:
            if self._value is not None and (now < self._expires or self._stale_usable(now)):
                return self._value
        raise self._unavailable()

    def _begin(self) -> None:
        with self._state:
            self._last_attempt = self._clock.monotonic()
            self.fetch_count += 1

    def _record(self, response: HttpResponse | None, error: Exception | None) -> None:
        now = self._clock.monotonic()
        value: T | None = None
        if error is None and response is not None:
            try:
                if response.status != 200:
                    raise _BadDocument(f"HTTP {response.status}")
                try:
                    document = response.json()
                except ValueError as exc:
                    raise _BadDocument("body is not JSON") from exc
                value = self._parse(document)
            except (_BadDocument, ValueError) as exc:
                error = exc
        with self._state:
            if error is None:
                self._value = value
                self._expires = now + cache_ttl(self._config, response.headers if response else {})
                self._backoff.success()
                return
            self._backoff.failure(now)
            delay = self._backoff.next_attempt - now
        logger.warning("fetching %s failed (%s); next attempt in %.0fs", self.name, error, delay)

    def get(self, want_refresh: bool = False) -> T:
        """The document, fetching it if stale (or, rate-limited, if ``want_refresh``)."""
        decision = self._decide(want_refresh, self._clock.monotonic())
        if decision == _USE:
            return self._value  # type: ignore[return-value]
        if decision == _UNAVAILABLE:
            raise self._unavailable()
        with self._fetch_lock:  # single flight: waiting threads reuse the result
            if self._decide(want_refresh, self._clock.monotonic()) == _FETCH:
                self._begin()
                try:
                    response, error = self._http.request("GET", self._url()), None
                except TemporarilyUnavailable as exc:
                    response, error = None, exc
                self._record(response, error)
        return self._settle()

    async def aget(self, want_refresh: bool = False) -> T:
        """Async :meth:`get`."""
        decision = self._decide(want_refresh, self._clock.monotonic())
        if decision == _USE:
            return self._value  # type: ignore[return-value]
        if decision == _UNAVAILABLE:
            raise self._unavailable()
        async with self._afetch_locks.get():
            if self._decide(want_refresh, self._clock.monotonic()) == _FETCH:
                self._begin()
                try:
                    response, error = await self._http.arequest("GET", await self._aurl()), None
                except TemporarilyUnavailable as exc:
                    response, error = None, exc
                self._record(response, error)
        return self._settle()


_ENDPOINTS = ("jwks_uri", "introspection_endpoint", "userinfo_endpoint")


class AuthServerClient:
    """Everything the RS fetches from the AS: metadata, JWKS, and the HTTP client for calls."""

    def __init__(
        self,
        config: ResourceServerConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.http = HttpClient(config, transport, async_transport)
        metadata_url = config.authorization_server_metadata_url

        async def ametadata_url() -> str:
            return metadata_url

        self.metadata_cache: CachedDocument[dict[str, Any]] = CachedDocument(
            "authorization server metadata",
            config,
            self.http,
            self.clock,
            lambda: metadata_url,
            ametadata_url,
            self._parse_metadata,
        )
        self.jwks_cache: CachedDocument[KeySet] = CachedDocument(
            "JWKS",
            config,
            self.http,
            self.clock,
            lambda: self.endpoint("jwks_uri"),
            lambda: self.aendpoint("jwks_uri"),
            KeySet.from_jwks,
        )

    def _parse_metadata(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise _BadDocument("metadata is not a JSON object")
        if document.get("issuer") != self.config.issuer:
            # RFC 8414 §3.3: a mismatch means a misconfiguration or a mix-up attack; use nothing.
            logger.error(
                "AS metadata issuer %r does not equal the configured issuer %r",
                document.get("issuer"),
                self.config.issuer,
            )
            raise _BadDocument("issuer mismatch")
        return document

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata (cached)."""
        return self.metadata_cache.get()

    async def ametadata(self) -> dict[str, Any]:
        return await self.metadata_cache.aget()

    def _pick(self, name: str, metadata: Mapping[str, Any]) -> str:
        url = metadata.get(name)
        if not isinstance(url, str) or not url:
            raise ConfigurationError(f"the AS metadata has no {name}; set it in ResourceServerConfig")
        return url

    def endpoint(self, name: str) -> str:
        """An AS endpoint URL: the config override if set, else from the metadata."""
        override = getattr(self.config, name, None) if name in _ENDPOINTS else None
        return override or self._pick(name, self.metadata())

    async def aendpoint(self, name: str) -> str:
        override = getattr(self.config, name, None) if name in _ENDPOINTS else None
        return override or self._pick(name, await self.ametadata())

    def signing_key(self, kid: str | None, alg: str) -> PublicKey:
        """The JWKS key for ``kid``/``alg``, refreshing once (rate-limited) on an unknown kid."""
        key = self.jwks_cache.get().find(kid, alg)
        if key is None:
            key = self.jwks_cache.get(want_refresh=True).find(kid, alg)
        if key is None:
            raise InvalidToken("The access token was not signed by a known key")
        return key

    async def asigning_key(self, kid: str | None, alg: str) -> PublicKey:
        key = (await self.jwks_cache.aget()).find(kid, alg)
        if key is None:
            key = (await self.jwks_cache.aget(want_refresh=True)).find(kid, alg)
        if key is None:
            raise InvalidToken("The access token was not signed by a known key")
        return key

    def current_key(self, kid: str | None, alg: str) -> PublicKey | None:
        """The key if it is in the currently usable JWKS; never fetches."""
        keys = self.jwks_cache.peek()
        return keys.find(kid, alg) if keys is not None else None

    def close(self) -> None:
        self.http.close()

    async def aclose(self) -> None:
        await self.http.aclose()
