"""The code + PKCE flow as an MCP client and its user see it, good and bad."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from tests.conftest import (
    Pkce,
    authorize_params,
    consent,
    form_post,
    make_public_client,
    redirect_query,
)

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()

pytestmark = pytest.mark.django_db


def test_anonymous_user_is_sent_to_login_and_back(client, public_client):
    params = authorize_params(public_client, Pkce.new())
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query)["next"][0] == "/oauth/authorize?" + urlencode(params)


def test_login_page_signs_in_and_returns_to_authorize(client, user, public_client):
    params = authorize_params(public_client, Pkce.new())
    next_url = "/oauth/authorize?" + urlencode(params)
    page = client.get("/accounts/login/", {"next": next_url})
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery", "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == next_url


def test_login_with_wrong_password_shows_error(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_consent_page_names_client_scopes_and_resource(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), resource="https://mcp.example.com/mcp")
    page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Test MCP client" in html
    assert settings.SCOPES["mcp:tools"] in html
    assert settings.SCOPES["email"] in html
    assert "https://mcp.example.com/mcp" in html
    assert "127.0.0.1:53682" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert page["X-Frame-Options"] == "DENY"


def test_full_flow_code_token_userinfo(client, user, public_client, exchange):
    client.force_login(user)
    pkce = Pkce.new()
    params = authorize_params(public_client, pkce)
    query = redirect_query(consent(client, params))
    assert query["state"] == params["state"]
    assert query["iss"] == settings.ISSUER  # RFC 9207
    response = exchange(public_client, query["code"], pkce)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.ACCESS_TOKEN_EXPIRE_SECONDS
    assert set(body["scope"].split()) == {"openid", "profile", "email", "mcp:tools"}
    assert body["refresh_token"] and body["id_token"]
    info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert info.status_code == 200
    assert info.json()["sub"] == str(user.pk)
    assert info.json()["email"] == "alice@example.com"


def test_tokens_are_hashed_at_rest(tokens, public_client):
    body = tokens(public_client)
    row = AccessToken.objects.get()
    assert row.token == ""
    assert body["access_token"] not in (row.token, row.token_checksum)
    assert RefreshToken.objects.get().token == ""


def test_refresh_token_issued_without_offline_access(tokens, public_client):
    body = tokens(public_client, scope="mcp:tools")
    assert body["refresh_token"]
    assert body["scope"] == "mcp:tools"


def test_unknown_scopes_are_dropped_not_fatal(tokens, public_client):
    body = tokens(public_client, scope="mcp:tools claudeai made-up")
    assert body["scope"] == "mcp:tools"


def test_only_unknown_scopes_fall_back_to_defaults(tokens, public_client):
    body = tokens(public_client, scope="claudeai")
    assert set(body["scope"].split()) == set(settings.DEFAULT_SCOPES)


def test_deny_sends_access_denied_with_state_and_iss(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    query = redirect_query(consent(client, params, allow=False))
    assert query["error"] == "access_denied"
    assert query["state"] == params["state"]
    assert query["iss"] == settings.ISSUER
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:9999/callback", "http://localhost:40123/callback", "http://[::1]:5000/callback"],
)
def test_loopback_redirect_any_port(client, user, redirect_uri):
    app = make_public_client(
        redirect_uris="http://127.0.0.1:33418/callback http://localhost/callback http://[::1]/callback"
    )
    client.force_login(user)
    params = authorize_params(app, Pkce.new(), redirect_uri=redirect_uri)
    response = consent(client, params)
    assert response["Location"].startswith(redirect_uri + "?code=")


# --- bad input -----------------------------------------------------------------------


def test_unknown_client_gets_error_page_no_redirect(client, user):
    client.force_login(user)
    params = authorize_params(make_public_client(), Pkce.new(), client_id="no-such-client")
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 400
    assert b"cannot be trusted" in response.content
    assert "Location" not in response


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://127.0.0.1:53682/callback/extra",
        "http://127.0.0.1:53682/CALLBACK",
        "http://evil.example:53682/callback",
        "http://127.0.0.1:53682/callback#frag",
        "http://user@127.0.0.1:53682/callback",
    ],
)
def test_unregistered_redirect_uri_gets_error_page_no_redirect(client, user, public_client, redirect_uri):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), redirect_uri=redirect_uri)
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 400
    assert "Location" not in response
    assert b"cannot be trusted" in response.content


def test_missing_pkce_is_refused_by_redirect(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), code_challenge=None, code_challenge_method=None)
    query = redirect_query(client.get("/oauth/authorize?" + urlencode(params)))
    assert query["error"] == "invalid_request"
    assert query["state"] == params["state"]
    assert query["iss"] == settings.ISSUER
    assert not Grant.objects.exists()


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_other_than_s256_is_refused(client, user, public_client, method):
    client.force_login(user)
    pkce = Pkce.new()
    params = authorize_params(public_client, pkce, code_challenge_method=method)
    query = redirect_query(client.get("/oauth/authorize?" + urlencode(params)))
    assert query["error"] == "invalid_request"
    assert not Grant.objects.exists()


def test_implicit_response_type_is_refused(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), response_type="token")
    query = redirect_query(client.get("/oauth/authorize?" + urlencode(params)))
    assert query["error"] in {"unsupported_response_type", "unauthorized_client"}


def test_wrong_verifier_is_invalid_grant(issue_code, exchange, public_client):
    code, _, _ = issue_code(public_client)
    response = exchange(public_client, code, Pkce.new())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_reused_code_fails_and_revokes_tokens_issued_with_it(client, issue_code, exchange, public_client):
    code, pkce, _ = issue_code(public_client)
    first = exchange(public_client, code, pkce)
    assert first.status_code == 200
    second = exchange(public_client, code, pkce)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {first.json()['access_token']}")
    assert info.status_code == 401
    refresh = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": public_client.client_id,
        },
    )
    assert refresh.status_code == 400
    assert not AccessToken.objects.exists()


def test_expired_code_is_invalid_grant(issue_code, exchange, public_client):
    code, pkce, _ = issue_code(public_client)
    Grant.objects.update(expires="2000-01-01T00:00:00Z")
    response = exchange(public_client, code, pkce)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_for_another_redirect_uri_is_refused(issue_code, exchange, public_client):
    code, pkce, _ = issue_code(public_client)
    response = exchange(public_client, code, pkce, redirect_uri="http://127.0.0.1:1/other")
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert not AccessToken.objects.exists()


def test_code_issued_to_client_a_redeemed_by_client_b(issue_code, exchange, public_client):
    other = make_public_client(name="Other")
    code, pkce, _ = issue_code(public_client)
    response = exchange(other, code, pkce)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_wrong_grant_type_for_client(client, public_client):
    response = form_post(
        client, "/oauth/token", {"grant_type": "client_credentials", "client_id": public_client.client_id}
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in {"invalid_client", "unauthorized_client"}


@pytest.mark.parametrize(
    "grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"]
)
def test_grants_outside_oauth_2_1_are_refused(client, public_client, grant_type):
    response = form_post(
        client,
        "/oauth/token",
        {"grant_type": grant_type, "client_id": public_client.client_id, "username": "a", "password": "b"},
    )
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_malformed_form_body_is_a_json_error(client):
    response = client.post(
        "/oauth/token", b"%%%&&&=grant_type", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "error" in response.json()


def test_json_body_at_token_endpoint_is_invalid_request(client, public_client):
    response = client.post(
        "/oauth/token",
        {"grant_type": "authorization_code", "client_id": public_client.client_id},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_answers_with_and_without_slash(client, public_client):
    for path in ("/oauth/token", "/oauth/token/"):
        response = form_post(client, path, {"grant_type": "authorization_code", "code": "x"})
        assert response.status_code in (400, 401)
        assert "error" in response.json()


def test_redirect_uri_from_registration_is_exact(client, user):
    app = make_public_client(redirect_uris="https://claude.ai/api/mcp/auth_callback")
    client.force_login(user)
    ok = authorize_params(app, Pkce.new(), redirect_uri="https://claude.ai/api/mcp/auth_callback")
    assert consent(client, ok)["Location"].startswith("https://claude.ai/api/mcp/auth_callback?code=")
    for bad in ("https://claude.ai:444/api/mcp/auth_callback", "https://claude.ai/api/mcp/auth_callback?x=1"):
        params = authorize_params(app, Pkce.new(), redirect_uri=bad)
        assert client.get("/oauth/authorize?" + urlencode(params)).status_code == 400
