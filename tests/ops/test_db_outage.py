"""A database outage answers 503 with a retry hint, never a 500 (ops/outage.py).

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

from ops import outage as db_outage
from tests.conftest import Pkce, authorize_params, form_post
from tests.oauth.test_introspection_and_revocation import client_credentials

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
    return client_credentials(client, app, scope="mcp:tools")


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
    records = [r for r in caplog.records if r.name == "ops.outage"]
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
    # On both stacks: /oauth/jwks is an API endpoint, / a page.
    settings.API_MIDDLEWARE = [*settings.API_MIDDLEWARE, f"{__name__}.RaisesAfterTheView"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.RaisesAfterTheView"]
    client = Client(raise_request_exception=False)
    assert_json_503(client.get("/oauth/jwks"))
    other = client.get("/")
    assert other.status_code == 500  # any other error stays a 500
    assert "Something went wrong" in other.content.decode()


def test_a_refresh_cut_off_before_its_commit_leaves_a_usable_refresh_token(client, tokens, public_client):
    """The grace window caches the new pair before the commit; when the database fails at
    the commit, the retry must not be handed that pair, which was never stored."""
    from oauth import refresh_grace

    first = tokens(public_client)
    body = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": public_client.client_id,
    }
    remember = refresh_grace.remember

    def remember_then_lose_the_database(*args, **kwargs):
        remember(*args, **kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    refresh_grace.remember = remember_then_lose_the_database
    try:
        assert_json_503(form_post(client, "/oauth/token", body))
    finally:
        refresh_grace.remember = remember

    retried = form_post(client, "/oauth/token", body)
    assert retried.status_code == 200, retried.content
    pair = retried.json()
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}").status_code == 200
    )
    onward = form_post(client, "/oauth/token", {**body, "refresh_token": pair["refresh_token"]})
    assert onward.status_code == 200, onward.content


def test_a_code_exchange_cut_off_after_saving_its_tokens_can_be_retried_once(
    client, issue_code, exchange, public_client
):
    """The database goes away between saving the tokens and recording the code as used:
    nothing of the attempt stays, and the retry issues exactly one set of tokens."""
    from unittest import mock

    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    from oauth import validator
    from oauth.models import RedeemedCode

    code, pkce, _ = issue_code(public_client)
    insert = validator.insert

    def lose_the_database_at_the_redeemed_code(row, *args, **kwargs):
        if isinstance(row, RedeemedCode):
            raise OperationalError("server closed the connection unexpectedly")
        return insert(row, *args, **kwargs)

    with mock.patch.object(validator, "insert", side_effect=lose_the_database_at_the_redeemed_code):
        assert_json_503(exchange(public_client, code, pkce))
    assert get_access_token_model().objects.filter(application=public_client).count() == 0

    retried = exchange(public_client, code, pkce)
    assert retried.status_code == 200, retried.content
    assert get_access_token_model().objects.filter(application=public_client).count() == 1
    assert get_refresh_token_model().objects.filter(application=public_client).count() == 1
    assert exchange(public_client, code, pkce).json()["error"] == "invalid_grant"


def test_an_exchange_that_loses_the_race_for_its_code_leaves_no_tokens(
    client, issue_code, exchange, public_client
):
    """A concurrent exchange of the same code deletes it between this one's token save
    and its own delete: this one answers invalid_grant and its tokens are undone."""
    from unittest import mock

    from oauth2_provider.models import get_access_token_model, get_grant_model

    from oauth.validator import OAuth2Validator as Validator

    code, pkce, _ = issue_code(public_client)
    save = Validator.save_bearer_token

    def save_then_lose_the_race(self, token, request, *args, **kwargs):
        result = save(self, token, request, *args, **kwargs)
        get_grant_model().objects.filter(code=code).delete()  # the other request's delete
        return result

    with mock.patch.object(Validator, "save_bearer_token", save_then_lose_the_race):
        response = exchange(public_client, code, pkce)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert get_access_token_model().objects.filter(application=public_client).count() == 0
