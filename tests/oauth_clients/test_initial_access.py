"""DCR_MODE=token: registration needs an RFC 7591 §3 initial access token an admin issued."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from oauth2_provider.models import get_application_model

from oauth_clients.models import InitialAccessToken

Client = get_application_model()

pytestmark = pytest.mark.django_db

BODY = {"client_name": "Partner tool", "redirect_uris": ["http://127.0.0.1/cb"]}


@pytest.fixture(autouse=True)
def _token_mode(settings):
    settings.DCR_MODE = "token"


def register(client, token=None, body=BODY):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post("/oauth/register", json.dumps(body), content_type="application/json", **headers)


def issue(*args) -> dict:
    out = StringIO()
    call_command("createinitialaccesstoken", "--name", "partner", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_registration_without_a_token_is_401_with_a_bearer_challenge(client):
    response = register(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"
    assert "initial access token" in response.json()["error_description"]
    assert not Client.objects.exists()


def test_unknown_token_is_invalid_token(client):
    response = register(client, token="mcpiat_not-a-real-token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert not Client.objects.exists()


def test_command_token_registers_and_is_stored_hashed(client):
    issued = issue()
    raw = issued["initial_access_token"]
    stored = InitialAccessToken.objects.get(pk=issued["id"])
    assert raw not in stored.token_checksum and len(stored.token_checksum) == 64
    assert register(client, raw).status_code == 201
    assert register(client, raw).status_code == 201  # no use limit by default
    stored.refresh_from_db()
    assert stored.uses == 2 and stored.last_used_at is not None


def test_single_use_token_registers_once(client):
    raw = issue("--single-use")["initial_access_token"]
    assert register(client, raw).status_code == 201
    second = register(client, raw)
    assert second.status_code == 401
    assert Client.objects.count() == 1


def test_refused_registration_does_not_spend_the_token(client):
    raw = issue("--single-use")["initial_access_token"]
    bad = register(client, raw, body={"redirect_uris": ["http://evil.example/cb"]})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_redirect_uri"
    assert register(client, raw).status_code == 201


def test_expired_and_revoked_tokens_are_refused(client):
    expired = issue()
    InitialAccessToken.objects.filter(pk=expired["id"]).update(expires=timezone.now() - timedelta(seconds=1))
    assert register(client, expired["initial_access_token"]).status_code == 401
    revoked = issue()
    InitialAccessToken.objects.filter(pk=revoked["id"]).update(revoked_at=timezone.now())
    assert register(client, revoked["initial_access_token"]).status_code == 401
    assert not Client.objects.exists()


def test_open_mode_needs_no_token(client, settings):
    settings.DCR_MODE = "open"
    assert register(client).status_code == 201


def test_command_human_output_and_bad_input():
    out = StringIO()
    call_command("createinitialaccesstoken", "--name", "ci", "--max-uses", "3", stdout=out)
    text = out.getvalue()
    assert "mcpiat_" in text and "3 registration(s)" in text and "will not be shown again" in text
    with pytest.raises(CommandError):
        call_command("createinitialaccesstoken", "--name", "x", "--max-uses", "0")
    with pytest.raises(CommandError):
        call_command("createinitialaccesstoken", "--name", "x", "--expires-days", "0")


def test_admin_issues_a_token_shown_once(admin_client, client):
    response = admin_client.post(
        "/admin/oauth_clients/initialaccesstoken/add/",
        {"name": "Acme connector", "max_uses": "1", "expires_in_days": "2"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = re.search(r'id="secret-1" value="([^"]+)"', response.content.decode()).group(1)
    stored = InitialAccessToken.objects.get(name="Acme connector")
    assert stored.created_by is not None and stored.max_uses == 1
    assert (
        raw
        not in admin_client.get(
            f"/admin/oauth_clients/initialaccesstoken/{stored.pk}/change/"
        ).content.decode()
    )
    assert register(client, raw).status_code == 201
    assert register(client, raw).status_code == 401
