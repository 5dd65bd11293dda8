"""The Redis cache backend reuses one client per pool and still behaves as Django's."""

import os

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from ops.redis_cache import RedisCache

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


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")
def test_count_and_get_counts_renews_expiry_and_reads_in_one_call():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "count-and-get-test"})
    cache.delete_many(["a", "b", "v"])
    cache.set("v", {"client_id": "abc"}, 30)

    assert cache.count_and_get([("a", 10), ("b", 20)], ["v", "missing"]) == (
        [1, 1],
        [{"client_id": "abc"}, None],
    )
    assert cache.count_and_get([("a", 10)]) == ([2], [])
    assert cache.count_and_get([("b", 20)]) == ([2], [])

    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_key("a")) <= 10
    assert 10 < client.ttl(cache.make_key("b")) <= 20
    cache.delete_many(["a", "b", "v"])


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")
def test_count_and_get_works_where_an_acl_refuses_scripts(caplog):
    import redis

    admin = redis.Redis.from_url(REDIS_URL)
    admin.execute_command("ACL", "SETUSER", "no-scripts-test", "on", "nopass", "~*", "+@all", "-@scripting")
    try:
        scheme, _, rest = REDIS_URL.partition("://")
        cache = RedisCache(f"{scheme}://no-scripts-test:@{rest}", {"KEY_PREFIX": "count-and-get-acl-test"})
        cache.delete_many(["a", "v"])
        cache.set("v", ["a value"], 30)

        assert cache.count_and_get([("a", 10)], ["v", "missing"]) == ([1], [["a value"], None])
        assert cache.count_and_get([("a", 10)], ["v"]) == ([2], [["a value"]])
        assert "Redis refuses scripts" in caplog.text
        assert 0 < cache._cache.get_client(write=True).ttl(cache.make_key("a")) <= 10
        cache.delete_many(["a", "v"])
    finally:
        admin.execute_command("ACL", "DELUSER", "no-scripts-test")


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")
def test_a_command_error_in_the_script_is_raised_and_the_script_kept():
    from redis.exceptions import ResponseError

    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "count-and-get-error-test"})
    cache.delete_many(["not-a-counter", "a-counter"])
    client = cache._cache.get_client(write=True)
    client.set(cache.make_key("not-a-counter"), "text")
    with pytest.raises(ResponseError, match="not an integer"):
        cache.count_and_get([("not-a-counter", 10)])
    assert cache.count_and_get([("a-counter", 10)]) == ([1], [])
    assert not cache._scripts_refused
    cache.delete_many(["not-a-counter", "a-counter"])


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")
def test_an_unreadable_entry_read_with_the_counters_is_a_miss(caplog):
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "count-and-get-unreadable-test"})
    cache.delete_many(["c", "stale"])
    # What an entry pickled by another release looks like to this one: a class it lacks.
    cache._cache.get_client(write=True).set(cache.make_key("stale"), b"\x80\x04cgone\nModel\n.")

    assert cache.count_and_get([("c", 10)], ["stale"]) == ([1], [None])
    assert "treated as missing" in caplog.text
    cache.delete_many(["c", "stale"])
