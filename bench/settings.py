"""Production settings plus what only the benchmark needs: the null view (the ceiling), and
no rate limits or sign-in lockout (one load generator is one address)."""

from authserver.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
RATELIMIT_ENABLED = False
AXES_ENABLED = False
