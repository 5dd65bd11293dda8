"""The example MCP server (examples/mcp_server) against this authorization server, live.

Tokens come from a real code + PKCE flow (login and consent driven over HTTP, as a browser
would); the MCP server runs under uvicorn in each validation mode; the MCP Python SDK's
client calls its tools.
"""

import asyncio
import base64
import json
import re
import threading
import time
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

pytest.importorskip("mcp")

from django.core.management import call_command  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from examples.mcp_server.server import Settings, build_app  # noqa: E402
from tests.conftest import REDIRECT_URI, Pkce, make_confidential_client, make_public_client, make_user  # noqa: E402

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hidden_fields(html: str) -> dict:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def sign_in_and_consent(issuer: str, app, scope: str, resource: str) -> dict:
    """Authorization code + PKCE through our login and consent pages; returns the token response."""
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "st",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "resource": resource,
    }
    with httpx.Client(base_url=issuer, follow_redirects=False, timeout=30) as http:
        login_url = urljoin(issuer, http.get("/oauth/authorize", params=params).headers["location"])
        form = {**hidden_fields(http.get(login_url).text), "username": "mcp-user", "password": PASSWORD}
        consent_url = urljoin(
            issuer, http.post(login_url, data=form, headers={"Referer": login_url}).headers["location"]
        )
        form = {**hidden_fields(http.get(consent_url).text), "allow": "true"}
        callback = http.post(consent_url, data=form, headers={"Referer": consent_url}).headers["location"]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        response = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": app.client_id,
                "code_verifier": pkce.verifier,
            },
        )
    assert response.status_code == 200, response.text
    return response.json()


def serve(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return server, thread


@pytest.fixture
def issuer(live_server, settings):
    settings.ISSUER = live_server.url
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": live_server.url,
        "OIDC_USERINFO_ENDPOINT": f"{live_server.url}/oauth/userinfo",
    }
    return live_server.url


@pytest.fixture
def mcp_server(issuer):
    """Start the example in a given mode; returns its URL. Stopped at the end of the test."""
    running = []

    def start(mode: str, **config_options) -> str:
        port = free_port()
        resource = f"http://127.0.0.1:{port}/mcp"
        settings = Settings(issuer=issuer, resource=resource, mode=mode)
        if mode == "introspection":
            rs = make_confidential_client(name="notes MCP server")
            settings.client_id, settings.client_secret = rs.client_id, rs.plain_secret
        running.append(serve(build_app(settings, **config_options), port))
        return resource

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture
def user(db):
    return make_user("mcp-user", PASSWORD)


@pytest.fixture
def app(user):
    return make_public_client(name="MCP client")


def call_tool(url: str, token: str, name: str, arguments: dict | None = None):
    """A tool call by the MCP SDK's client, as an MCP client would make it."""

    async def go():
        import httpx2

        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                async with ClientSession(streams[0], streams[1]) as session:
                    await session.initialize()
                    return await session.call_tool(name, arguments or {})

    return asyncio.run(go())


def raw_call(url: str, token: str, name: str, arguments: dict | None = None) -> httpx.Response:
    """The same call as one JSON-RPC POST, to see the HTTP status and challenge."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments or {}},
    }
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    return httpx.post(url, json=body, headers=headers, timeout=30)


def result(call) -> dict:
    assert not call.is_error, call.content
    return json.loads(call.content[0].text)


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


@pytest.mark.parametrize("mode", ["jwt", "introspection", "userinfo"])
def test_token_from_a_real_flow_calls_a_tool_in_every_mode(issuer, mcp_server, app, user, mode):
    url = mcp_server(mode)
    tokens = sign_in_and_consent(issuer, app, "mcp:tools", url)
    me = result(call_tool(url, tokens["access_token"], "whoami"))
    assert me["sub"] == str(user.pk)
    if mode != "userinfo":  # userinfo says who, not what the token allows
        assert me["client_id"] == app.client_id
        assert me["scopes"] == ["mcp:tools"]
    assert not call_tool(url, tokens["access_token"], "list_notes").is_error
    unauthenticated = httpx.post(url, json={}, timeout=30)
    assert unauthenticated.status_code == 401
    assert 'resource_metadata="' in unauthenticated.headers["www-authenticate"]


def test_missing_scope_gets_403_naming_every_scope_the_call_needs(issuer, mcp_server, app):
    url = mcp_server("jwt")
    reader = sign_in_and_consent(issuer, app, "mcp:tools", url)["access_token"]
    refused = raw_call(url, reader, "add_note", {"text": "hi"})
    assert refused.status_code == 403
    challenge = refused.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="mcp:tools mcp:write"' in challenge
    assert (
        f'resource_metadata="{url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")}"' in challenge
    )
    # The client asks for what the challenge named, and the call goes through.
    writer = sign_in_and_consent(issuer, app, "mcp:tools mcp:write", url)["access_token"]
    assert result(call_tool(url, writer, "add_note", {"text": "hi"}))["text"] == "hi"


def test_token_for_another_resource_is_refused(issuer, mcp_server, app):
    url = mcp_server("jwt")
    elsewhere = sign_in_and_consent(issuer, app, "mcp:tools", "https://other-mcp.example.com/mcp")
    response = raw_call(url, elsewhere["access_token"], "whoami")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_revoked_token_is_refused_in_introspection_mode(issuer, mcp_server, app):
    url = mcp_server("introspection", token_cache_ttl=0)
    access = sign_in_and_consent(issuer, app, "mcp:tools", url)["access_token"]
    assert result(call_tool(url, access, "whoami"))["client_id"] == app.client_id
    revoked = httpx.post(f"{issuer}/oauth/revoke", data={"token": access, "client_id": app.client_id})
    assert revoked.status_code == 200
    response = raw_call(url, access, "whoami")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_userinfo_mode_refuses_the_write_tool(issuer, mcp_server, app):
    url = mcp_server("userinfo")
    writer = sign_in_and_consent(issuer, app, "mcp:tools mcp:write", url)["access_token"]
    assert raw_call(url, writer, "add_note", {"text": "x"}).status_code == 403


def test_key_rotation_fails_no_validation(issuer, mcp_server, app, settings):
    settings.KEY_ACTIVATION_DELAY = 3
    # The RS caches the JWKS as long as the AS says (max-age = the delay), not its 60 s floor.
    url = mcp_server("jwt", cache_ttl_min=1)
    first = sign_in_and_consent(issuer, app, "mcp:tools", url)
    old_kid = kid_of(first["access_token"])
    assert raw_call(url, first["access_token"], "whoami").status_code == 200
    call_command("rotatekeys", "--algorithm", "ES256", stdout=open("/dev/null", "w"))  # noqa: SIM115
    refresh_token, seen, failures = first["refresh_token"], [], []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pair = httpx.post(
            f"{issuer}/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id},
        ).json()
        refresh_token = pair["refresh_token"]
        seen.append(kid_of(pair["access_token"]))
        for token in (pair["access_token"], first["access_token"]):
            status = raw_call(url, token, "whoami").status_code
            if status != 200:
                failures.append((kid_of(token), status))
        if seen.count(seen[-1]) >= 3 and seen[-1] != old_kid:
            break
        time.sleep(0.3)
    assert seen[0] == old_kid and seen[-1] != old_kid  # the switch happened during the loop
    assert failures == []
