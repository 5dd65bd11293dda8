"""A database outage answers 503 with a retry hint, never a 500 (authserver/db_outage.py).

The outage is simulated where the driver would fail: every query raises the driver's
OperationalError through Django's error wrapper, as psycopg does when PostgreSQL is down.
tests/live/test_faults_and_load.py stops a real PostgreSQL under load.
"""

import logging
from contextlib import contextmanager

import pytest
from django.db import InterfaceError, OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from authserver import db_outage
from tests.conftest import Pkce, authorize_params, basic_auth, form_post

pytestmark = pytest.mark.django_db

REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


@pytest.fixture(autouse=True)
def _fresh_outage_log(monkeypatch):
    monkeypatch.setattr(db_outage, "_last_logged", 0.0)
    monkeypatch.setattr(db_outage, "_unlogged", 0)


@contextmanager
def database_down(error_class=None):
    original = CursorWrapper._execute

    def refuse(self, sql, params, *args):
        with self.db.wrap_database_errors:
            raise (error_class or self.db.Database.OperationalError)(REFUSED)

    CursorWrapper._execute = refuse
    try:
        yield
    finally:
        CursorWrapper._execute = original


def token_request(client, app):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "mcp:tools"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, app.plain_secret),
    )


def assert_json_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(db_outage.RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert "database" in body["error_description"]
    assert "5432" not in body["error_description"]  # the driver's message stays in the log


def test_token_endpoint_answers_json_503_then_recovers(client, confidential_client):
    with database_down():
        assert_json_503(token_request(client, confidential_client))
    response = token_request(client, confidential_client)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


def test_registration_and_userinfo_answer_json_503(client):
    with database_down():
        registration = client.post(
            "/oauth/register",
            {"client_name": "Outage", "redirect_uris": ["http://127.0.0.1:9/cb"]},
            content_type="application/json",
        )
        userinfo = client.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + "x" * 40)
    assert_json_503(registration)
    assert_json_503(userinfo)


def test_interface_error_is_an_outage_too(client, confidential_client):
    with database_down(InterfaceError):
        assert_json_503(token_request(client, confidential_client))


def test_authorize_page_answers_an_html_503_in_the_users_language(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    with database_down():
        response = client.get("/oauth/authorize", params, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(db_outage.RETRY_AFTER_SECONDS)
    assert "Временно недоступно" in response.content.decode()
    assert "Location" not in response


def test_home_page_answers_an_html_503(client, user):
    client.force_login(user)  # the session and the user are read from the database
    with database_down():
        response = client.get("/")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()


def test_an_outage_is_logged_once_without_a_traceback(client, confidential_client, caplog):
    with caplog.at_level(logging.WARNING), database_down():
        for _ in range(3):
            assert token_request(client, confidential_client).status_code == 503
    records = [r for r in caplog.records if r.name == "authserver.db_outage"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert records[0].exc_info is None
    assert "Connection refused" in records[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class RaisesAfterTheView:
    """A middleware whose response phase hits the database (as saving a session does)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info == "/oauth/jwks":
            raise OperationalError(REFUSED)
        if request.path_info == "/":
            raise ValueError("a bug, not an outage")
        return response


def test_a_database_error_outside_the_view_is_a_503_too(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.RaisesAfterTheView"]
    client = Client(raise_request_exception=False)
    assert_json_503(client.get("/oauth/jwks"))
    other = client.get("/")
    assert other.status_code == 500  # any other error stays a 500
    assert "Something went wrong" in other.content.decode()
