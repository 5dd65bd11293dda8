"""The token lookups compiled once (oauth/lookups.py) answer exactly what the
queryset they replace answers, on every evaluation, for every kind of row."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_access_token_model, get_grant_model

from oauth.lookups import first_by
from oauth.validator import checksum
from tests.oauth.test_introspection_and_revocation import client_credentials

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


# --- inserts compiled once ------------------------------------------------------------


def stored(model, pk) -> dict:
    row = model.objects.filter(pk=pk).values().get()
    return {key: value for key, value in row.items() if key not in ("id", "created", "updated")}


EXPIRES = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def new_token(model, public_client, user, raw: str, **extra):
    from oauth2_provider.models import set_token_value

    fields = {"user": user, "application": public_client, "resource": ["https://mcp.example.com/"], **extra}
    if model is AccessToken:
        fields.update(scope="openid mcp:tools", expires=EXPIRES)
    token = model(**fields)
    set_token_value(token, raw)
    return token


def test_an_inserted_row_is_the_row_save_would_write(public_client, user):
    from oauth2_provider.models import get_refresh_token_model

    from oauth.lookups import insert

    RefreshToken = get_refresh_token_model()
    for model, extra in ((AccessToken, {}), (RefreshToken, {"token_family": "0" * 32})):
        saved = new_token(model, public_client, user, f"saved-{model.__name__}", **extra)
        saved.save()
        inserted = new_token(model, public_client, user, f"inserted-{model.__name__}", **extra)
        with CaptureQueriesContext(connection) as queries:
            insert(inserted)
        assert len(queries) == 1 and queries[0]["sql"].startswith("INSERT")
        assert inserted.pk is not None and inserted.pk != saved.pk
        assert not inserted._state.adding
        row, reference = stored(model, inserted.pk), stored(model, saved.pk)
        assert row.pop("token_checksum") == checksum(f"inserted-{model.__name__}")
        assert reference.pop("token_checksum") == checksum(f"saved-{model.__name__}")
        assert row == reference
        assert row["token"] == ""  # redacted at rest, as save() leaves it
        # auto_now fields were set on the instance as save() sets them.
        assert inserted.created is not None and inserted.updated is not None


def test_an_insert_with_save_receivers_goes_through_save(public_client, user):
    from django.db.models.signals import post_save

    from oauth.lookups import insert

    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.pk, created))

    post_save.connect(receiver, sender=AccessToken, dispatch_uid="lookups-test")
    try:
        token = new_token(AccessToken, public_client, user, "with-a-receiver")
        insert(token)
    finally:
        post_save.disconnect(dispatch_uid="lookups-test", sender=AccessToken)
    assert seen == [(token.pk, True)]


def test_tokens_issued_by_every_grant_are_stored_whole(client, tokens, public_client, user):
    from oauth2_provider.models import get_refresh_token_model

    from tests.conftest import form_post

    RefreshToken = get_refresh_token_model()
    issued = tokens(public_client)
    access = AccessToken.objects.get(token_checksum=checksum(issued["access_token"]))
    refresh = RefreshToken.objects.get(token_checksum=checksum(issued["refresh_token"]))
    assert (access.user, access.application, access.token) == (user, public_client, "")
    assert access.id_token is not None and access.id_token.user == user
    assert (refresh.access_token, refresh.user, refresh.token) == (access, user, "")
    assert refresh.token_family is not None

    client.logout()
    rotated = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": issued["refresh_token"],
            "client_id": public_client.client_id,
        },
    ).json()
    new_access = AccessToken.objects.get(token_checksum=checksum(rotated["access_token"]))
    new_refresh = RefreshToken.objects.get(token_checksum=checksum(rotated["refresh_token"]))
    assert new_access.source_refresh_token == RefreshToken.objects.get(pk=refresh.pk)
    assert new_refresh.token_family == refresh.token_family
    assert new_refresh.access_token == new_access
    assert new_access.resource == access.resource


def test_the_id_token_and_redeemed_code_rows_are_stored_whole(
    client, issue_code, exchange, public_client, user
):
    import jwt
    from oauth2_provider.models import get_id_token_model

    from oauth.models import RedeemedCode

    code, pkce, params = issue_code(public_client)
    issued = exchange(public_client, code, pkce).json()
    claims = jwt.decode(issued["id_token"], options={"verify_signature": False})
    row = get_id_token_model().objects.get(jti=claims["jti"])
    assert (row.user, row.application, row.scope) == (user, public_client, params["scope"])
    assert int(row.expires.timestamp()) == claims["exp"]
    assert AccessToken.objects.get(token_checksum=checksum(issued["access_token"])).id_token == row

    redeemed = RedeemedCode.objects.get(code_checksum=checksum(code))
    assert redeemed.application == public_client
    assert redeemed.access_token_checksum == checksum(issued["access_token"])
    assert (
        redeemed.token_family
        == AccessToken.objects.get(token_checksum=checksum(issued["access_token"])).refresh_token.token_family
    )
    assert redeemed.redeemed_at is not None


# --- a row lock without a queryset ------------------------------------------------------


def test_lock_row_says_whether_the_row_exists(public_client):
    from django.db import transaction

    from oauth.lookups import lock_row

    Client = type(public_client)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert lock_row(Client, public_client.pk) is True
        assert lock_row(Client, public_client.pk + 1000) is False
    locks = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(locks) == 2
    if connection.features.has_select_for_update:
        assert all(sql.endswith("FOR UPDATE") for sql in locks)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_lock_row_holds_the_row_until_the_transaction_ends(public_client):
    from django.db import connections, transaction
    from django.db.utils import OperationalError

    from oauth.lookups import lock_row

    Client = type(public_client)
    table = Client._meta.db_table
    other = connections.create_connection("default")
    try:
        with transaction.atomic():
            assert lock_row(Client, public_client.pk)
            with pytest.raises(OperationalError, match="could not obtain lock"), other.cursor() as cursor:
                cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [public_client.pk])  # noqa: S608
        with other.cursor() as cursor:  # released with the commit
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [public_client.pk])  # noqa: S608
            assert cursor.fetchone() == (1,)
    finally:
        other.close()
