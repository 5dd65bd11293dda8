"""The client admin: the secret is generated, shown once, never again."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_application_model

from oauth_clients import cache as client_cache
from tests.conftest import basic_auth, form_post

Client = get_application_model()

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/oauth_clients/client/add/"
LIST_URL = "/admin/oauth_clients/client/"


def add_form(**overrides):
    data = {
        "name": "Weather MCP server",
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "redirect_uris": "",
        "allowed_scopes": ["mcp:tools"],
        "allowed_resources": "https://weather.example.com/mcp",
        "description": "Introspects tokens",
    }
    data.update(overrides)
    return data


def shown_secret(response) -> str:
    match = re.search(
        r'class="vTextField client-secret" id="secret-1" value="([^"]+)"', response.content.decode()
    )
    assert match, response.content[:2000]
    return match.group(1)


def status_with(client, client_id, secret):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    ).status_code


def test_adding_a_confidential_client_shows_its_secret_once(admin_client):
    response = admin_client.post(ADD_URL, add_form())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert b"will not be shown again" in response.content
    secret = shown_secret(response)
    created = Client.objects.get(name="Weather MCP server")
    assert created.client_secret.startswith("hmac_sha256$")
    assert created.allowed_scopes == "mcp:tools"
    assert created.allowed_resources == "https://weather.example.com/mcp"
    assert status_with(admin_client, created.client_id, secret) == 200
    change_page = admin_client.get(f"{LIST_URL}{created.pk}/change/")
    listing = admin_client.get(LIST_URL)
    for page in (change_page, listing):
        assert page.status_code == 200
        assert secret.encode() not in page.content
        assert created.client_secret.encode() not in page.content
    assert b"never shown again" in change_page.content


def test_secret_is_not_kept_in_messages_or_session(admin_client):
    response = admin_client.post(ADD_URL, add_form())
    secret = shown_secret(response)
    assert secret not in str(admin_client.cookies)
    assert secret not in str(dict(admin_client.session))


def test_public_client_gets_no_secret_page(admin_client):
    response = admin_client.post(
        ADD_URL,
        add_form(
            name="Desktop app",
            client_type="public",
            authorization_grant_type="authorization-code",
            redirect_uris="http://127.0.0.1/callback\ncursor://anysphere.cursor-mcp/oauth/callback",
        ),
    )
    assert response.status_code == 302
    created = Client.objects.get(name="Desktop app")
    assert created.client_secret == ""
    assert created.redirect_uris == "http://127.0.0.1/callback cursor://anysphere.cursor-mcp/oauth/callback"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"authorization_grant_type": "authorization-code", "redirect_uris": ""},
            b"needs at least one redirect URI",
        ),
        (
            {"authorization_grant_type": "authorization-code", "redirect_uris": "http://evil.example/cb"},
            b"loopback",
        ),
        (
            {"authorization_grant_type": "authorization-code", "redirect_uris": "https://x.example/cb#f"},
            b"fragment",
        ),
        ({"authorization_grant_type": "password"}, b"Select a valid choice"),
        ({"authorization_grant_type": ""}, b"This field is required"),
        ({"allowed_scopes": ["nope"]}, b"Select a valid choice"),
        ({"client_type": "public"}, b"cannot use client credentials"),
        ({"allowed_resources": "mcp.example.com"}, b"absolute"),
    ],
)
def test_bad_input_shows_form_errors_and_saves_nothing(admin_client, overrides, message):
    response = admin_client.post(ADD_URL, add_form(**overrides))
    assert response.status_code == 200
    assert message in response.content
    assert not Client.objects.exists()


def test_rotate_action_with_grace_period(admin_client):
    secret = shown_secret(admin_client.post(ADD_URL, add_form()))
    created = Client.objects.get()
    confirm = admin_client.post(LIST_URL, {"action": "rotate_secret", "_selected_action": [created.pk]})
    assert confirm.status_code == 200
    assert b"Grace period" in confirm.content
    rotated = admin_client.post(
        LIST_URL,
        {"action": "rotate_secret", "_selected_action": [created.pk], "grace_seconds": "600", "apply": "1"},
    )
    new_secret = shown_secret(rotated)
    assert new_secret != secret
    assert status_with(admin_client, created.client_id, secret) == 200  # grace period
    assert status_with(admin_client, created.client_id, new_secret) == 200
    Client.objects.update(previous_secret_valid_until=timezone.now() - timedelta(seconds=1))
    client_cache.forget(created.client_id)  # a queryset update bypasses the save signal
    assert status_with(admin_client, created.client_id, secret) == 401
    assert status_with(admin_client, created.client_id, new_secret) == 200


def test_registered_dynamically_filter(admin_client):
    Client.objects.create(name="dyn", registration_source="dcr", redirect_uris="http://127.0.0.1/cb")
    Client.objects.create(name="manual one", redirect_uris="http://127.0.0.1/cb")
    dynamic = admin_client.get(LIST_URL, {"dynamic": "yes"}).content
    manual = admin_client.get(LIST_URL, {"dynamic": "no"}).content
    assert b"dyn" in dynamic and b"manual one" not in dynamic
    assert b"manual one" in manual
