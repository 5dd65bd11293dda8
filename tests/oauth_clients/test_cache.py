"""Clients are cached by client_id; an admin's edit is seen on the very next request."""

import os

import pytest
from oauth2_provider.models import get_application_model

from oauth_clients.services import create_client
from tests.conftest import basic_auth, form_post

Client = get_application_model()

pytestmark = pytest.mark.django_db


def token(client, issued, scope):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic_auth(issued.client.client_id, issued.secret),
    )


def test_admin_edit_invalidates_the_cached_client(client, admin_client):
    issued = create_client(
        name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=["mcp:tools"]
    )
    assert token(client, issued, "mcp:tools").status_code == 200  # now cached
    assert token(client, issued, "mcp:resources").status_code == 400
    response = admin_client.post(
        f"/admin/oauth_clients/client/{issued.client.pk}/change/",
        {
            "name": "svc",
            "client_type": "confidential",
            "authorization_grant_type": "client-credentials",
            "redirect_uris": "",
            "allowed_scopes": ["mcp:tools", "mcp:resources"],
            "allowed_resources": "",
            "description": "",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert token(client, issued, "mcp:resources").status_code == 200


def test_deleted_client_is_invalid_client_at_once(client):
    issued = create_client(name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS)
    assert token(client, issued, "openid").status_code in (200, 400)
    Client.objects.get(pk=issued.client.pk).delete()
    response = token(client, issued, "openid")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_prefetched_entry_answers_the_first_read_only(settings):
    from django.core.cache import cache

    from oauth_clients import cache as client_cache

    issued = create_client(name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS)
    client_id = issued.client.client_id
    cache.set(client_cache.key(client_id), "the entry in the cache", 60)
    with client_cache.prefetched(client_id, "read with the counters"):
        assert client_cache.get("another-client") is None
        assert client_cache.get(client_id) == "read with the counters"
        assert client_cache.get(client_id) == "the entry in the cache"
    with client_cache.prefetched(client_id, "read with the counters"):
        client_cache.forget(client_id)  # the request changed the client
        assert client_cache.get(client_id) is None
    with client_cache.prefetched(client_id, None):  # not in the cache when prefetched
        assert client_cache.get(client_id) is None
    assert client_cache.get(client_id) is None


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")
def test_the_token_request_reads_its_client_with_the_rate_limit_counters(client, monkeypatch):
    from ops.redis_cache import RedisCache

    issued = create_client(
        name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=["mcp:tools"]
    )
    assert token(client, issued, "mcp:tools").status_code == 200  # now cached
    reads, counted = [], []
    get, count_and_get = RedisCache.get, RedisCache.count_and_get

    def spy_get(self, key, *args, **kwargs):
        reads.append(key)
        return get(self, key, *args, **kwargs)

    def spy_count_and_get(self, counters, keys=(), *args, **kwargs):
        counted.append(list(keys))
        return count_and_get(self, counters, keys, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get", spy_get)
    monkeypatch.setattr(RedisCache, "count_and_get", spy_count_and_get)

    response = token(client, issued, "mcp:tools")

    assert response.status_code == 200
    assert counted == [[f"client:{issued.client.client_id}"]]
    assert not [key for key in reads if key.startswith("client:")]
