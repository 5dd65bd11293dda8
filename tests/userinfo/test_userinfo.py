"""`/oauth/userinfo` as an MCP server calls it with the user's token."""

import pytest
from django.contrib.auth.models import Group
from oauth2_provider.models import get_access_token_model

from tests.conftest import basic_auth, form_post, make_confidential_client

AccessToken = get_access_token_model()

pytestmark = pytest.mark.django_db


def get_info(client, token, method="get"):
    return getattr(client, method)("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_sub_only_for_a_token_without_openid_or_profile(client, tokens, public_client, user):
    token = tokens(public_client, scope="mcp:tools", resource="https://mcp.example.com")["access_token"]
    response = get_info(client, token)
    assert response.status_code == 200
    assert response.json() == {"sub": str(user.pk)}


def test_profile_and_email_claims(client, tokens, public_client, user):
    user.first_name, user.last_name = "Alice", "Liddell"
    user.save()
    token = tokens(public_client, scope="profile email")["access_token"]
    assert get_info(client, token).json() == {
        "sub": str(user.pk),
        "name": "Alice Liddell",
        "preferred_username": "alice",
        "given_name": "Alice",
        "family_name": "Liddell",
        "email": "alice@example.com",
        "email_verified": True,
    }


def test_groups_claim_with_groups_scope(client, tokens, public_client, user):
    user.groups.add(Group.objects.create(name="acme"), Group.objects.create(name="admins"))
    token = tokens(public_client, scope="groups")["access_token"]
    assert get_info(client, token).json()["groups"] == ["acme", "admins"]
    assert "groups" not in get_info(client, tokens(public_client, scope="profile")["access_token"]).json()


def test_post_works_like_get(client, tokens, public_client, user):
    token = tokens(public_client, scope="mcp:tools")["access_token"]
    response = get_info(client, token, method="post")
    assert response.status_code == 200
    assert response.json()["sub"] == str(user.pk)


def test_no_token_is_401_with_bare_bearer_challenge(client):
    response = client.get("/oauth/userinfo")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_invalid_token_is_401_invalid_token(client, db):
    response = get_info(client, "garbage")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json()["error"] == "invalid_token"


def test_expired_token_is_401(client, tokens, public_client):
    token = tokens(public_client)["access_token"]
    AccessToken.objects.update(expires="2000-01-01T00:00:00Z")
    assert get_info(client, token).status_code == 401


def test_token_in_query_string_is_refused(client, tokens, public_client):
    token = tokens(public_client)["access_token"]
    response = client.get("/oauth/userinfo", {"access_token": token})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_client_credentials_token_is_403_insufficient_scope(client):
    app = make_confidential_client()
    token = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, app.plain_secret),
    ).json()["access_token"]
    response = get_info(client, token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_inactive_user_token_is_refused(client, tokens, public_client, user):
    token = tokens(public_client)["access_token"]
    user.is_active = False
    user.save()
    response = get_info(client, token)
    # RFC 6750 §3.1: the token is no longer valid (no scope would help: not insufficient_scope).
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
