"""The whole journey in Chromium: authorize → login → consent → code → token (PKCE) →
userinfo → refresh → revoke."""

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.browser.conftest import screenshot
from tests.conftest import Pkce, make_public_client, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALLBACK = "http://127.0.0.1:47123/callback"


def test_full_user_journey_in_a_real_browser(live_server, page):
    make_user("alice", "correct horse battery")
    app = make_public_client(name="Journey MCP client", redirect_uris="http://127.0.0.1/callback")
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid profile email mcp:tools",
        "state": "journey-state",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "resource": "https://mcp.example.com/mcp",
    }
    # The MCP client's loopback listener: capture where the browser is sent.
    captured = {}

    def callback(route):
        captured["url"] = route.request.url
        route.fulfill(status=200, content_type="text/html", body="<h1>You can close this tab</h1>")

    page.route("http://127.0.0.1:47123/**", callback)

    page.goto(f"{live_server.url}/oauth/authorize?{urlencode(params)}")
    assert page.locator("h1").inner_text() == "Sign in"
    screenshot(page, "login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_selector("#authorizationForm")
    assert "Journey MCP client" in page.locator("h1").inner_text()
    assert "Use the tools of the MCP servers" in page.content()
    assert "https://mcp.example.com/mcp" in page.content()
    screenshot(page, "consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("http://127.0.0.1:47123/**")

    query = {k: v[0] for k, v in parse_qs(urlsplit(captured["url"]).query).items()}
    assert query["state"] == "journey-state"
    assert query["iss"]

    with httpx.Client(base_url=live_server.url) as http:
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": CALLBACK,
                "client_id": app.client_id,
                "code_verifier": pkce.verifier,
            },
        )
        assert token.status_code == 200, token.text
        pair = token.json()
        info = http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert info.status_code == 200
        assert info.json()["preferred_username"] == "alice"

        refreshed = http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": pair["refresh_token"],
                "client_id": app.client_id,
            },
        )
        assert refreshed.status_code == 200
        new_access = refreshed.json()["access_token"]
        assert (
            http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {new_access}"}).status_code == 200
        )

        revoked = http.post("/oauth/revoke", data={"token": new_access, "client_id": app.client_id})
        assert revoked.status_code == 200
        after = http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {new_access}"})
        assert after.status_code == 401


def test_deny_in_the_browser_returns_access_denied(live_server, page):
    make_user("bob", "correct horse battery")
    app = make_public_client(name="Denied client", redirect_uris="http://127.0.0.1/callback")
    pkce = Pkce.new()
    captured = {}

    def callback(route):
        captured["url"] = route.request.url
        route.fulfill(status=200, body="ok")

    page.route("http://127.0.0.1:47123/**", callback)
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "state": "s1",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    page.goto(f"{live_server.url}/oauth/authorize?{urlencode(params)}")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url("http://127.0.0.1:47123/**")
    query = parse_qs(urlsplit(captured["url"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s1"]


def test_untrusted_redirect_shows_error_page_in_browser(live_server, page):
    make_user("carol", "correct horse battery")
    app = make_public_client(name="Evil", redirect_uris="https://good.example/cb")
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": "https://evil.example/cb",
        "code_challenge": Pkce.new().challenge,
        "code_challenge_method": "S256",
    }
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    response = page.goto(f"{live_server.url}/oauth/authorize?{urlencode(params)}")
    assert response.status == 400
    assert "cannot be trusted" in page.locator("h1").inner_text()
    assert urlsplit(page.url).netloc == urlsplit(live_server.url).netloc
