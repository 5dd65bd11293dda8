"""RFC 9068 JWT access tokens: what they say, how they are stored, and that everything that
worked with opaque tokens (revocation, introspection, userinfo, refresh) works with them."""

import base64
import hashlib
import json

import pytest
from django.conf import settings
from jwcrypto import jwk, jws, jwt
from oauth2_provider.models import get_access_token_model

from resource_server import InvalidToken, ResourceServerConfig, build_verifier
from tests.conftest import basic_auth, django_transport, form_post, make_confidential_client

AccessToken = get_access_token_model()
MCP = "https://mcp.example.com/mcp"

pytestmark = pytest.mark.django_db


def segments(token: str) -> tuple[dict, dict]:
    def part(data: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))

    header, payload, _ = token.split(".")
    return part(header), part(payload)


def jwks(client) -> jwk.JWKSet:
    return jwk.JWKSet.from_json(client.get("/oauth/jwks").content)


def kit(client, mode="jwt", resource=MCP, **extra):
    config = ResourceServerConfig(issuer=settings.ISSUER, resource=resource, mode=mode, **extra)
    return build_verifier(config, transport=django_transport(client))


def refresh(client, app, refresh_token):
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id}
    return form_post(client, "/oauth/token", body)


def introspect(client, token, rs, **headers):
    headers.setdefault("HTTP_AUTHORIZATION", basic_auth(rs.client_id, rs.plain_secret))
    return form_post(client, "/oauth/introspect", {"token": token}, **headers)


def test_code_flow_issues_an_rfc_9068_jwt(client, tokens, public_client, user):
    body = tokens(public_client, resource=MCP)
    header, claims = segments(body["access_token"])
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": header["kid"]}
    assert claims["iss"] == settings.ISSUER
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == MCP
    assert claims["client_id"] == public_client.client_id
    assert claims["scope"] == body["scope"] == "openid profile email mcp:tools"
    assert claims["exp"] - claims["iat"] == body["expires_in"] == settings.ACCESS_TOKEN_EXPIRE_SECONDS
    assert len(claims["jti"]) == 32
    # Verifiable with the published keys, by kid.
    verified = jwt.JWT(jwt=body["access_token"], key=jwks(client), expected_type="JWS")
    assert json.loads(verified.claims) == claims


def test_without_resource_the_audience_is_the_default_audience(tokens, public_client):
    _, claims = segments(tokens(public_client)["access_token"])
    assert claims["aud"] == settings.DEFAULT_AUDIENCE


def test_the_jwt_is_stored_hashed_never_in_plaintext(tokens, public_client):
    access = tokens(public_client, resource=MCP)["access_token"]
    row = AccessToken.objects.get()
    assert row.token == ""
    assert row.token_checksum == hashlib.sha256(access.encode()).hexdigest()
    assert row.resource == [MCP]


def test_client_credentials_jwt_names_the_client_as_subject(client, confidential_client):
    response = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "mcp:tools", "resource": MCP},
        HTTP_AUTHORIZATION=basic_auth(confidential_client.client_id, confidential_client.plain_secret),
    )
    assert response.status_code == 200
    _, claims = segments(response.json()["access_token"])
    assert claims["sub"] == claims["client_id"] == confidential_client.client_id
    assert claims["aud"] == MCP


def test_opaque_format_issues_random_strings(settings, tokens, public_client):
    settings.ACCESS_TOKEN_FORMAT = "opaque"
    access = tokens(public_client)["access_token"]
    assert "." not in access and len(access) >= 30


def test_rs256_access_tokens_share_the_id_token_key(settings, client, tokens, public_client):
    settings.ACCESS_TOKEN_SIGNING_ALG = "RS256"
    body = tokens(public_client, scope="openid mcp:tools")
    access_header, _ = segments(body["access_token"])
    id_header, _ = segments(body["id_token"])
    assert access_header["alg"] == id_header["alg"] == "RS256"
    assert access_header["kid"] == id_header["kid"]
    assert [key["kty"] for key in client.get("/oauth/jwks").json()["keys"]] == ["RSA"]


def test_id_token_at_hash_matches_the_jwt_access_token(client, tokens, public_client):
    body = tokens(public_client, scope="openid mcp:tools")
    id_token = jwt.JWT(jwt=body["id_token"], key=jwks(client))
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert json.loads(id_token.claims)["at_hash"] == expected


