"""OpenID Connect id_tokens, including for clients DOT created with a blank algorithm."""

import json

import pytest
from django.conf import settings
from jwcrypto import jwk, jwt

from tests.conftest import make_public_client

pytestmark = pytest.mark.django_db


def verify_with_jwks(client, id_token):
    keys = jwk.JWKSet.from_json(client.get("/oauth/jwks").content)
    return json.loads(jwt.JWT(jwt=id_token, key=keys).claims)


@pytest.mark.parametrize("algorithm", ["", "RS256"])
def test_openid_scope_gets_a_verifiable_id_token(client, tokens, user, algorithm):
    app = make_public_client(algorithm=algorithm)
    body = tokens(app, scope="openid profile", nonce="n-123")
    claims = verify_with_jwks(client, body["id_token"])
    assert claims["iss"] == settings.ISSUER
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == app.client_id
    assert claims["nonce"] == "n-123"


def test_no_openid_scope_no_id_token(tokens, public_client):
    assert "id_token" not in tokens(public_client, scope="mcp:tools")


def test_jwks_is_public_and_cacheable(client):
    response = client.get("/oauth/jwks")
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    published = response.json()["keys"]
    assert {key["kty"] for key in published} == {"RSA", "EC"}  # id_tokens, access tokens
    assert all("d" not in key and key["kid"] and key["use"] == "sig" for key in published)
