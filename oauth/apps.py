from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "oauth"
    # The label this app had before it left the project package: its tables
    # (authserver_*) and migration history stay as they are, so `migrate` alone upgrades.
    label = "authserver"
    verbose_name = "Authorization server"

    def ready(self) -> None:
        from oauth import checks  # noqa: F401  (registers the system checks)
