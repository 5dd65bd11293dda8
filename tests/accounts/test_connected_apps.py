"""/account/apps/: what a person connected, and revoking it."""

from urllib.parse import urlencode

import pytest
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from oauth.models import Consent
from tests.conftest import Pkce, authorize_params, form_post, make_public_client, make_user

pytestmark = pytest.mark.django_db

MCP = "https://mcp.example.com/mcp"


def test_login_required(client):
    response = client.get("/account/apps/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/account/apps/")


def test_lists_granted_client_with_scopes_resource_and_dates(client, user, public_client, tokens):
    tokens(public_client, scope="openid mcp:tools", resource=MCP)
    page = client.get("/account/apps/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Test MCP client" in html
    assert "Use the tools of the MCP servers" in html
    assert MCP in html
    assert html.count("<time datetime=") == 2  # first allowed, last used
    assert "verified" not in html  # admin clients carry no marker


def test_dynamic_clients_are_marked_verified_or_unverified(client, user, settings):
    settings.DCR_TRUSTED_REDIRECT_HOSTS = ["claude.ai"]
    trusted = make_public_client(
        name="Claude", registration_source="dcr", redirect_uris="https://claude.ai/api/mcp/auth_callback"
    )
    unknown = make_public_client(
        name="Stranger", registration_source="dcr", redirect_uris="https://x.example/cb"
    )
    for app in (trusted, unknown):
        Consent.objects.create(
            user=user,
            application=app,
            scopes="mcp:tools",
            resources=MCP,
            last_authorized_at="2026-01-01T00:00Z",
        )
    client.force_login(user)
    html = client.get("/account/apps/").content.decode()
    assert 'class="badge verified"' in _heading(html, trusted)
    assert 'class="badge unverified"' in _heading(html, unknown)


def _heading(html: str, app) -> str:
    start = html.index(f'id="app-{app.client_id}"')
    return html[start : html.index("</h2>", start)]


def test_other_users_grants_are_not_listed(client, user, public_client, tokens):
    tokens(public_client)
    client.force_login(make_user("bob"))
    html = client.get("/account/apps/").content.decode()
    assert "Test MCP client" not in html
    assert 'id="no-apps"' in html


def test_revoke_ends_every_token_and_forgets_consent(client, user, public_client, tokens):
    first = tokens(public_client, resource=MCP)
    second = tokens(public_client, resource=MCP)
    other_app = make_public_client(name="Other app")
    kept = tokens(other_app)
    # an authorization code not yet exchanged
    client.get("/oauth/authorize?" + urlencode(authorize_params(public_client, Pkce.new(), resource=MCP)))
    assert get_grant_model().objects.filter(application=public_client).exists()

    response = client.post(f"/account/apps/{public_client.client_id}/revoke", follow=True)
    assert response.status_code == 200
    assert "Test MCP client can no longer use your account." in response.content.decode()

    for pair in (first, second):
        assert (
            client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}").status_code
            == 401
        )
        refreshed = form_post(
            client,
            "/oauth/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": pair["refresh_token"],
                "client_id": public_client.client_id,
            },
        )
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
    assert not get_grant_model().objects.filter(application=public_client).exists()
    assert not Consent.objects.filter(application=public_client).exists()
    assert not get_access_token_model().objects.filter(application=public_client).exists()
    assert (
        not get_refresh_token_model().objects.filter(application=public_client, revoked__isnull=True).exists()
    )
    # the other app is untouched, and the next authorization asks again
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {kept['access_token']}").status_code == 200
    )
    again = client.get(
        "/oauth/authorize?" + urlencode(authorize_params(public_client, Pkce.new(), resource=MCP))
    )
    assert again.status_code == 200
    assert b'id="authorizationForm"' in again.content


def test_revoke_touches_only_the_signed_in_users_tokens(client, user, public_client, tokens):
    alice_pair = tokens(public_client)
    client.force_login(make_user("bob"))
    assert client.post(f"/account/apps/{public_client.client_id}/revoke").status_code == 302
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {alice_pair['access_token']}").status_code
        == 200
    )


def test_revoke_requires_post_and_csrf(user, public_client):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(f"/account/apps/{public_client.client_id}/revoke").status_code == 405
    assert browser.post(f"/account/apps/{public_client.client_id}/revoke").status_code == 403


def test_revoke_of_unknown_client_is_404(client, user):
    client.force_login(user)
    assert client.post("/account/apps/no-such-client/revoke").status_code == 404


def test_home_and_consent_link_to_connected_apps(client, user, public_client):
    client.force_login(user)
    assert 'href="/account/apps/"' in client.get("/").content.decode()
    page = client.get("/oauth/authorize?" + urlencode(authorize_params(public_client, Pkce.new())))
    assert 'href="/account/apps/"' in page.content.decode()
