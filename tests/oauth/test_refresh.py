"""Refresh with rotation, the concurrent-refresh grace window, and reuse detection."""

import pytest
from django.core.cache import cache
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from oauth.validator import checksum
from tests.conftest import form_post

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def refresh(client, app, refresh_token, **extra):
    body = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": app.client_id,
        **extra,
    }
    return form_post(client, "/oauth/token", body)


def userinfo_status(client, access_token):
    return client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code


def test_refresh_rotates_the_pair(client, tokens, public_client):
    first = tokens(public_client)
    response = refresh(client, public_client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]
    assert userinfo_status(client, second["access_token"]) == 200
    assert userinfo_status(client, first["access_token"]) == 401


def test_repeat_within_grace_window_returns_the_same_pair(client, tokens, public_client):
    first = tokens(public_client)
    a = refresh(client, public_client, first["refresh_token"]).json()
    b = refresh(client, public_client, first["refresh_token"])
    assert b.status_code == 200
    assert b.json()["access_token"] == a["access_token"]
    assert b.json()["refresh_token"] == a["refresh_token"]
    assert userinfo_status(client, a["access_token"]) == 200
    assert AccessToken.objects.count() == 1


def test_reuse_after_grace_window_revokes_the_whole_family(client, tokens, public_client, settings):
    settings.REFRESH_TOKEN_GRACE_SECONDS = 0
    first = tokens(public_client)
    second = refresh(client, public_client, first["refresh_token"]).json()
    third = refresh(client, public_client, second["refresh_token"]).json()
    replay = refresh(client, public_client, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The family is gone: the newest pair stops working too.
    assert userinfo_status(client, third["access_token"]) == 401
    assert refresh(client, public_client, third["refresh_token"]).status_code == 400
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_replay_after_the_new_pair_was_rotated_revokes_the_family(client, tokens, public_client):
    first = tokens(public_client)
    second = refresh(client, public_client, first["refresh_token"]).json()
    third = refresh(client, public_client, second["refresh_token"]).json()
    replay = refresh(client, public_client, first["refresh_token"])
    assert replay.status_code == 400
    assert userinfo_status(client, third["access_token"]) == 401


def test_grace_entry_expiry_then_reuse_revokes(client, tokens, public_client):
    first = tokens(public_client)
    second = refresh(client, public_client, first["refresh_token"]).json()
    cache.clear()  # the window has passed
    assert refresh(client, public_client, first["refresh_token"]).status_code == 400
    assert userinfo_status(client, second["access_token"]) == 401


def test_grace_pair_is_not_stored_in_plaintext(client, tokens, public_client):
    first = tokens(public_client)
    second = refresh(client, public_client, first["refresh_token"]).json()
    raw = cache.get(f"refresh-grace:{checksum(first['refresh_token'])}")
    assert raw  # the pair is there, but sealed
    assert second["access_token"].encode() not in raw
    assert second["refresh_token"].encode() not in raw


def test_refresh_token_of_another_client_is_refused(client, tokens, public_client):
    from tests.conftest import make_public_client

    other = make_public_client(name="Other")
    first = tokens(public_client)
    response = refresh(client, other, first["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_scope_escalation_at_refresh_is_refused(client, tokens, public_client):
    first = tokens(public_client, scope="mcp:tools")
    response = refresh(client, public_client, first["refresh_token"], scope="mcp:tools email")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_refresh_can_narrow_scope(client, tokens, public_client):
    first = tokens(public_client, scope="mcp:tools email")
    response = refresh(client, public_client, first["refresh_token"], scope="mcp:tools")
    assert response.status_code == 200
    assert response.json()["scope"] == "mcp:tools"


def test_unknown_refresh_token_is_invalid_grant(client, public_client):
    response = refresh(client, public_client, "not-a-token")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
