"""Opaque tokens: RFC 7662 introspection, userinfo, and auto mode."""

from __future__ import annotations

import asyncio

import pytest

from resource_server import (
    ConfigurationError,
    InvalidToken,
    ResourceServerConfig,
    TemporarilyUnavailable,
    build_verifier,
)

OPAQUE = "opaque-9f8e7d6c5b4a"


def introspections(fake_as) -> int:
    return fake_as.hits["/oauth/introspect"]


def test_active_token_is_accepted(fake_as, make_verifier):
    fake_as.active(OPAQUE)
    info = make_verifier("introspection").verify(OPAQUE)
    assert (info.subject, info.client_id, info.source) == ("user-42", "client-7", "introspection")
    assert info.scopes == frozenset({"mcp:tools", "mcp:read"})
    assert info.claims["username"] == "alice"
    # RFC 7662 §2.1 form POST, authenticated with the RS's form-encoded Basic credentials.
    assert fake_as.introspection_forms[-1] == {"token": OPAQUE, "token_type_hint": "access_token"}
    assert fake_as.introspection_auth[-1] == (fake_as.client_id, fake_as.client_secret)


def test_inactive_and_revoked_tokens_are_rejected(fake_as, make_verifier, clock):
    verifier = make_verifier("introspection", token_cache_ttl=10)
    with pytest.raises(InvalidToken, match="not active"):
        verifier.verify("never-issued")
    fake_as.active(OPAQUE)
    assert verifier.verify(OPAQUE).subject == "user-42"
    fake_as.introspection[OPAQUE] = {"active": False}  # revoked at the AS
    clock.advance(11)  # the positive result's cache lifetime is over
    with pytest.raises(InvalidToken, match="not active"):
        verifier.verify(OPAQUE)


def test_results_are_cached_within_ttl(fake_as, make_verifier, clock):
    fake_as.active(OPAQUE)
    verifier = make_verifier("introspection", token_cache_ttl=60)
    for _ in range(5):
        verifier.verify(OPAQUE)
    asyncio.run(verifier.averify(OPAQUE))
    assert introspections(fake_as) == 1
    clock.advance(61)
    verifier.verify(OPAQUE)
    assert introspections(fake_as) == 2


def test_cache_never_outlives_exp(fake_as, make_verifier, clock):
    fake_as.active(OPAQUE, exp=int(clock.time()) + 5)
    verifier = make_verifier("introspection", token_cache_ttl=60)
    verifier.verify(OPAQUE)
    clock.advance(6)
    fake_as.introspection[OPAQUE] = {"active": False}  # the AS reports expiry as inactive
    with pytest.raises(InvalidToken):
        verifier.verify(OPAQUE)
    assert introspections(fake_as) == 2


def test_negative_results_are_cached_briefly(fake_as, make_verifier, clock):
    verifier = make_verifier("introspection", negative_cache_ttl=5)
    for _ in range(3):
        with pytest.raises(InvalidToken):
            verifier.verify(OPAQUE)
    assert introspections(fake_as) == 1
    fake_as.active(OPAQUE)
    clock.advance(6)
    assert verifier.verify(OPAQUE).subject == "user-42"


def test_introspection_checks_audience_issuer_and_token_type(fake_as, make_verifier):
    verifier = make_verifier("introspection")
    cases = {
        "wrong-aud": ({"aud": "https://other.example.com"}, "not intended"),
        "no-aud": ({"aud": None}, "not intended"),
        "wrong-iss": ({"iss": "https://evil.example.com"}, "another authorization server"),
        "refresh": ({"token_type": "refresh_token"}, "not an access token"),
    }
    for token, (overrides, message) in cases.items():
        fake_as.active(token)
        fake_as.introspection[token].update(overrides)
        fake_as.introspection[token] = {
            k: v for k, v in fake_as.introspection[token].items() if v is not None
        }
        with pytest.raises(InvalidToken, match=message):
            verifier.verify(token)


def test_introspection_without_credentials_is_a_clear_config_error(fake_as, make_verifier):
    with pytest.raises(ConfigurationError, match="client_id and client_secret"):
        ResourceServerConfig(issuer=fake_as.issuer, resource=fake_as.resource, mode="introspection")
    # auto mode can run JWT-only; the first opaque token then surfaces the missing credentials.
    verifier = make_verifier("auto", client_id=None, client_secret=None)
    assert verifier.verify(fake_as.mint()).subject == "user-42"
    with pytest.raises(ConfigurationError, match="client_id and client_secret"):
        verifier.verify(OPAQUE)
    with pytest.raises(ConfigurationError, match="client_id and client_secret"):
        asyncio.run(verifier.averify(OPAQUE))
    assert introspections(fake_as) == 0


def test_rejected_rs_credentials_are_a_config_error(fake_as, make_verifier):
    verifier = make_verifier("introspection", client_secret="wrong")  # noqa: S106
    with pytest.raises(ConfigurationError, match="refused"):
        verifier.verify(OPAQUE)


def test_introspection_outage_fails_closed_with_backoff(fake_as, make_verifier, clock):
    fake_as.active(OPAQUE)
    verifier = make_verifier("introspection")
    fake_as.down.add("/oauth/introspect")
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(OPAQUE)
    with pytest.raises(TemporarilyUnavailable):
        asyncio.run(verifier.averify(OPAQUE))
    assert introspections(fake_as) == 1
    fake_as.down.clear()
    clock.advance(1.5)
    assert verifier.verify(OPAQUE).subject == "user-42"


def test_auto_mode_routes_jwts_locally_and_opaque_tokens_to_introspection(fake_as, make_verifier):
    fake_as.active(OPAQUE)
    verifier = make_verifier("auto")
    assert verifier.verify(fake_as.mint()).source == "jwt"
    assert introspections(fake_as) == 0
    assert verifier.verify(OPAQUE).source == "introspection"
    assert asyncio.run(verifier.averify(OPAQUE)).source == "introspection"
    assert introspections(fake_as) == 1


def test_jwt_mode_rejects_opaque_tokens_without_calling_the_as(fake_as, make_verifier):
    with pytest.raises(InvalidToken, match="not a valid JWT"):
        make_verifier("jwt").verify(OPAQUE)
    assert sum(fake_as.hits.values()) == 0


def test_userinfo_mode(fake_as, make_verifier, clock):
    fake_as.active(OPAQUE)
    verifier = make_verifier("userinfo")
    info = verifier.verify(OPAQUE)
    assert (info.subject, info.source, info.scopes, info.audience) == ("user-42", "userinfo", frozenset(), ())
    assert info.claims["email"] == "alice@example.com"
    assert asyncio.run(verifier.averify(OPAQUE)).subject == "user-42"
    assert fake_as.hits["/oauth/userinfo"] == 1  # cached
    with pytest.raises(InvalidToken, match="rejected"):
        verifier.verify("unknown-token")
    fake_as.down.add("/oauth/userinfo")
    clock.advance(61)
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(OPAQUE)


def test_endpoint_missing_from_metadata_is_a_config_error(fake_as, clock):
    original = fake_as.metadata
    fake_as.metadata = lambda: {k: v for k, v in original().items() if k != "userinfo_endpoint"}
    config = ResourceServerConfig(issuer=fake_as.issuer, resource=fake_as.resource, mode="userinfo")
    verifier = build_verifier(config, transport=fake_as.transport(), clock=clock)
    with pytest.raises(ConfigurationError, match="userinfo_endpoint"):
        verifier.verify(OPAQUE)
