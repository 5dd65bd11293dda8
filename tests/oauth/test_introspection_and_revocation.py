"""Introspection is for resource servers only; revocation per RFC 7009; client_credentials."""

import pytest
from django.conf import settings
from oauth2_provider.models import get_access_token_model

from tests.conftest import basic_auth, form_post, make_confidential_client

AccessToken = get_access_token_model()

pytestmark = pytest.mark.django_db


def client_credentials(client, app, **extra):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", **extra},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, app.plain_secret),
    )


def test_client_credentials_issues_a_user_less_token(client, confidential_client):
    response = client_credentials(client, confidential_client, scope="mcp:tools")
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "mcp:tools"
    assert "refresh_token" not in body
    assert AccessToken.objects.get().user is None


def test_client_credentials_with_secret_in_body(client, confidential_client):
    response = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": confidential_client.client_id,
            "client_secret": confidential_client.plain_secret,
        },
    )
    assert response.status_code == 200


def test_wrong_secret_is_invalid_client(client, confidential_client):
    response = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(confidential_client.client_id, "wrong"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_confidential_client_introspects_a_user_token(client, tokens, public_client, user):
    rs = make_confidential_client(name="MCP server")
    access = tokens(public_client, resource="https://mcp.example.com/mcp")["access_token"]
    response = form_post(
        client,
        "/oauth/introspect",
        {"token": access},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs.plain_secret),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["sub"] == str(user.pk)
    assert body["username"] == "alice"
    assert body["client_id"] == public_client.client_id
    assert body["aud"] == ["https://mcp.example.com/mcp"]
    assert body["iss"] == settings.ISSUER
    assert body["token_type"] == "Bearer"
    assert body["exp"] > body["iat"]


def test_introspection_of_unknown_token_is_inactive_only(client):
    rs = make_confidential_client(name="MCP server")
    response = form_post(
        client,
        "/oauth/introspect",
        {"token": "nope"},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs.plain_secret),
    )
    assert response.json() == {"active": False}


def test_introspection_without_credentials_is_401(client, tokens, public_client):
    access = tokens(public_client)["access_token"]
    response = form_post(client, "/oauth/introspect", {"token": access})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "Basic" in response["WWW-Authenticate"]


def test_public_client_cannot_introspect_with_device_code_trick(client, tokens, public_client):
    # DOT 3.4.1: a public client_id plus the device_code grant_type passed client auth.
    access = tokens(public_client)["access_token"]
    response = form_post(
        client,
        "/oauth/introspect",
        {
            "token": access,
            "client_id": public_client.client_id,
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        },
    )
    assert response.status_code == 401
    assert "active" not in response.json()


def test_public_client_cannot_introspect_with_its_client_id(client, tokens, public_client):
    access = tokens(public_client)["access_token"]
    response = form_post(client, "/oauth/introspect", {"token": access, "client_id": public_client.client_id})
    assert response.status_code == 401


def test_user_token_without_introspection_scope_cannot_introspect(client, tokens, public_client):
    access = tokens(public_client)["access_token"]
    response = form_post(
        client, "/oauth/introspect", {"token": access}, HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'scope="introspection"' in response["WWW-Authenticate"]


def test_revoke_access_token_then_userinfo_is_401(client, tokens, public_client):
    body = tokens(public_client)
    response = form_post(
        client, "/oauth/revoke", {"token": body["access_token"], "client_id": public_client.client_id}
    )
    assert response.status_code == 200
    info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert info.status_code == 401
    assert 'error="invalid_token"' in info["WWW-Authenticate"]


def test_revoke_refresh_token_stops_refresh(client, tokens, public_client):
    body = tokens(public_client)
    form_post(
        client,
        "/oauth/revoke",
        {
            "token": body["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": public_client.client_id,
        },
    )
    response = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": public_client.client_id,
        },
    )
    assert response.status_code == 400


def test_revoke_unknown_token_is_200(client, public_client):
    response = form_post(client, "/oauth/revoke/", {"token": "nope", "client_id": public_client.client_id})
    assert response.status_code == 200


def test_another_client_cannot_revoke_my_token(client, tokens, public_client):
    from tests.conftest import make_public_client

    other = make_public_client(name="Other")
    body = tokens(public_client)
    form_post(client, "/oauth/revoke", {"token": body["access_token"], "client_id": other.client_id})
    info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert info.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("grant_type=client_credentials&client_id=nobody&client_secret=wrong", "invalid_client"),
        ("grant_type=refresh_token&refresh_token=made-up&client_id=nobody", "invalid_client"),
    ],
)
def test_every_token_error_says_what_went_wrong(client, body, error):
    response = client.post("/oauth/token", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 401)
    assert response.json()["error"] == error
    assert response.json()["error_description"].startswith("Client authentication failed")
    assert response["Cache-Control"] == "no-store"