def test_refresh_issues_a_new_jwt_with_the_same_audience_and_retires_the_old(client, tokens, public_client):
    rs = make_confidential_client(name="MCP server")
    first = tokens(public_client, resource=MCP)
    response = refresh(client, public_client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert segments(second["access_token"])[1]["aud"] == MCP
    assert segments(second["access_token"])[1]["jti"] != segments(first["access_token"])[1]["jti"]
    assert introspect(client, first["access_token"], rs).json() == {"active": False}
    assert introspect(client, second["access_token"], rs).json()["active"] is True


def test_refresh_repeated_in_the_grace_window_returns_the_same_jwt(client, tokens, public_client):
    first = tokens(public_client, resource=MCP)
    a = refresh(client, public_client, first["refresh_token"]).json()
    b = refresh(client, public_client, first["refresh_token"]).json()
    assert a["access_token"] == b["access_token"]
    assert AccessToken.objects.filter(token_checksum=hashlib.sha256(a["access_token"].encode()).hexdigest())


def test_revoked_jwt_is_refused_by_userinfo_and_inactive_at_introspection(client, tokens, public_client):
    rs = make_confidential_client(name="MCP server")
    access = tokens(public_client)["access_token"]
    assert client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    form_post(client, "/oauth/revoke", {"token": access, "client_id": public_client.client_id})
    info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert info.status_code == 401
    assert 'error="invalid_token"' in info["WWW-Authenticate"]
    assert introspect(client, access, rs).json() == {"active": False}


def test_introspection_of_a_jwt_answers_every_rfc_7662_member(client, tokens, public_client, user):
    rs = make_confidential_client(name="MCP server")
    access = tokens(public_client, resource=MCP)["access_token"]
    _, claims = segments(access)
    body = introspect(client, access, rs).json()
    assert body == {
        "active": True,
        "iss": settings.ISSUER,
        "token_type": "Bearer",
        "scope": claims["scope"],
        "exp": body["exp"],
        "iat": body["iat"],
        "client_id": public_client.client_id,
        "sub": str(user.pk),
        "username": "alice",
        "aud": [MCP],
    }
    assert abs(body["exp"] - claims["exp"]) <= 2 and abs(body["iat"] - claims["iat"]) <= 2


def test_bearer_token_with_introspection_scope_may_introspect(client, tokens, public_client):
    rs = make_confidential_client(name="MCP server")
    issued = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "introspection"},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs.plain_secret),
    ).json()
    access = tokens(public_client, resource=MCP)["access_token"]
    host = settings.ISSUER.split("://", 1)[1]  # the caller's token is for this server
    response = form_post(
        client,
        "/oauth/introspect",
        {"token": access},
        HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}",
        HTTP_HOST=host,
    )
    assert response.status_code == 200
    assert response.json()["active"] is True


def test_another_issuers_token_is_inactive(client, tokens, public_client):
    rs = make_confidential_client(name="MCP server")
    _, claims = segments(tokens(public_client, resource=MCP)["access_token"])
    foreign_key = jwk.JWK.generate(kty="EC", crv="P-256", kid="elsewhere")
    foreign = jws.JWS(json.dumps({**claims, "iss": "https://other-as.example"}))
    foreign.add_signature(
        foreign_key, alg="ES256", protected={"alg": "ES256", "typ": "at+jwt", "kid": "elsewhere"}
    )
    assert introspect(client, foreign.serialize(compact=True), rs).json() == {"active": False}


def test_the_kit_validates_our_tokens_locally(client, tokens, public_client, user):
    access = tokens(public_client, resource=MCP)["access_token"]
    info = kit(client).verify(access)
    assert info.subject == str(user.pk)
    assert info.client_id == public_client.client_id
    assert "mcp:tools" in info.scopes
    with pytest.raises(InvalidToken, match="not intended for this resource"):
        kit(client, resource="https://other-mcp.example.com/mcp").verify(access)


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_the_kit_in_introspection_mode_sees_revocation(settings, client, tokens, public_client, token_format):
    settings.ACCESS_TOKEN_FORMAT = token_format
    rs = make_confidential_client(name="MCP server")
    access = tokens(public_client, resource=MCP)["access_token"]
    verifier = kit(client, mode="introspection", client_id=rs.client_id, client_secret=rs.plain_secret)
    assert verifier.verify(access).audience == (MCP,)
    form_post(client, "/oauth/revoke", {"token": access, "client_id": public_client.client_id})
    fresh = kit(client, mode="introspection", client_id=rs.client_id, client_secret=rs.plain_secret)
    with pytest.raises(InvalidToken, match="not active"):
        fresh.verify(access)


def test_the_kit_in_userinfo_mode_accepts_our_jwts(client, tokens, public_client, user):
    access = tokens(public_client, resource=MCP)["access_token"]
    assert kit(client, mode="userinfo").verify(access).subject == str(user.pk)


def test_auto_mode_validates_jwts_locally_and_introspects_opaque_tokens(
    settings, client, tokens, public_client
):
    rs = make_confidential_client(name="MCP server")
    verifier = kit(client, mode="auto", client_id=rs.client_id, client_secret=rs.plain_secret)
    assert verifier.verify(tokens(public_client, resource=MCP)["access_token"]).source == "jwt"
    settings.ACCESS_TOKEN_FORMAT = "opaque"
    assert verifier.verify(tokens(public_client, resource=MCP)["access_token"]).source == "introspection"


def test_userinfo_with_a_jwt_is_one_query(client, tokens, public_client, django_assert_num_queries):
    access = tokens(public_client, scope="profile mcp:tools")["access_token"]
    with django_assert_num_queries(1):  # the token by its indexed checksum, joined with its user
        response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200


def test_introspection_of_a_jwt_is_one_query(client, tokens, public_client, django_assert_num_queries):
    rs = make_confidential_client(name="MCP server")
    access = tokens(public_client, resource=MCP)["access_token"]
    introspect(client, access, rs)  # the caller's client is now cached
    with django_assert_num_queries(1):  # the token with its user and client, one indexed lookup
        assert introspect(client, access, rs).json()["active"] is True


def test_the_mcp_sdk_token_verifier_accepts_our_jwts(client, tokens, public_client, user):
    pytest.importorskip("mcp")
    import asyncio

    from resource_server import MCPTokenVerifier

    access = tokens(public_client, resource=MCP)["access_token"]
    verifier = kit(client)
    verifier.verify(access)  # fetch metadata and keys synchronously (the test transport is sync)
    result = asyncio.run(MCPTokenVerifier(verifier).verify_token(access))
    assert result.client_id == public_client.client_id
    assert result.subject == str(user.pk)
    assert result.resource == MCP
    assert "mcp:tools" in result.scopes
    assert (
        asyncio.run(MCPTokenVerifier(kit(client, resource="https://x.example/mcp")).verify_token(access))
        is None
    )
