"""createclient / rotateclientsecret / bootstrapdemo, as a person or a script uses them."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from oauth2_provider.models import get_application_model

from tests.conftest import basic_auth, form_post

Client = get_application_model()

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createclient_json_prints_a_working_secret_once(client):
    data = json.loads(run("createclient", "Billing", "--scope", "mcp:tools", "--json"))
    assert data["created"] is True
    assert data["allowed_scopes"] == ["mcp:tools"]
    stored = Client.objects.get(client_id=data["client_id"])
    assert data["client_secret"] not in stored.client_secret
    response = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(data["client_id"], data["client_secret"]),
    )
    assert response.status_code == 200


def test_createclient_human_output_warns_to_store_the_secret():
    output = run("createclient", "Billing")
    assert "client_secret:" in output
    assert "will not be shown again" in output


def test_createclient_public_code_flow_client():
    data = json.loads(
        run(
            "createclient",
            "CLI",
            "--type",
            "public",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--redirect-uri",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "--resource",
            "https://mcp.example.com/mcp",
            "--json",
        )
    )
    assert "client_secret" not in data
    assert data["redirect_uris"] == [
        "http://127.0.0.1/callback",
        "cursor://anysphere.cursor-mcp/oauth/callback",
    ]
    assert Client.objects.get(client_id=data["client_id"]).allowed_resources == "https://mcp.example.com/mcp"


def test_if_not_exists_is_idempotent_and_never_reprints_a_secret():
    first = json.loads(run("createclient", "Svc", "--client-id", "svc-1", "--json"))
    again = json.loads(run("createclient", "Svc", "--client-id", "svc-1", "--if-not-exists", "--json"))
    assert first["created"] is True and again["created"] is False
    assert "client_secret" not in again
    assert Client.objects.filter(client_id="svc-1").count() == 1
    with pytest.raises(CommandError, match="already exists"):
        run("createclient", "Svc", "--client-id", "svc-1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grant", "authorization-code"], "needs at least one redirect URI"),
        (["--grant", "authorization-code", "--redirect-uri", "http://evil.example/cb"], "loopback"),
        (["--scope", "nope"], "Unknown scopes"),
        (["--type", "public"], "public client can only use the authorization code flow"),
        (["--resource", "not-a-url"], "absolute"),
    ],
)
def test_createclient_bad_input_is_a_clear_error_and_saves_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("createclient", "Bad", *args)
    assert not Client.objects.filter(name="Bad").exists()


def test_rotateclientsecret_prints_a_new_secret_and_the_old_one_stops(client):
    data = json.loads(run("createclient", "Svc", "--json"))
    rotated = json.loads(run("rotateclientsecret", data["client_id"], "--json"))
    assert rotated["client_secret"] != data["client_secret"]

    def status(secret):
        return form_post(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth(data["client_id"], secret),
        ).status_code

    assert status(data["client_secret"]) == 401
    assert status(rotated["client_secret"]) == 200


def test_rotateclientsecret_unknown_client_and_public_client():
    with pytest.raises(CommandError, match="No client"):
        run("rotateclientsecret", "nope")
    public = json.loads(
        run("createclient", "P", "--type", "public", "--grant", "authorization-code",
            "--redirect-uri", "http://127.0.0.1/cb", "--json")
    )  # fmt: skip
    with pytest.raises(CommandError, match="Only confidential clients"):
        run("rotateclientsecret", public["client_id"])


def test_bootstrapdemo_prints_credentials_once():
    first = run("bootstrapdemo")
    assert "password=" in first and "demo-mcp-client" in first
    assert run("bootstrapdemo") == ""
    demo = Client.objects.get(client_id="demo-mcp-client")
    assert demo.client_type == Client.CLIENT_PUBLIC
