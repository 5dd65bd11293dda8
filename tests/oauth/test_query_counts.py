"""Queries per request stay fixed: no N+1 on any endpoint, however many tokens exist.

The ceilings are today's counts (savepoints included, since DOT wraps token saves in
transactions). A change that adds a query to a hot path makes one of these fail and has
to say why in the commit that raises the number.
"""

import hashlib
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_access_token_model

from oauth.models import Consent
from tests.conftest import Pkce, authorize_params, basic_auth, form_post, make_confidential_client

AccessToken = get_access_token_model()


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def crowd(public_client, tokens):
    """Other grants' tokens in the tables, so a per-row query would show. (With `openid`,
    so the first id_token's signing key already exists: that is a once-per-deployment write.)"""
    for _ in range(5):
        tokens(public_client)


@pytest.fixture
def service(db):
    return make_confidential_client()


def client_credentials(client, service):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "mcp:tools"},
        HTTP_AUTHORIZATION=basic_auth(service.client_id, service.plain_secret),
    )


@pytest.mark.django_db
def test_client_credentials_is_one_insert_once_the_client_is_cached(
    client, service, settings, django_assert_max_num_queries
):
    settings.CLIENT_CREDENTIALS_ASYNC_COMMIT = False
    assert client_credentials(client, service).status_code == 200
    with django_assert_max_num_queries(1):
        assert client_credentials(client, service).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
@pytest.mark.django_db
def test_client_credentials_tokens_skip_the_wal_flush_and_nothing_else_does(
    client, service, public_client, tokens
):
    with CaptureQueriesContext(connection) as issued:
        response = client_credentials(client, service)
    assert response.status_code == 200
    statements = [q["sql"] for q in issued.captured_queries]
    assert "SET LOCAL synchronous_commit TO OFF" in statements
    assert AccessToken.objects.filter(token_checksum=checksum(response.json()["access_token"])).exists()

    with CaptureQueriesContext(connection) as code_flow:
        tokens(public_client)
    assert not [q for q in code_flow.captured_queries if "synchronous_commit" in q["sql"]]


@pytest.mark.django_db
def test_code_exchange(client, public_client, issue_code, exchange, crowd, django_assert_max_num_queries):
    code, pkce, _ = issue_code(public_client)
    client.logout()
    # 12, with the savepoint of the one transaction that saves the tokens and deletes the code
    # together (oauth/views.py TokenView), so a lost database cannot split them.
    with django_assert_max_num_queries(12):
        assert exchange(public_client, code, pkce).status_code == 200


@pytest.mark.django_db
def test_refresh(client, public_client, tokens, crowd, django_assert_max_num_queries):
    issued = tokens(public_client)
    client.logout()
    body = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": public_client.client_id,
    }
    with django_assert_max_num_queries(21):
        assert form_post(client, "/oauth/token", body).status_code == 200


@pytest.mark.django_db
def test_userinfo_is_one_query(client, public_client, tokens, crowd, django_assert_max_num_queries):
    access = tokens(public_client)["access_token"]
    client.logout()
    with django_assert_max_num_queries(1):
        assert client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200


@pytest.mark.django_db
def test_introspection_is_one_query_once_the_caller_is_cached(
    client, public_client, tokens, service, crowd, django_assert_max_num_queries
):
    access = tokens(public_client)["access_token"]
    client.logout()
    auth = basic_auth(service.client_id, service.plain_secret)
    form_post(client, "/oauth/introspect", {"token": "warm-up"}, HTTP_AUTHORIZATION=auth)
    with django_assert_max_num_queries(1):
        response = form_post(client, "/oauth/introspect", {"token": access}, HTTP_AUTHORIZATION=auth)
    assert response.json()["active"] is True


@pytest.mark.django_db
def test_authorize_page(client, user, public_client, crowd, django_assert_max_num_queries):
    Consent.objects.all().delete()
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    with django_assert_max_num_queries(5):  # session, user, client (twice), remembered consent
        page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200


@pytest.mark.django_db
def test_authorize_with_a_remembered_consent_redirects_with_a_code(
    client, user, public_client, crowd, django_assert_max_num_queries
):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    with django_assert_max_num_queries(12):
        answer = client.get("/oauth/authorize?" + urlencode(params))
    assert answer.status_code == 302
    assert "code=" in answer["Location"]
