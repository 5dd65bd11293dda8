"""Django's Redis cache backend, minus one redis.Redis object per cache call.

Django's RedisCacheClient builds a new ``redis.Redis`` around its connection pool on every
get/set; in redis-py 8 that constructor costs about as much as the round trip itself, and
the token endpoint reads the cache on every request. The client objects are thread-safe
wrappers over the pool, so one per pool is enough.
"""

import logging

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import NoPermissionError, ResponseError

logger = logging.getLogger(__name__)


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


# KEYS: the counters, then the keys to read; ARGV: each counter's expiry in seconds.
COUNT_AND_GET = """
local replies = {}
for i, key in ipairs(KEYS) do
  if i <= #ARGV then
    replies[i] = redis.call('INCR', key)
    redis.call('EXPIRE', key, ARGV[i])
  else
    replies[i] = redis.call('GET', key)
  end
end
return replies
"""


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._count_and_get_script = None
        self._scripts_refused = False

    def count_and_get(self, counters, keys=(), version=None) -> tuple[list[int], list]:
        """Add one to each (key, timeout) counter, renewing its expiry, and read `keys`:
        one command (a server-side script), so one round trip and one reply to parse.
        Returns the new counts and the values read (None where missing). Rate-limit
        windows name their key, so a renewed expiry is harmless, and INCR creates a
        missing counter at 1. A server that refuses scripts (an ACL without EVAL) gets
        the same commands as one pipeline."""
        client = self._cache.get_client(write=True)
        names = [self.make_and_validate_key(key, version=version) for key, _ in counters]
        names += [self.make_and_validate_key(key, version=version) for key in keys]
        timeouts = [timeout for _, timeout in counters]
        replies = None
        if not self._scripts_refused:
            script = self._count_and_get_script
            if script is None or script.registered_client is not client:
                script = self._count_and_get_script = client.register_script(COUNT_AND_GET)
            try:
                replies = script(keys=names, args=timeouts)
            except ResponseError as error:
                # Refused by an ACL (NOPERM) or a server with scripting turned off; any
                # other error is the commands' own and goes to the caller.
                if not isinstance(error, NoPermissionError) and "unknown command" not in str(error):
                    raise
                logger.warning("Redis refuses scripts (%s): rate-limit counters go by pipeline", error)
                self._scripts_refused = True
        if replies is None:
            with client.pipeline(transaction=False) as pipe:
                for name, timeout in zip(names, timeouts, strict=False):
                    pipe.incr(name)
                    pipe.expire(name, timeout)
                for name in names[len(counters) :]:
                    pipe.get(name)
                replies = pipe.execute()
            replies = replies[0 : 2 * len(counters) : 2] + replies[2 * len(counters) :]
        values = [None if value is None else self._loads(value) for value in replies[len(counters) :]]
        return replies[: len(counters)], values

    def _loads(self, value):
        try:
            return self._cache._serializer.loads(value)
        except Exception:  # written by another release (a renamed class): a miss, not an error
            logger.warning("unreadable cache entry read with the rate-limit counters: treated as missing")
            return None
