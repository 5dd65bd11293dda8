from django.apps import AppConfig


class OauthClientsConfig(AppConfig):
    name = "oauth_clients"
    verbose_name = "OAuth clients"
