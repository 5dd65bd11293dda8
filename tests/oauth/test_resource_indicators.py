"""RFC 8707: every token is bound to a resource; clients can be limited to theirs."""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from oauth2_provider.models import get_access_token_model, get_grant_model

from tests.conftest import (
    Pkce,
    authorize_params,
    basic_auth,
    form_post,
    make_confidential_client,
    make_public_client,
    redirect_query,
)

AccessToken = get_access_token_model()
Grant = get_grant_model()

pytestmark = pytest.mark.django_db


def introspect(client, token):
    rs = make_confidential_client(name="RS")
    return form_post(
        client,
        "/oauth/introspect",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs.plain_secret),
    ).json()


def test_token_without_resource_gets_the_default_audience(client, tokens, public_client):
    body = tokens(public_client)
    assert introspect(client, body["access_token"])["aud"] == [settings.DEFAULT_AUDIENCE]


def test_token_carries_the_requested_resource(client, tokens, public_client):
    body = tokens(public_client, resource="https://mcp.example.com/mcp")
    assert introspect(client, body["access_token"])["aud"] == ["https://mcp.example.com/mcp"]


def test_refresh_keeps_the_resource(client, tokens, public_client):
    body = tokens(public_client, resource="https://mcp.example.com/mcp")
    refreshed = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": public_client.client_id,
        },
    ).json()
    assert introspect(client, refreshed["access_token"])["aud"] == ["https://mcp.example.com/mcp"]


def test_resource_outside_the_clients_list_is_invalid_target_by_redirect(client, user):
    app = make_public_client(allowed_resources="https://mcp.example.com")
    client.force_login(user)
    params = authorize_params(app, Pkce.new(), resource="https://other.example.com/mcp")
    query = redirect_query(client.get("/oauth/authorize?" + urlencode(params)))
    assert query["error"] == "invalid_target"
    assert query["state"] == params["state"]
    assert query["iss"] == settings.ISSUER
    assert not Grant.objects.exists()


def test_origin_with_or_without_trailing_slash_is_the_same_resource(tokens):
    app = make_public_client(allowed_resources="https://mcp.example.com")
    assert tokens(app, resource="https://mcp.example.com/")["access_token"]


def test_resource_required_refuses_requests_without_one(client, user, settings):
    settings.RESOURCE_REQUIRED = True
    app = make_public_client()
    client.force_login(user)
    query = redirect_query(client.get("/oauth/authorize?" + urlencode(authorize_params(app, Pkce.new()))))
    assert query["error"] == "invalid_target"


@pytest.mark.parametrize("resource", ["mcp.example.com/mcp", "https://mcp.example.com/mcp#frag", "urn:x:y"])
def test_malformed_resource_is_invalid_target(client, user, public_client, resource):
    client.force_login(user)
    query = redirect_query(
        client.get(
            "/oauth/authorize?" + urlencode(authorize_params(public_client, Pkce.new(), resource=resource))
        )
    )
    assert query["error"] == "invalid_target"
    assert not Grant.objects.exists()


def test_client_credentials_resource_outside_the_list_is_invalid_target(client):
    service = make_confidential_client(allowed_resources="https://mcp.example.com/mcp")
    ok = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "resource": "https://mcp.example.com/mcp"},
        HTTP_AUTHORIZATION=basic_auth(service.client_id, service.plain_secret),
    )
    assert ok.status_code == 200
    refused = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "resource": "https://evil.example/mcp"},
        HTTP_AUTHORIZATION=basic_auth(service.client_id, service.plain_secret),
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"
    assert AccessToken.objects.count() == 1


TWO_SERVERS = ["https://mcp.example.com/mcp", "https://files.example.com/mcp"]


def test_code_exchange_without_resource_gets_every_resource_of_the_grant(
    client, issue_code, exchange, public_client
):
    code, pkce, _ = issue_code(public_client, resource=TWO_SERVERS)
    response = exchange(public_client, code, pkce)
    assert response.status_code == 200
    assert introspect(client, response.json()["access_token"])["aud"] == TWO_SERVERS


def test_code_exchange_can_narrow_to_one_resource_of_the_grant(client, issue_code, exchange, public_client):
    code, pkce, _ = issue_code(public_client, resource=TWO_SERVERS)
    response = exchange(public_client, code, pkce, resource=TWO_SERVERS[1])
    assert response.status_code == 200
    assert introspect(client, response.json()["access_token"])["aud"] == [TWO_SERVERS[1]]


@pytest.mark.parametrize(
    "resource", ["https://other.example.com/mcp", "mcp.example.com/mcp"], ids=["wider", "malformed"]
)
def test_code_exchange_refuses_a_resource_the_grant_does_not_cover(
    client, issue_code, exchange, public_client, resource
):
    code, pkce, _ = issue_code(public_client, resource=TWO_SERVERS[0])
    refused = exchange(public_client, code, pkce, resource=resource)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"
    assert refused["Cache-Control"] == "no-store"
    assert not AccessToken.objects.exists()
    # The code was not spent on the refused request: the right one still gets its token.
    response = exchange(public_client, code, pkce)
    assert response.status_code == 200
    assert introspect(client, response.json()["access_token"])["aud"] == [TWO_SERVERS[0]]
