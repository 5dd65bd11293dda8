"""Client secrets: hashed at rest with a fast keyed hash, verified in constant time."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from oauth_clients import cache as client_cache
from oauth_clients.services import create_client, rotate_client_secret
from tests.conftest import basic_auth, form_post

Client = get_application_model()
AccessToken = get_access_token_model()

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    return create_client(
        name="Billing service", grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=["mcp:tools"]
    )


def token_with_basic(client, client_id, secret):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )


def token_with_post(client, client_id, secret):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def raw_secret_column(pk) -> str:
    table = Client._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT client_secret FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_generated_secret_is_256_bits_and_only_its_hmac_is_stored(service):
    assert len(service.secret) >= 43  # token_urlsafe(32)
    raw = raw_secret_column(service.client.pk)
    assert raw.startswith("hmac_sha256$")
    assert service.secret not in raw


@pytest.mark.parametrize("send", [token_with_basic, token_with_post])
def test_secret_works_with_basic_and_post(client, service, send):
    response = send(client, service.client.client_id, service.secret)
    assert response.status_code == 200
    assert response.json()["scope"] == "mcp:tools"


@pytest.mark.parametrize(
    "secret",
    ["wrong", "", "x" * 10_240],
    ids=["wrong", "empty", "10KB"],
)
def test_bad_secret_is_401_invalid_client_with_basic_challenge(client, service, secret):
    response = token_with_basic(client, service.client.client_id, secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not AccessToken.objects.exists()


def test_secret_of_another_client_is_refused(client, service):
    other = create_client(name="Other service", grant_type=Client.GRANT_CLIENT_CREDENTIALS)
    response = token_with_basic(client, service.client.client_id, other.secret)
    assert response.status_code == 401
    assert not AccessToken.objects.exists()


def test_pbkdf2_secret_still_verifies_and_is_upgraded_on_first_use(client, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "oauth_clients.hashers.HMACSHA256ClientSecretHasher",
    ]
    legacy = Client.objects.create(
        name="Legacy",
        client_type=Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Client.GRANT_CLIENT_CREDENTIALS,
        client_secret=make_password("legacy-secret", hasher="pbkdf2_sha256"),
        allowed_scopes="mcp:tools",
    )
    assert raw_secret_column(legacy.pk).startswith("pbkdf2_sha256$")
    assert token_with_basic(client, legacy.client_id, "legacy-secret").status_code == 200
    assert raw_secret_column(legacy.pk).startswith("hmac_sha256$")
    assert token_with_basic(client, legacy.client_id, "legacy-secret").status_code == 200
    assert token_with_basic(client, legacy.client_id, "wrong").status_code == 401


def test_rotation_without_grace_invalidates_old_secret_at_once(client, service):
    new = rotate_client_secret(service.client)
    assert token_with_basic(client, service.client.client_id, service.secret).status_code == 401
    assert token_with_basic(client, service.client.client_id, new).status_code == 200


def test_rotation_with_grace_keeps_both_then_only_new(client, service):
    new = rotate_client_secret(service.client, timedelta(minutes=5))
    assert token_with_basic(client, service.client.client_id, service.secret).status_code == 200
    assert token_with_post(client, service.client.client_id, new).status_code == 200
    Client.objects.filter(pk=service.client.pk).update(
        previous_secret_valid_until=timezone.now() - timedelta(seconds=1)
    )
    client_cache.forget(service.client.client_id)  # a queryset update bypasses the save signal
    assert token_with_basic(client, service.client.client_id, service.secret).status_code == 401
    assert token_with_basic(client, service.client.client_id, new).status_code == 200


def test_str_and_repr_never_show_the_secret(service):
    client = Client.objects.get(pk=service.client.pk)
    assert service.secret not in str(client)
    assert service.secret not in repr(client)
    assert client.client_secret not in str(client)


def test_public_client_has_no_secret_and_needs_pkce(client):
    issued = create_client(
        name="CLI",
        client_type=Client.CLIENT_PUBLIC,
        grant_type=Client.GRANT_AUTHORIZATION_CODE,
        redirect_uris=["http://127.0.0.1/callback"],
    )
    assert issued.secret is None
    assert raw_secret_column(issued.client.pk) == ""
    response = token_with_post(client, issued.client.client_id, "anything")
    assert response.status_code == 401
