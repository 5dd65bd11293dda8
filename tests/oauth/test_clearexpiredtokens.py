"""`clearexpiredtokens`: expired rows go, live ones and reuse evidence stay, in batches."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from oauth.models import RedeemedCode
from tests.conftest import REDIRECT_URI, form_post

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()


def run(**options) -> dict:
    out = StringIO()
    call_command("clearexpiredtokens", "--json", stdout=out, **options)
    return json.loads(out.getvalue())["deleted"]


def access_token(app, user, expires_in: int, checksum: str):
    return AccessToken.objects.create(
        user=user,
        application=app,
        token=checksum,
        token_checksum=checksum,
        expires=timezone.now() + timedelta(seconds=expires_in),
        scope="mcp:tools",
    )


@pytest.mark.django_db
def test_expired_access_tokens_go_in_batches_and_live_ones_stay(public_client, user):
    for n in range(7):
        access_token(public_client, user, -60, f"old{n}")
    live = access_token(public_client, user, 3600, "live")

    deleted = run(batch_size=3)

    assert deleted["access tokens"] == 7
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [live.pk]


@pytest.mark.django_db
def test_an_expired_access_token_with_a_live_refresh_token_stays(client, public_client, tokens, settings):
    issued = tokens(public_client, scope="mcp:tools")
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=5))

    deleted = run()

    assert deleted["access tokens"] == 0
    client.logout()
    body = {"grant_type": "refresh_token", "client_id": public_client.client_id}
    refreshed = form_post(client, "/oauth/token", {**body, "refresh_token": issued["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.content


@pytest.mark.django_db
def test_a_rotated_refresh_token_is_kept_so_its_reuse_still_revokes_the_family(
    client, public_client, tokens, settings
):
    settings.REFRESH_TOKEN_GRACE_SECONDS = 0
    issued = tokens(public_client, scope="mcp:tools")
    client.logout()
    body = {"grant_type": "refresh_token", "client_id": public_client.client_id}
    rotated = form_post(client, "/oauth/token", {**body, "refresh_token": issued["refresh_token"]}).json()

    run()

    reuse = form_post(client, "/oauth/token", {**body, "refresh_token": issued["refresh_token"]})
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    after_reuse = form_post(client, "/oauth/token", {**body, "refresh_token": rotated["refresh_token"]})
    assert after_reuse.status_code == 400


@pytest.mark.django_db
def test_long_revoked_refresh_tokens_expired_codes_and_old_redemptions_go(public_client, user, settings):
    lifetime = settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"]
    long_ago = timezone.now() - timedelta(seconds=lifetime + 60)
    anchor = access_token(public_client, user, 3600, "anchor")
    RefreshToken.objects.create(
        user=user, application=public_client, token="r-old", token_checksum="r-old", revoked=long_ago
    )
    kept = RefreshToken.objects.create(
        user=user, application=public_client, token="r-live", token_checksum="r-live", access_token=anchor
    )
    Grant.objects.create(
        user=user,
        application=public_client,
        code="expired-code",
        expires=timezone.now() - timedelta(seconds=1),
        redirect_uri=REDIRECT_URI,
        scope="mcp:tools",
        code_challenge="x" * 43,
        code_challenge_method="S256",
    )
    old = RedeemedCode.objects.create(code_checksum="a" * 64, application=public_client)
    RedeemedCode.objects.filter(pk=old.pk).update(redeemed_at=timezone.now() - timedelta(hours=2))
    recent = RedeemedCode.objects.create(code_checksum="b" * 64, application=public_client)

    deleted = run(batch_size=1)

    assert deleted["revoked refresh tokens"] == 1
    assert deleted["authorization codes"] == 1
    assert deleted["redeemed code records"] == 1
    assert list(RefreshToken.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(RedeemedCode.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Grant.objects.exists()


@pytest.mark.django_db
def test_the_columns_cleanup_filters_on_are_indexed():
    def indexed_columns(table: str) -> set[str]:
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        return {c["columns"][0] for c in constraints.values() if c["index"] and len(c["columns"]) == 1}

    assert "expires" in indexed_columns("oauth2_provider_accesstoken")
    assert "revoked" in indexed_columns("oauth2_provider_refreshtoken")
    assert "expires" in indexed_columns("oauth2_provider_grant")
    assert "expires" in indexed_columns("oauth2_provider_idtoken")


@pytest.mark.django_db
def test_an_expired_api_key_token_goes_and_the_key_row_stays_as_a_record(confidential_client):
    from oauth_clients.api_keys import create_api_key
    from oauth_clients.models import ApiKey

    key, _raw = create_api_key(
        confidential_client, name="nightly job", scopes=["mcp:tools"], expires_in=timedelta(days=1)
    )
    AccessToken.objects.filter(pk=key.access_token_id).update(expires=timezone.now() - timedelta(minutes=1))

    deleted = run()

    assert deleted["access tokens"] == 1
    key = ApiKey.objects.get(pk=key.pk)
    assert key.access_token_id is None
    assert key.name == "nightly job"
