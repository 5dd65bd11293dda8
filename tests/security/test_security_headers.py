"""Security headers: CSP without unsafe-inline and no framing on every HTML page, no-referrer
on authorization redirects, HSTS over https, no-store wherever a token travels."""

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import (
    REDIRECT_URI,
    Pkce,
    authorize_params,
    basic_auth,
    form_post,
    make_user,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_page_headers(response, name: str) -> None:
    assert response["Content-Type"].startswith("text/html"), name
    policy = csp(response)
    assert "unsafe-inline" not in response["Content-Security-Policy"], name
    assert "unsafe-eval" not in response["Content-Security-Policy"], name
    assert policy["default-src"] == ["'self'"], name
    assert policy["script-src"] == ["'self'"], name
    assert policy["style-src"] == ["'self'"], name
    assert policy["frame-ancestors"] == ["'none'"], name
    assert policy["object-src"] == ["'none'"], name
    assert response["X-Frame-Options"] == "DENY", name
    assert response["X-Content-Type-Options"] == "nosniff", name
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer"), name


def test_every_html_page_sends_the_security_headers(client, user, public_client, settings):
    pages = {
        "login": client.get("/accounts/login/"),
        "login with an error": client.post("/accounts/login/", {"username": "alice", "password": "no"}),
        "home": client.get("/"),
        "not found": client.get("/no-such-page"),
        "admin login": client.get("/admin/login/"),
    }
    client.force_login(user)
    pages["error page"] = client.get("/oauth/authorize?" + urlencode({"client_id": "unknown"}))
    assert pages["error page"].status_code == 400
    consent_params = authorize_params(public_client, Pkce.new())
    pages["consent"] = client.get("/oauth/authorize?" + urlencode(consent_params))
    assert "authorizationForm" in pages["consent"].content.decode()
    pages["connected apps"] = client.get("/account/apps/")
    pages["logged out"] = client.post("/accounts/logout/")
    settings.RATELIMITS = {**settings.RATELIMITS, "authorize": ((1, 60), None)}
    client.get("/oauth/authorize?client_id=unknown")
    pages["too many requests"] = client.get("/oauth/authorize?client_id=unknown")
    assert pages["too many requests"].status_code == 429
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    client.force_login(admin)
    pages["admin index"] = client.get("/admin/")
    pages["admin client form"] = client.get("/admin/oauth_clients/client/add/")
    for name, response in pages.items():
        assert response.status_code in (200, 400, 404, 429), name
        assert_page_headers(response, name)


def test_the_lockout_page_sends_the_security_headers(client, settings):
    settings.AXES_FAILURE_LIMIT = 1
    make_user("alice")
    locked = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert locked.status_code == 429
    assert_page_headers(locked, "lockout")


def test_authorization_redirects_send_no_referrer_and_are_not_stored(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    page = client.get("/oauth/authorize?" + urlencode(params))
    # The consent page posts a form: same-origin, so the POST carries a real Origin.
    assert page["Referrer-Policy"] == "same-origin"
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    allowed = client.post("/oauth/authorize?" + urlencode(params), {**form, "allow": "true"})
    assert allowed.status_code == 302 and "code=" in allowed["Location"]
    assert allowed["Referrer-Policy"] == "no-referrer"
    assert allowed["Cache-Control"] == "no-store"
    denied = client.post("/oauth/authorize?" + urlencode(params), form)
    assert denied.status_code == 302 and "error=access_denied" in denied["Location"]
    assert denied["Referrer-Policy"] == "no-referrer"
    assert denied["Cache-Control"] == "no-store"


def test_hsts_over_https_only(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    assert client.get("/accounts/login/", secure=True)["Strict-Transport-Security"].startswith(
        "max-age=31536000"
    )
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")


def test_production_turns_hsts_on_for_an_https_issuer():
    from tests.authserver.test_settings import PRODUCTION_ENV, load_setting

    result = load_setting("SECURE_HSTS_SECONDS", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "31536000"


def test_every_token_bearing_response_is_not_stored(client, tokens, public_client, confidential_client):
    issued = tokens(public_client)
    checks = {}
    checks["token refresh"] = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": issued["refresh_token"],
            "client_id": public_client.client_id,
        },
    )
    assert checks["token refresh"].status_code == 200
    checks["token client_credentials"] = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(confidential_client.client_id, confidential_client.plain_secret),
    )
    checks["token error"] = form_post(client, "/oauth/token", {"grant_type": "authorization_code"})
    checks["introspection"] = form_post(
        client,
        "/oauth/introspect",
        {"token": checks["token refresh"].json()["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(confidential_client.client_id, confidential_client.plain_secret),
    )
    assert checks["introspection"].json()["active"] is True
    checks["userinfo"] = client.get(
        "/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + checks["token refresh"].json()["access_token"]
    )
    assert checks["userinfo"].status_code == 200
    checks["registration"] = client.post(
        "/oauth/register", json.dumps({"redirect_uris": [REDIRECT_URI]}), content_type="application/json"
    )
    assert checks["registration"].status_code == 201
    checks["registration error"] = client.post(
        "/oauth/register", json.dumps({"redirect_uris": ["ftp://x"]}), content_type="application/json"
    )
    for name, response in checks.items():
        assert "no-store" in response["Cache-Control"], name


def test_templates_hold_no_inline_script_style_or_handler():
    """What the CSP would block: inline <script>, <style>, style="…" and on…= handlers."""
    offending = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle\s*=", r"\son[a-z]+\s*="):
            offending += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(pattern, text)]
    assert offending == []
