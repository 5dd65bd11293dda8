"""Production settings plus what only the benchmark needs: the null view (the ceiling).

One load generator is one address and one client. The rate limiter stays on, so its cost
(a cache round trip per counted key) is in every row; the load generator's address is a
trusted range with a factor no run reaches, so it never answers 429. The sign-in lockout
only sees the harness's own sign-ins while it mints codes.
"""

from ipaddress import ip_network

from authserver.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
RATELIMIT_TRUSTED_RANGES = [ip_network("127.0.0.0/8")]
RATELIMIT_TRUSTED_FACTOR = 10**9
