"""A fake authorization server (httpx.MockTransport) with real keys, and a controllable clock.

Tests use these through fixtures only (never ``import conftest``), so they keep working under
any pytest import mode.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
from jwcrypto import jwk, jwt

from resource_server import ResourceServerConfig, Verifier, build_verifier

ISSUER = "https://auth.example.com"
RESOURCE = "https://mcp.example.com/mcp"
RS_CLIENT_ID = "mcp-rs"
# Test credential with characters that RFC 6749 §2.3.1 form-encoding must escape.
RS_CLIENT_SECRET = "s3cret:/+ &"  # noqa: S105


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeClock:
    """Wall and monotonic time that move only when told to."""

    def __init__(self) -> None:
        self.wall = time.time()
        self.mono = 1000.0

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture(scope="session")
def keys() -> dict[str, jwk.JWK]:
    """Real keys, generated once per session (RSA generation is slow)."""
    return {
        "ec-1": jwk.JWK.generate(kty="EC", crv="P-256", kid="ec-1"),
        "ec-2": jwk.JWK.generate(kty="EC", crv="P-256", kid="ec-2"),
        "rsa-1": jwk.JWK.generate(kty="RSA", size=2048, kid="rsa-1"),
        "ed-1": jwk.JWK.generate(kty="OKP", crv="Ed25519", kid="ed-1"),
    }


class FakeAS:
    """Serves RFC 8414 metadata, JWKS, introspection and userinfo; counts requests per path."""

    def __init__(self, keys: dict[str, jwk.JWK], clock: FakeClock, issuer: str = ISSUER) -> None:
        self.keys, self.clock, self.issuer = keys, clock, issuer
        self.resource = RESOURCE
        self.client_id, self.client_secret = RS_CLIENT_ID, RS_CLIENT_SECRET
        self.published = ["ec-1", "rsa-1"]
        self.hits: Counter[str] = Counter()
        self.down: set[str] = set()  # paths answering 503
        self.jwks_cache_control = "max-age=300"
        self.metadata_issuer = issuer
        self.introspection: dict[str, dict[str, Any]] = {}
        self.introspection_auth: list[tuple[str, str]] = []
        self.introspection_forms: list[dict[str, str]] = []
        self.userinfo: dict[str, dict[str, Any]] = {}

    def metadata(self) -> dict[str, Any]:
        i = self.issuer
        return {
            "issuer": self.metadata_issuer,
            "authorization_endpoint": f"{i}/oauth/authorize",
            "token_endpoint": f"{i}/oauth/token",
            "registration_endpoint": f"{i}/oauth/register",
            "jwks_uri": f"{i}/oauth/jwks",
            "introspection_endpoint": f"{i}/oauth/introspect",
            "userinfo_endpoint": f"{i}/oauth/userinfo",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [json.loads(self.keys[kid].export_public()) for kid in self.published]}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.hits[path] += 1
        if path in self.down:
            return httpx.Response(503, text="down")
        if path == "/.well-known/oauth-authorization-server":
            return httpx.Response(200, json=self.metadata())
        if path == "/oauth/jwks":
            return httpx.Response(200, json=self.jwks(), headers={"Cache-Control": self.jwks_cache_control})
        if path == "/oauth/introspect":
            return self._introspect(request)
        if path == "/oauth/userinfo":
            auth = request.headers.get("authorization", "")
            claims = self.userinfo.get(auth.removeprefix("Bearer "))
            if claims is None:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return httpx.Response(200, json=claims)
        return httpx.Response(404)

    def _introspect(self, request: httpx.Request) -> httpx.Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        creds = (unquote_plus(user), unquote_plus(password))
        self.introspection_auth.append(creds)
        if scheme != "Basic" or creds != (RS_CLIENT_ID, RS_CLIENT_SECRET):
            return httpx.Response(401, json={"error": "invalid_client"})
        form = {
            k: unquote_plus(v) for k, _, v in (p.partition("=") for p in request.content.decode().split("&"))
        }
        self.introspection_forms.append(form)
        return httpx.Response(200, json=self.introspection.get(form.get("token", ""), {"active": False}))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock.time())
        claims = {
            "iss": self.issuer,
            "sub": "user-42",
            "aud": RESOURCE,
            "client_id": "client-7",
            "scope": "mcp:tools mcp:read",
            "exp": now + 600,
            "iat": now,
            "jti": "jti-1",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self, kid: str = "ec-1", alg: str = "ES256", header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        hdr = {"alg": alg, "kid": kid, "typ": "at+jwt", **(header or {})}
        token = jwt.JWT(header={k: v for k, v in hdr.items() if v is not None}, claims=self.claims(**claims))
        token.make_signed_token(self.keys[kid])
        return token.serialize()

    def active(self, token: str, **overrides: Any) -> None:
        """Register an opaque token as active in introspection and userinfo."""
        claims = self.claims(**overrides)
        self.introspection[token] = {"active": True, "token_type": "Bearer", "username": "alice", **claims}
        self.userinfo[token] = {"sub": claims["sub"], "email": "alice@example.com"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_as(keys: dict[str, jwk.JWK], clock: FakeClock) -> FakeAS:
    return FakeAS(keys, clock)


@pytest.fixture
def make_verifier(fake_as: FakeAS, clock: FakeClock) -> Callable[..., Verifier]:
    def make(mode: str = "jwt", **overrides: Any) -> Verifier:
        options: dict[str, Any] = {"issuer": ISSUER, "resource": RESOURCE, "mode": mode}
        if mode in ("introspection", "auto"):
            options.update(client_id=RS_CLIENT_ID, client_secret=RS_CLIENT_SECRET)
        options.update(overrides)
        return build_verifier(ResourceServerConfig(**options), transport=fake_as.transport(), clock=clock)

    return make
