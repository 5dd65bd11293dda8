"""Metadata/JWKS fetching: failure handling, backoff, caching, and a real HTTP round trip."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jwcrypto import jwt

from resource_server import (
    ConfigurationError,
    InvalidToken,
    ResourceServerConfig,
    TemporarilyUnavailable,
    build_verifier,
)
from resource_server.discovery import parse_max_age


def test_jwks_down_fails_closed_backs_off_then_recovers(fake_as, make_verifier, clock):
    verifier = make_verifier()
    token = fake_as.mint()
    fake_as.down.add("/oauth/jwks")
    with pytest.raises(TemporarilyUnavailable) as first:
        verifier.verify(token)
    assert first.value.retry_after >= 1
    assert fake_as.hits["/oauth/jwks"] == 1
    # Within the backoff window nothing is sent to the AS, and nothing is accepted.
    for _ in range(20):
        with pytest.raises(TemporarilyUnavailable):
            verifier.verify(token)
    assert fake_as.hits["/oauth/jwks"] == 1
    clock.advance(1.1)  # first backoff (1 s) over: one retry, which fails again
    with pytest.raises(TemporarilyUnavailable):
        asyncio.run(verifier.averify(token))
    assert fake_as.hits["/oauth/jwks"] == 2
    clock.advance(1.1)  # second backoff is 2 s: still waiting
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(token)
    assert fake_as.hits["/oauth/jwks"] == 2
    fake_as.down.clear()
    clock.advance(1)
    assert verifier.verify(token).subject == "user-42"
    assert fake_as.hits["/oauth/jwks"] == 3


def test_metadata_down_is_also_unavailable(fake_as, make_verifier, clock):
    fake_as.down.add("/.well-known/oauth-authorization-server")
    verifier = make_verifier()
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(fake_as.mint())
    fake_as.down.clear()
    clock.advance(120)
    assert verifier.verify(fake_as.mint()).subject == "user-42"


def test_known_keys_survive_a_short_outage_but_not_a_long_one(fake_as, make_verifier, clock):
    verifier = make_verifier(jwt_cache_size=0)
    assert verifier.verify(fake_as.mint()).subject == "user-42"
    fake_as.down.add("/oauth/jwks")
    clock.advance(301)  # JWKS TTL over, refresh fails: stale-if-error keeps the known key
    assert verifier.verify(fake_as.mint(jti="2")).subject == "user-42"
    clock.advance(600)  # beyond stale_if_error (600 s): fail closed
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(fake_as.mint(jti="3"))


def test_metadata_with_another_issuer_is_refused(fake_as, make_verifier):
    fake_as.metadata_issuer = "https://evil.example.com"  # RFC 8414 §3.3 mix-up protection
    with pytest.raises(TemporarilyUnavailable):
        make_verifier().verify(fake_as.mint())
    assert fake_as.hits["/oauth/jwks"] == 0


def test_configured_jwks_uri_skips_discovery(fake_as, make_verifier):
    verifier = make_verifier(jwks_uri="https://auth.example.com/oauth/jwks")
    assert verifier.verify(fake_as.mint()).subject == "user-42"
    assert fake_as.hits["/.well-known/oauth-authorization-server"] == 0


def test_concurrent_cold_start_fetches_once(fake_as, make_verifier):
    verifier = make_verifier()
    tokens = [fake_as.mint(jti=str(i)) for i in range(16)]
    results: list[str | None] = []
    barrier = threading.Barrier(len(tokens))

    def worker(token: str) -> None:
        barrier.wait()
        results.append(verifier.verify(token).subject)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["user-42"] * 16
    assert fake_as.hits["/oauth/jwks"] == 1
    assert fake_as.hits["/.well-known/oauth-authorization-server"] == 1


def test_concurrent_async_cold_start_fetches_once(fake_as, make_verifier):
    verifier = make_verifier()

    async def main() -> list[str | None]:
        infos = await asyncio.gather(*(verifier.averify(fake_as.mint(jti=str(i))) for i in range(16)))
        await verifier.aclose()
        return [i.subject for i in infos]

    assert asyncio.run(main()) == ["user-42"] * 16
    assert fake_as.hits["/oauth/jwks"] == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("public, max-age=600", 600.0),
        ('max-age="30", must-revalidate', 30.0),
        ("no-store", 0.0),
        ("s-maxage=5", None),
    ],
)
def test_parse_max_age(header, expected):
    assert parse_max_age(header) == expected


def test_config_validation():
    with pytest.raises(ConfigurationError, match="https"):
        ResourceServerConfig(issuer="http://auth.example.com", resource="https://r.example")
    with pytest.raises(ConfigurationError, match="fragment"):
        ResourceServerConfig(issuer="https://a.example", resource="https://r.example/mcp#x")
    with pytest.raises(ConfigurationError, match="mode"):
        ResourceServerConfig(issuer="https://a.example", resource="https://r.example", mode="magic")  # type: ignore[arg-type]
    loopback = ResourceServerConfig(issuer="http://127.0.0.1:8000/", resource="http://localhost:9000/mcp")
    assert loopback.issuer == "http://127.0.0.1:8000"
    assert (
        loopback.authorization_server_metadata_url
        == "http://127.0.0.1:8000/.well-known/oauth-authorization-server"
    )
    assert loopback.resource_metadata_url == "http://localhost:9000/.well-known/oauth-protected-resource/mcp"
    with_path = ResourceServerConfig(issuer="https://a.example/tenant", resource="https://r.example")
    assert with_path.authorization_server_metadata_url == (
        "https://a.example/.well-known/oauth-authorization-server/tenant"
    )
    assert "client_secret" not in repr(
        ResourceServerConfig(issuer="https://a.example", resource="https://r.example")
    )


class _RealAS(BaseHTTPRequestHandler):
    """A tiny real HTTP server, to exercise the default httpx transports end to end."""

    documents: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        body = self.documents.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "max-age=120")
        self.end_headers()
        self.wfile.write(body or b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_real_http_server_round_trip(keys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RealAS)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    _RealAS.documents = {
        "/.well-known/oauth-authorization-server": json.dumps(
            {"issuer": issuer, "jwks_uri": f"{issuer}/oauth/jwks"}
        ).encode(),
        "/oauth/jwks": json.dumps({"keys": [json.loads(keys["ec-1"].export_public())]}).encode(),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        resource = "http://127.0.0.1:9/mcp"
        now = int(time.time())
        claims = {"iss": issuer, "sub": "u", "aud": [resource], "client_id": "c", "exp": now + 60, "iat": now}
        token = jwt.JWT(header={"alg": "ES256", "kid": "ec-1", "typ": "at+jwt"}, claims=claims)
        token.make_signed_token(keys["ec-1"])
        verifier = build_verifier(ResourceServerConfig(issuer=issuer, resource=resource, mode="jwt"))
        assert verifier.verify(token.serialize()).subject == "u"

        async def via_async() -> str | None:
            fresh = build_verifier(ResourceServerConfig(issuer=issuer, resource=resource, mode="jwt"))
            try:
                return (await fresh.averify(token.serialize())).subject
            finally:
                await fresh.aclose()

        assert asyncio.run(via_async()) == "u"
        with pytest.raises(InvalidToken):
            verifier.verify(token.serialize()[:-4] + "AAAA")
        verifier.close()
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_as_is_unavailable_not_a_crash():
    # Port 9 on loopback: nothing listens, so the connection is refused immediately.
    config = ResourceServerConfig(issuer="http://127.0.0.1:9", resource="http://127.0.0.1:8/mcp", mode="jwt")
    verifier = build_verifier(config)
    header = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsifQ"
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(f"{header}.e30.AAAA")
