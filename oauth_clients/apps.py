from django.apps import AppConfig


class OauthClientsConfig(AppConfig):
    name = "oauth_clients"
    verbose_name = "OAuth clients"

    def ready(self) -> None:
        from oauth_clients import cache  # noqa: F401  (connects the invalidation signals)
