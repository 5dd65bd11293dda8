"""Replays of what real MCP clients send (see shared research notes for sources): each
registers with its own body, then its authorization request reaches the consent page,
and the code comes back to the callback it uses at runtime."""

import json
from urllib.parse import urlencode

import pytest

from tests.conftest import Pkce, redirect_query

pytestmark = pytest.mark.django_db

# (client, registration body, redirect URI used at runtime)
CLIENTS = [
    (
        "claude.ai",
        {
            "client_name": "claudeai",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "claudeai",
            "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
        },
        "https://claude.ai/api/mcp/auth_callback",
    ),
    (
        "claude.com",
        {
            "client_name": "Claude",
            "redirect_uris": ["https://claude.com/api/mcp/auth_callback"],
            "token_endpoint_auth_method": "client_secret_post",
            "application_type": "web",
        },
        "https://claude.com/api/mcp/auth_callback",
    ),
    (
        "ChatGPT",
        {
            "client_name": "ChatGPT",
            "redirect_uris": ["https://chatgpt.com/connector/oauth/cb_4f2a9e"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": "openid profile email",
        },
        "https://chatgpt.com/connector/oauth/cb_4f2a9e",
    ),
    (
        "ChatGPT legacy",
        {
            "client_name": "ChatGPT",
            "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"],
        },
        "https://chatgpt.com/connector_platform_oauth_redirect",
    ),
    (
        "Claude Code",
        {
            "client_name": "Claude Code (my-server)",
            "redirect_uris": ["http://localhost:54545/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
        "http://localhost:61234/callback",  # a new ephemeral port on reconnect
    ),
    (
        "VS Code",
        {
            "client_name": "Visual Studio Code",
            "redirect_uris": ["http://127.0.0.1:33418/", "https://vscode.dev/redirect"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        },
        "http://127.0.0.1:40111/",  # 33418 was busy
    ),
    (
        "Cursor",
        {
            "client_name": "Cursor",
            "redirect_uris": [
                "cursor://anysphere.cursor-mcp/oauth/callback",
                "https://www.cursor.com/agents/mcp/oauth/callback",
                "http://localhost:8787/callback",
            ],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        },
        "cursor://anysphere.cursor-mcp/oauth/callback",
    ),
    (
        "MCP Inspector",
        {
            "client_name": "MCP Inspector",
            "redirect_uris": [
                "http://localhost:6274/oauth/callback",
                "http://localhost:6274/oauth/callback/debug",
            ],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        },
        "http://localhost:6274/oauth/callback",
    ),
]


@pytest.mark.parametrize(("name", "body", "runtime_redirect"), CLIENTS, ids=[c[0] for c in CLIENTS])
def test_client_registers_and_gets_a_code_on_its_callback(client, user, name, body, runtime_redirect):
    registration = client.post("/oauth/register", json.dumps(body), content_type="application/json")
    assert registration.status_code == 201, registration.content
    registered = registration.json()
    assert registered["redirect_uris"] == body["redirect_uris"]
    assert registered["token_endpoint_auth_method"] == body.get("token_endpoint_auth_method", "none")
    client.force_login(user)
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "client_id": registered["client_id"],
        "redirect_uri": runtime_redirect,
        "scope": body.get("scope", "mcp:tools"),
        "state": "st",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "resource": "https://mcp.example.com/mcp",
    }
    page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200, page.content[:300]
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    form["allow"] = "true"
    answer = client.post("/oauth/authorize?" + urlencode(params), form)
    assert answer["Location"].startswith(runtime_redirect + "?")
    assert redirect_query(answer)["state"] == "st"


# Client ID Metadata Documents as published (the `client_id` becomes our local URL):
# (client, document, redirect URI used at runtime)
#   Claude (claude.ai, Desktop, mobile): django-oauth-toolkit #1855, with its jwt-bearer grant
#   Claude Code: anthropics/claude-code #42301 / #44378, portless loopback, no application_type
#   ChatGPT: django-oauth-toolkit #1845 / #1857, private_key_jwt with jwks_uri (its assertions
#            are exercised in tests/oauth_clients/test_assertions.py; here `none` is not chosen)
#   VS Code: research notes §2.3 and microsoft/vscode #252226 (application_type native)
CIMD_CLIENTS = [
    (
        "Claude",
        {
            "client_name": "Claude",
            "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
            "grant_types": [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
        "https://claude.ai/api/mcp/auth_callback",
    ),
    (
        "Claude Code",
        {
            "client_name": "Claude Code",
            "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
        "http://127.0.0.1:52163/callback",
    ),
    (
        "ChatGPT",
        {
            "client_uri": "https://chatgpt.com/",
            "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "ChatGPT",
            "logo_uri": "https://persistent.oaistatic.com/sonic/misc/openai-logo.png",
            "token_endpoint_auth_signing_alg": "RS256",
            "jwks_uri": "JWKS_URI",
        },
        "https://chatgpt.com/connector_platform_oauth_redirect",
    ),
    (
        "VS Code",
        {
            "client_name": "Visual Studio Code",
            "redirect_uris": ["http://127.0.0.1:33418/", "https://vscode.dev/redirect"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        },
        "http://127.0.0.1:40111/",
    ),
]


@pytest.mark.parametrize(
    ("name", "document", "runtime_redirect"), CIMD_CLIENTS, ids=[c[0] for c in CIMD_CLIENTS]
)
def test_metadata_document_client_gets_a_code_on_its_callback(
    client, user, documents, name, document, runtime_redirect
):
    path = f"/{name.lower().replace(' ', '-')}/client.json"
    client_id = documents.url(path)
    if document.get("jwks_uri") == "JWKS_URI":
        document = {**document, "jwks_uri": documents.publish("/jwks.json", {"keys": []})}
    documents.publish(path, {"client_id": client_id, **document})
    client.force_login(user)
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": runtime_redirect,
        "scope": "openid profile email mcp:tools",
        "state": "st",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "resource": "https://mcp.example.com/mcp",
    }
    page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200, page.content[:300]
    assert document["client_name"].encode() in page.content
    assert b'id="client-id-host"' in page.content
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    answer = client.post("/oauth/authorize?" + urlencode(params), {**form, "allow": "true"})
    assert answer["Location"].startswith(runtime_redirect + "?")
    assert redirect_query(answer)["state"] == "st"
