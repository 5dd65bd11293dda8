"""The Redis cache backend reuses one client per pool and still behaves as Django's."""

import os

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from authserver.cache import RedisCache

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")
def test_values_round_trip_expire_and_delete_through_one_client():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "cache-backend-test"})
    assert isinstance(cache, DjangoRedisCache)
    cache.set("k", {"client_id": "abc"}, 30)
    assert cache.get("k") == {"client_id": "abc"}
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)
    cache.delete("k")
    assert cache.get("k", "gone") == "gone"
    cache.set("short", 1, timeout=0)
    assert cache.get("short") is None
