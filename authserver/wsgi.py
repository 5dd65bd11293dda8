import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authserver.settings")

application = get_wsgi_application()


def warm() -> None:
    """Import now what Django and DOT import on a worker's first request: the URLconf with
    every view, the cache backends (redis-py), DOT's server, validator and backend classes
    and the token generators its server is built with (PyJWT, cryptography).
    Under gunicorn's preload this runs once in the master, so workers start with it in
    shared pages instead of each spending its first request on imports. Nothing here
    opens a connection: connections made before the fork would be shared by the workers."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils.module_loading import import_string
    from oauth2_provider.settings import oauth2_settings

    get_resolver()._populate()
    for cache in settings.CACHES.values():
        import_string(cache["BACKEND"])
    for name in ("OAUTH2_SERVER_CLASS", "OAUTH2_VALIDATOR_CLASS", "OAUTH2_BACKEND_CLASS"):
        getattr(oauth2_settings, name)
    oauth2_settings.server_kwargs  # noqa: B018 (imports the generators)


warm()
