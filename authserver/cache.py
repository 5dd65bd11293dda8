"""Django's Redis cache backend, minus one redis.Redis object per cache call.

Django's RedisCacheClient builds a new ``redis.Redis`` around its connection pool on every
get/set; in redis-py 8 that constructor costs about as much as the round trip itself, and
the token endpoint reads the cache on every request. The client objects are thread-safe
wrappers over the pool, so one per pool is enough.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def incr_with_expiry(self, key, timeout, version=None) -> int:
        """Add one to a counter and let it live `timeout` more seconds: one round trip
        where Django's incr needs two and fails on a missing key."""
        return self.count_and_get([(key, timeout)])[0][0]

    def count_and_get(self, counters, keys=(), version=None) -> tuple[list[int], list]:
        """Add one to each (key, timeout) counter, renewing its expiry, and read `keys`:
        all in one pipelined round trip. Returns the new counts and the values read
        (None where missing). Rate-limit windows name their key, so a renewed expiry is
        harmless, and INCR creates a missing counter at 1."""
        client = self._cache.get_client(write=True)
        with client.pipeline(transaction=False) as pipe:
            for key, timeout in counters:
                key = self.make_and_validate_key(key, version=version)
                pipe.incr(key)
                pipe.expire(key, timeout)
            for key in keys:
                pipe.get(self.make_and_validate_key(key, version=version))
            replies = pipe.execute()
        counted = 2 * len(counters)
        loads = self._cache._serializer.loads
        values = [None if value is None else loads(value) for value in replies[counted:]]
        return replies[0:counted:2], values
