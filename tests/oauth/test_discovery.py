"""Both discovery documents, at every URL MCP clients try, say what the server does."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

URLS = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-authorization-server/mcp",
    "/.well-known/openid-configuration",
    "/.well-known/openid-configuration/mcp",
]


@pytest.mark.parametrize("url", URLS)
def test_every_discovery_url_answers_the_same_document(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json() == client.get(URLS[0]).json()


def test_document_matches_what_the_server_does(client):
    doc = client.get(URLS[0]).json()
    issuer = settings.ISSUER
    assert doc["issuer"] == issuer
    assert not doc["issuer"].endswith("/")
    assert doc["authorization_endpoint"] == f"{issuer}/oauth/authorize"
    assert doc["token_endpoint"] == f"{issuer}/oauth/token"
    assert doc["revocation_endpoint"] == f"{issuer}/oauth/revoke"
    assert doc["introspection_endpoint"] == f"{issuer}/oauth/introspect"
    assert doc["userinfo_endpoint"] == f"{issuer}/oauth/userinfo"
    assert doc["jwks_uri"] == f"{issuer}/oauth/jwks"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert sorted(doc["grant_types_supported"]) == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert "none" in doc["token_endpoint_auth_methods_supported"]
    assert "none" not in doc["introspection_endpoint_auth_methods_supported"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert sorted(doc["scopes_supported"]) == sorted(set(settings.SCOPES) - set(settings.SERVICE_SCOPES))
    assert doc["registration_endpoint"] == f"{issuer}/oauth/register"


def test_advertised_endpoints_exist(client):
    doc = client.get(URLS[0]).json()
    for key in ("token_endpoint", "revocation_endpoint", "introspection_endpoint", "userinfo_endpoint"):
        path = doc[key].removeprefix(settings.ISSUER)
        assert client.post(path).status_code != 404, key
    assert client.get(doc["jwks_uri"].removeprefix(settings.ISSUER)).status_code == 200


@pytest.mark.parametrize(
    "path", ["/o/applications/", "/oauth/applications/", "/oauth/device/", "/oauth/device-authorization/"]
)
def test_management_and_device_views_are_not_mounted(client, admin_user, path):
    client.force_login(admin_user)
    assert client.get(path).status_code == 404
