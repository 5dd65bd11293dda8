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
        (INCR + EXPIRE in a transaction) where Django's incr needs two and fails on a
        missing key. Rate-limit windows name their key, so a renewed expiry is harmless."""
        key = self.make_and_validate_key(key, version=version)
        client = self._cache.get_client(key, write=True)
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, timeout)
            count, _ = pipe.execute()
        return count
