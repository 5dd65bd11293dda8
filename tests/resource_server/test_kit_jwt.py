"""Local validation of RFC 9068 JWT access tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json

import pytest

from resource_server import ConfigurationError, InvalidToken, ResourceServerConfig, TokenInfo
from resource_server._jws import PublicKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks_fetches(fake_as) -> int:
    return fake_as.hits["/oauth/jwks"]


def test_valid_es256_token_is_accepted(fake_as, make_verifier):
    info = make_verifier().verify(fake_as.mint())
    assert isinstance(info, TokenInfo)
    assert info.subject == "user-42"
    assert info.client_id == "client-7"
    assert info.scopes == frozenset({"mcp:tools", "mcp:read"})
    assert info.audience == (fake_as.resource,)
    assert info.expires_at == fake_as.claims()["exp"]
    assert info.claims["jti"] == "jti-1"
    assert info.source == "jwt"


@pytest.mark.parametrize(("kid", "alg"), [("rsa-1", "RS256"), ("rsa-1", "PS256"), ("ed-1", "EdDSA")])
def test_other_asymmetric_algorithms_are_accepted(fake_as, make_verifier, kid, alg):
    fake_as.published.append("ed-1")
    assert make_verifier().verify(fake_as.mint(kid=kid, alg=alg)).subject == "user-42"


def test_async_verification_gives_the_same_result(fake_as, make_verifier):
    verifier = make_verifier()
    info = asyncio.run(verifier.averify(fake_as.mint()))
    assert info.subject == "user-42"


def test_tampered_signature_is_rejected(fake_as, make_verifier):
    header, payload, sig = fake_as.mint().split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    with pytest.raises(InvalidToken, match="signature"):
        make_verifier().verify(f"{header}.{payload}.{flipped}")


def test_tampered_payload_is_rejected(fake_as, make_verifier):
    header, _, sig = fake_as.mint().split(".")
    forged = b64url(json.dumps(fake_as.claims(scope="admin")).encode())
    with pytest.raises(InvalidToken, match="signature"):
        make_verifier().verify(f"{header}.{forged}.{sig}")


def test_alg_none_is_rejected(fake_as, make_verifier):
    header = b64url(json.dumps({"alg": "none", "typ": "at+jwt", "kid": "ec-1"}).encode())
    payload = b64url(json.dumps(fake_as.claims()).encode())
    verifier = make_verifier()
    for token in (f"{header}.{payload}.", f"{header}.{payload}.AAAA"):
        with pytest.raises(InvalidToken, match="algorithm"):
            verifier.verify(token)


@pytest.mark.parametrize("encoding", ["pem", "jwk_json"])
def test_hs256_signed_with_the_public_key_is_rejected(fake_as, make_verifier, keys, encoding):
    # The classic key-confusion attack: HMAC keyed with the AS's *public* key, which anyone has.
    public = keys["rsa-1"]
    secret = public.export_to_pem() if encoding == "pem" else public.export_public().encode()
    for kid in ("rsa-1", None):
        hdr = {"alg": "HS256", "typ": "at+jwt", **({"kid": kid} if kid else {})}
        signing_input = f"{b64url(json.dumps(hdr).encode())}.{b64url(json.dumps(fake_as.claims()).encode())}"
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken, match="algorithm"):
            make_verifier().verify(f"{signing_input}.{b64url(sig)}")


def test_symmetric_algorithms_cannot_be_configured():
    with pytest.raises(ConfigurationError, match="symmetric"):
        ResourceServerConfig(issuer="https://a.example", resource="https://r.example", algorithms=("HS256",))


def test_key_type_must_match_the_algorithm(fake_as, make_verifier):
    # An RS256 header pointing at the EC key (and vice versa) never verifies.
    _, payload, sig = fake_as.mint(kid="rsa-1", alg="RS256").split(".")
    header = b64url(json.dumps({"alg": "RS256", "kid": "ec-1", "typ": "at+jwt"}).encode())
    with pytest.raises(InvalidToken, match="known key"):
        make_verifier().verify(f"{header}.{payload}.{sig}")


def test_unknown_kid_refreshes_once_then_rejects_and_is_rate_limited(fake_as, make_verifier, clock, keys):
    verifier = make_verifier()
    verifier.verify(fake_as.mint())
    assert jwks_fetches(fake_as) == 1
    clock.advance(60)  # past the refresh rate limit, still within the JWKS TTL
    with pytest.raises(InvalidToken, match="known key"):
        verifier.verify(fake_as.mint(kid="ec-2"))  # kid not published: one refresh, then reject
    assert jwks_fetches(fake_as) == 2
    bogus = fake_as.mint(header={"kid": "made-up"})
    with pytest.raises(InvalidToken, match="known key"):
        verifier.verify(bogus)  # right after: no second fetch
    with pytest.raises(InvalidToken, match="known key"):
        asyncio.run(verifier.averify(bogus))
    assert jwks_fetches(fake_as) == 2
    assert verifier.verify(fake_as.mint()).subject == "user-42"  # known keys keep working


def test_key_rotation(fake_as, make_verifier, clock):
    verifier = make_verifier()
    old = fake_as.mint(kid="ec-1")
    assert verifier.verify(old).subject == "user-42"
    clock.advance(31)
    fake_as.published = ["ec-2", "ec-1"]  # the AS publishes a new key before using it
    new = fake_as.mint(kid="ec-2", jti="new")
    assert verifier.verify(new).claims["jti"] == "new"
    assert jwks_fetches(fake_as) == 2
    assert verifier.verify(fake_as.mint(kid="ec-1", jti="old-again")).subject == "user-42"
    # Once the old key is withdrawn and the cache expires, its tokens stop being accepted,
    # including one that sits in the verified-token cache.
    fake_as.published = ["ec-2"]
    clock.advance(301)
    with pytest.raises(InvalidToken, match="known key"):
        verifier.verify(old)
    assert verifier.verify(new).subject == "user-42"


def test_jwks_ttl_follows_cache_control_within_bounds(fake_as, make_verifier, clock):
    fake_as.jwks_cache_control = "public, max-age=5"  # below the 60 s floor
    verifier = make_verifier()
    verifier.verify(fake_as.mint())
    clock.advance(59)
    verifier.verify(fake_as.mint(jti="b"))
    assert jwks_fetches(fake_as) == 1
    clock.advance(2)
    verifier.verify(fake_as.mint(jti="c"))
    assert jwks_fetches(fake_as) == 2


def test_wrong_issuer_is_rejected(fake_as, make_verifier):
    for iss in ("https://evil.example.com", "https://auth.example.com/", None):
        with pytest.raises(InvalidToken, match="another authorization server"):
            make_verifier().verify(fake_as.mint(iss=iss))


def test_wrong_audience_is_rejected(fake_as, make_verifier):
    verifier = make_verifier()
    for aud in (
        "https://other.example.com/mcp",
        ["https://other.example.com"],
        "https://mcp.example.com",
        None,
    ):
        with pytest.raises(InvalidToken, match="not intended for this resource"):
            verifier.verify(fake_as.mint(aud=aud))


def test_audience_list_and_origin_trailing_slash(fake_as, make_verifier):
    aud = ["https://other.example.com", fake_as.resource]
    assert make_verifier().verify(fake_as.mint(aud=aud)).audience == tuple(aud)
    origin_rs = make_verifier(resource="https://mcp.example.com")
    assert origin_rs.verify(fake_as.mint(aud="https://mcp.example.com/", jti="x")).subject == "user-42"
    slash_rs = make_verifier(resource="https://MCP.example.com/")
    assert slash_rs.verify(fake_as.mint(aud="https://mcp.example.com", jti="y")).subject == "user-42"
    # A path is compared exactly: /mcp/ is not /mcp.
    with pytest.raises(InvalidToken):
        make_verifier().verify(fake_as.mint(aud=fake_as.resource + "/"))


def test_expired_token_is_rejected_after_the_leeway(fake_as, make_verifier, clock):
    now = int(clock.time())
    verifier = make_verifier()
    assert verifier.verify(fake_as.mint(exp=now - 20)).subject == "user-42"  # within 30 s leeway
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(fake_as.mint(exp=now - 31))
    with pytest.raises(InvalidToken, match="no expiry"):
        verifier.verify(fake_as.mint(exp=None))


def test_not_yet_valid_token_is_rejected(fake_as, make_verifier, clock):
    now = int(clock.time())
    verifier = make_verifier()
    with pytest.raises(InvalidToken, match="not valid yet"):
        verifier.verify(fake_as.mint(nbf=now + 120))
    with pytest.raises(InvalidToken, match="issued in the future"):
        verifier.verify(fake_as.mint(iat=now + 120))
    assert verifier.verify(fake_as.mint(nbf=now + 10, iat=now + 10)).subject == "user-42"


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt+x", None, "id+jwt"])
def test_typ_other_than_at_jwt_is_rejected(fake_as, make_verifier, typ):
    with pytest.raises(InvalidToken, match="typ"):
        make_verifier().verify(fake_as.mint(header={"typ": typ}))


@pytest.mark.parametrize("typ", ["AT+JWT", "application/at+jwt"])
def test_typ_variants_are_accepted(fake_as, make_verifier, typ):
    assert make_verifier().verify(fake_as.mint(header={"typ": typ})).subject == "user-42"


def test_crit_header_and_missing_claims_are_rejected(fake_as, make_verifier):
    verifier = make_verifier()
    with pytest.raises(InvalidToken, match="critical"):
        verifier.verify(fake_as.mint(header={"crit": ["b64"], "b64": True}))
    with pytest.raises(InvalidToken, match="sub or client_id"):
        verifier.verify(fake_as.mint(client_id=None))
    with pytest.raises(InvalidToken, match="exp claim is malformed"):
        verifier.verify(fake_as.mint(exp="tomorrow"))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "e30.e30.", "!!.??.##", "x" * 20000])
def test_garbage_is_rejected(make_verifier, token):
    with pytest.raises(InvalidToken):
        make_verifier().verify(token)


def test_encryption_keys_are_ignored(fake_as, make_verifier, keys):
    original = fake_as.jwks

    def jwks_with_enc_use():
        doc = original()
        for key in doc["keys"]:
            key["use"] = "enc"
        return doc

    fake_as.jwks = jwks_with_enc_use
    with pytest.raises(InvalidToken, match="known key"):
        make_verifier().verify(fake_as.mint())


def test_verified_token_cache_skips_signature_check_but_not_expiry(
    fake_as, make_verifier, clock, monkeypatch
):
    calls = []
    real_verify = PublicKey.verify

    def counting_verify(self, *args):
        calls.append(1)
        return real_verify(self, *args)

    monkeypatch.setattr(PublicKey, "verify", counting_verify)
    verifier = make_verifier()
    token = fake_as.mint(exp=int(clock.time()) + 100)
    for _ in range(5):
        verifier.verify(token)
    assert len(calls) == 1
    clock.advance(110)  # past exp, inside the leeway: the cache is bypassed, full check runs
    verifier.verify(token)
    assert len(calls) == 2
    clock.advance(30)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_verified_token_cache_can_be_disabled_and_is_bounded(fake_as, make_verifier):
    verifier = make_verifier(jwt_cache_size=3)
    for i in range(10):
        verifier.verify(fake_as.mint(jti=str(i)))
    assert len(verifier._cache) <= 3
    uncached = make_verifier(jwt_cache_size=0)
    uncached.verify(fake_as.mint())
    assert uncached._cache == {}
