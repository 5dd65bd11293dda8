"""Production settings plus one thing only the benchmark needs: the null view (the ceiling)."""

from authserver.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
