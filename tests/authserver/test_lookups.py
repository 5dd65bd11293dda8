"""The token lookups compiled once (authserver/oauth/lookups.py) answer exactly what the
queryset they replace answers, on every evaluation, for every kind of row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_access_token_model, get_grant_model

from authserver.oauth.lookups import first_by
from authserver.oauth.validator import checksum
from tests.authserver.test_introspection_and_revocation import client_credentials

AccessToken = get_access_token_model()
Grant = get_grant_model()

pytestmark = pytest.mark.django_db

RELATED = ("user", "application")


def queryset_answer(value):
    return AccessToken.objects.select_related(*RELATED).filter(token_checksum=value).first()


def same_row(prepared, queried):
    assert prepared.__class__ is queried.__class__
    fields = [f.attname for f in AccessToken._meta.concrete_fields]
    assert {f: getattr(prepared, f) for f in fields} == {f: getattr(queried, f) for f in fields}


def test_a_user_token_comes_back_with_its_user_and_client_in_one_query(client, tokens, public_client, user):
    access = tokens(public_client)["access_token"]
    with CaptureQueriesContext(connection) as queries:
        token = first_by(AccessToken, "token_checksum", checksum(access), related=RELATED)
        assert token.user.username == user.username
        assert token.application.client_id == public_client.client_id
    assert len(queries) == 1
    same_row(token, queryset_answer(checksum(access)))
    # JSON and time-zone-aware columns are converted as a queryset converts them.
    assert isinstance(token.resource, list)
    assert token.expires.tzinfo is not None
    assert token.is_valid()


def test_a_client_credentials_token_has_no_user(client, confidential_client):
    access = client_credentials(client, confidential_client, scope="mcp:tools").json()["access_token"]
    token = first_by(AccessToken, "token_checksum", checksum(access), related=RELATED)
    assert token.user is None
    assert token.application.pk == confidential_client.pk
    same_row(token, queryset_answer(checksum(access)))


def test_unknown_and_deleted_tokens_are_none_every_time(client, tokens, public_client):
    access = tokens(public_client)["access_token"]
    assert first_by(AccessToken, "token_checksum", checksum("no such token"), related=RELATED) is None
    assert first_by(AccessToken, "token_checksum", checksum(access), related=RELATED) is not None
    AccessToken.objects.all().delete()
    # The statement prepared by the calls above is reused and sees the change.
    assert first_by(AccessToken, "token_checksum", checksum(access), related=RELATED) is None


def test_each_value_gets_its_own_row(client, tokens, public_client, confidential_client):
    first = tokens(public_client)["access_token"]
    second = client_credentials(client, confidential_client, scope="mcp:tools").json()["access_token"]
    found = [first_by(AccessToken, "token_checksum", checksum(t), related=RELATED) for t in (first, second)]
    assert found[0].pk != found[1].pk
    assert [t.token_checksum for t in found] == [checksum(first), checksum(second)]


def test_a_grant_by_code_with_its_user(client, issue_code, public_client, user):
    code, _, _ = issue_code(public_client)
    grant = first_by(Grant, "code", code, related=("user",))
    assert grant.user == user
    assert grant.application_id == public_client.pk
    assert grant.code_challenge_method == "S256"
    assert first_by(Grant, "code", code + "x", related=("user",)) is None
