"""Service API keys: shown once, hashed, an ordinary access token downstream, revocable."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from oauth2_provider.models import get_access_token_model, get_application_model

from oauth_clients.models import ApiKey
from oauth_clients.services import create_client
from tests.conftest import basic_auth, form_post, make_user

Client = get_application_model()
AccessToken = get_access_token_model()

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    return create_client(
        name="Reports", grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=["mcp:tools"]
    )


def createapikey(*args) -> dict:
    out = StringIO()
    call_command("createapikey", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_api_key_works_at_userinfo_and_introspection_and_records_last_use(client, service):
    make_user("robot")
    issued = createapikey(
        service.client.client_id, "--name", "nightly", "--scope", "mcp:tools", "--user", "robot"
    )
    key = ApiKey.objects.get(pk=issued["id"])
    assert key.last_used_at is None
    assert issued["api_key"] not in key.token_checksum
    assert AccessToken.objects.get().token == ""  # hashed at rest like every token
    info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {issued['api_key']}")
    assert info.status_code == 200
    assert info.json()["sub"] == str(key.user.pk)
    rs = create_client(name="RS", grant_type=Client.GRANT_CLIENT_CREDENTIALS)
    introspection = form_post(
        client,
        "/oauth/introspect",
        {"token": issued["api_key"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client.client_id, rs.secret),
    ).json()
    assert introspection["active"] is True
    assert introspection["scope"] == "mcp:tools"
    assert introspection["client_id"] == service.client.client_id
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_revoked_api_key_stops_working(admin_client, service):
    issued = createapikey(service.client.client_id, "--name", "k", "--scope", "mcp:tools")
    response = admin_client.post(
        "/admin/oauth_clients/apikey/", {"action": "revoke", "_selected_action": [issued["id"]]}
    )
    assert response.status_code == 302
    assert ApiKey.objects.get().revoked_at is not None
    info = admin_client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {issued['api_key']}")
    assert info.status_code == 401


def test_admin_issues_a_key_shown_once(admin_client, service):
    response = admin_client.post(
        "/admin/oauth_clients/apikey/add/",
        {
            "name": "ci",
            "client": service.client.pk,
            "scopes": ["mcp:tools"],
            "resources": "",
            "expires_in_days": "30",
        },
    )
    assert response.status_code == 200
    assert b"will not be shown again" in response.content
    raw = response.content.decode().split('id="secret-1" value="')[1].split('"')[0]
    assert raw.startswith(ApiKey.PREFIX)
    listing = admin_client.get("/admin/oauth_clients/apikey/")
    assert raw.encode() not in listing.content
    client_page = admin_client.get(f"/admin/oauth_clients/client/{service.client.pk}/change/")
    assert b"ci" in client_page.content and raw.encode() not in client_page.content


def test_admin_refuses_a_scope_the_client_may_not_have(admin_client, service):
    response = admin_client.post(
        "/admin/oauth_clients/apikey/add/",
        {
            "name": "bad",
            "client": service.client.pk,
            "scopes": ["email"],
            "resources": "",
            "expires_in_days": "30",
        },
    )
    assert response.status_code == 200
    assert b"not allowed for this client" in response.content
    assert not ApiKey.objects.exists()
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scope", "groups"], "not allowed"),
        (["--scope", "mcp:tools", "--expires-days", "0"], "expire in the future"),
        (["--scope", "mcp:tools", "--user", "ghost"], "No user"),
        (["--scope", "mcp:tools", "--resource", "nope"], "absolute"),
    ],
)
def test_createapikey_bad_input(service, args, message):
    with pytest.raises(CommandError, match=message):
        createapikey(service.client.client_id, "--name", "x", *args)
    assert not AccessToken.objects.exists()
