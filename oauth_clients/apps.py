from django.apps import AppConfig


class OauthClientsConfig(AppConfig):
    name = "oauth_clients"
    verbose_name = "OAuth clients"

    def ready(self) -> None:
        from oauth_clients import cache  # connects the invalidation signals
        from ops import ratelimits

        ratelimits.read_client_entries_with_counters(key=cache.prefetch_key, handover=cache.prefetched)
