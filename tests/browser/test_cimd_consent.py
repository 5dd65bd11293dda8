"""A metadata-document client in Chromium: the consent page says who vouches for the app,
where the answer goes, and warns that it only answers on this computer."""

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.browser.conftest import screenshot
from tests.conftest import Pkce, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALLBACK = "http://127.0.0.1:47124/callback"


def test_claude_code_document_consent_and_token(live_server, page, documents):
    make_user("alice", "correct horse battery")
    client_id = documents.url("/oauth/claude-code-client-metadata")
    documents.publish(
        "/oauth/claude-code-client-metadata",
        {
            "client_id": client_id,
            "client_name": "Claude Code",
            "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid mcp:tools",
        "state": "cimd-state",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "resource": "https://mcp.example.com/mcp",
    }
    captured = {}

    def callback(route):
        captured["url"] = route.request.url
        route.fulfill(status=200, content_type="text/html", body="<h1>Done</h1>")

    page.route("http://127.0.0.1:47124/**", callback)
    page.goto(f"{live_server.url}/oauth/authorize?{urlencode(params)}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_selector("#authorizationForm")
    assert "Claude Code" in page.locator("h1").inner_text()
    assert "localhost" in page.locator("#client-id-host").inner_text()
    warning = page.locator("#localhost-only").inner_text()
    assert "your own computer" in warning and "127.0.0.1:47124" in warning
    assert page.locator(".redirect-host").inner_text() == "127.0.0.1:47124"
    screenshot(page, "consent-cimd-localhost")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("http://127.0.0.1:47124/**")

    query = {k: v[0] for k, v in parse_qs(urlsplit(captured["url"]).query).items()}
    assert query["state"] == "cimd-state"
    with httpx.Client(base_url=live_server.url) as http:
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": CALLBACK,
                "client_id": client_id,
                "code_verifier": pkce.verifier,
                "resource": "https://mcp.example.com/mcp",
            },
        )
    assert token.status_code == 200, token.text
    assert token.json()["refresh_token"]
