"""Defects found in review, each checked through the real endpoint."""

import logging
from urllib.parse import urlencode

import pytest

from tests.conftest import (
    Pkce,
    authorize_params,
    basic_auth,
    consent,
    form_post,
    make_confidential_client,
    redirect_query,
)

pytestmark = pytest.mark.django_db


def authorize(client, app, **overrides):
    return client.get("/oauth/authorize?" + urlencode(authorize_params(app, Pkce.new(), **overrides)))


# --- 1. prompt=none with openid -----------------------------------------------------


def test_prompt_none_with_openid_and_no_session_is_login_required(client, public_client):
    query = redirect_query(
        authorize(client, public_client, scope="openid mcp:tools", prompt="none", state="s1")
    )
    assert query["error"] == "login_required"
    assert query["state"] == "s1"
    assert query["iss"]


def test_prompt_none_with_openid_and_no_consent_is_consent_required(client, user, public_client):
    client.force_login(user)
    query = redirect_query(
        authorize(client, public_client, scope="openid mcp:tools", prompt="none", state="s2")
    )
    assert query["error"] == "consent_required"
    assert query["state"] == "s2"
    assert query["iss"]


def test_prompt_none_without_openid_and_no_session_is_login_required(client, public_client):
    query = redirect_query(authorize(client, public_client, scope="mcp:tools", prompt="none", state="s3"))
    assert query["error"] == "login_required"
    assert query["state"] == "s3"
    assert query["iss"]


def test_prompt_none_with_openid_and_remembered_consent_issues_a_code(client, user, public_client):
    client.force_login(user)
    redirect_query(consent(client, authorize_params(public_client, Pkce.new(), scope="openid mcp:tools")))
    query = redirect_query(
        authorize(client, public_client, scope="openid mcp:tools", prompt="none", state="s4")
    )
    assert query["code"]
    assert query["state"] == "s4"


# --- 2. no token, code or secret from a URL in the log ------------------------------


def _written(caplog) -> str:
    """Every captured record as the configured console handler writes it."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "formatter", None) and h.filters)
    lines = []
    for record in caplog.records:
        if handler.filter(record):
            lines.append(handler.format(record))
    return "\n".join(lines)


def test_token_in_userinfo_query_is_not_logged(client, caplog, settings):
    with caplog.at_level(logging.DEBUG):
        response = client.get("/oauth/userinfo?access_token=SECRET-AT-123&refresh_token=SECRET-RT-456")
    assert response.status_code == 400
    written = _written(caplog)
    assert "oauth/userinfo" in written
    assert "SECRET-AT-123" not in written and "SECRET-RT-456" not in written


def test_authorization_code_in_redirect_is_not_logged(client, user, public_client, caplog):
    client.force_login(user)
    with caplog.at_level(logging.DEBUG):
        params = authorize_params(public_client, Pkce.new(), scope="mcp:tools")
        code = redirect_query(consent(client, params))["code"]
        # A client (or a browser extension) that sends the code back in a URL.
        client.get("/oauth/authorize?" + urlencode({**params, "code": code, "client_secret": "SECRET-CS"}))
    written = _written(caplog)
    assert "oauth2_provider:authorize" in written
    assert code not in written and "SECRET-CS" not in written


def test_runserver_request_line_is_redacted(caplog):
    # django.core.servers.basehttp.WSGIRequestHandler.log_message's shape for a 4xx.
    with caplog.at_level(logging.INFO):
        logging.getLogger("django.server").warning(
            '"%s" %s %s',
            "GET /oauth/introspect?token=SECRET-T-1&id_token_hint=SECRET-H-2 HTTP/1.1",
            "405",
            "0",
        )
    written = _written(caplog)
    assert "/oauth/introspect?token=[redacted]&id_token_hint=[redacted]" in written
    assert "SECRET-T-1" not in written and "SECRET-H-2" not in written


def test_gunicorn_access_log_writes_no_query_or_referer():
    from datetime import timedelta
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    conf = {}
    exec((Path(__file__).parents[2] / "gunicorn.conf.py").read_text(), conf)  # noqa: S102 (our own config)
    config = Config()
    config.set("access_log_format", conf["access_log_format"])
    logger = Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/oauth/userinfo?access_token=SECRET-AT-9",
        "PATH_INFO": "/oauth/userinfo",
        "QUERY_STRING": "access_token=SECRET-AT-9",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.5",
        "HTTP_REFERER": "https://app.example.com/cb?code=SECRET-CODE-9",
        "HTTP_USER_AGENT": "probe",
    }
    response = SimpleNamespace(status="400 Bad Request", sent=10, headers=[])
    atoms = logger.atoms_wrapper_class(
        logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    )
    line = conf["access_log_format"] % atoms
    assert '"GET /oauth/userinfo HTTP/1.1" 400' in line
    assert "SECRET" not in line


# --- 3. introspection by POST only (RFC 7662 §2.1) ----------------------------------


@pytest.mark.parametrize("authenticated", [True, False])
def test_introspection_by_get_is_405_json(client, tokens, public_client, authenticated):
    access = tokens(public_client)["access_token"]
    rs = make_confidential_client(name="MCP server")
    headers = {"HTTP_AUTHORIZATION": basic_auth(rs.client_id, rs.plain_secret)} if authenticated else {}
    response = client.get("/oauth/introspect?" + urlencode({"token": access}), **headers)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"
    assert "active" not in response.json()
    # POST still answers.
    posted = form_post(client, "/oauth/introspect", {"token": access}, **headers)
    assert posted.status_code == (200 if authenticated else 401)


# --- 4. a deactivated user's tokens stop working -------------------------------------


@pytest.fixture(params=["jwt", "opaque"])
def deactivated(request, settings, tokens, public_client, user):
    """Tokens issued to `user`, who is then deactivated by an admin."""
    settings.ACCESS_TOKEN_FORMAT = request.param
    issued = tokens(public_client)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return issued


def test_deactivated_users_refresh_token_is_invalid_grant(client, deactivated, public_client):
    body = {
        "grant_type": "refresh_token",
        "refresh_token": deactivated["refresh_token"],
        "client_id": public_client.client_id,
    }
    response = form_post(client, "/oauth/token", body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()


def test_deactivated_users_access_token_is_inactive_at_introspection(client, deactivated):
    rs = make_confidential_client(name="MCP server")
    response = form_post(
        client,
        "/oauth/introspect",
        {"token": deactivated["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs.plain_secret),
    )
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_deactivated_users_access_token_is_refused_at_userinfo(client, deactivated):
    response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {deactivated['access_token']}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_active_users_tokens_still_work(client, settings, tokens, public_client, user):
    # The other side of the tests above: the same calls succeed while the user is active.
    issued = tokens(public_client)
    rs = make_confidential_client(name="MCP server")
    auth = basic_auth(rs.client_id, rs.plain_secret)
    assert form_post(client, "/oauth/introspect", {"token": issued["access_token"]},
                     HTTP_AUTHORIZATION=auth).json()["active"] is True  # fmt: skip
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}").status_code
        == 200
    )
    body = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": public_client.client_id,
    }
    assert form_post(client, "/oauth/token", body).status_code == 200


def test_code_of_a_user_deactivated_before_the_exchange_is_invalid_grant(
    issue_code, exchange, public_client, user
):
    code, pkce, _ = issue_code(public_client)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = exchange(public_client, code, pkce)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
