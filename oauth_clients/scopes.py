"""Which scopes a client may ask for: its own list, else the configured defaults."""

from django.conf import settings
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings


def allowed_scopes(application) -> list[str]:
    configured = oauth2_settings.SCOPES
    own = (getattr(application, "allowed_scopes", "") or "").split()
    if own:
        return [scope for scope in configured if scope in own]
    # Seed 001: an empty `allowed_scopes` means the deployment's default scopes.
    return list(oauth2_settings.DEFAULT_SCOPES)  # a subset of SCOPES (settings.py checks it)


class ClientScopes(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            # Discovery's `scopes_supported`: everything the deployment offers to users.
            return [scope for scope in oauth2_settings.SCOPES if scope not in settings.SERVICE_SCOPES]
        return allowed_scopes(application)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        defaults = oauth2_settings.DEFAULT_SCOPES
        if application is None:
            return defaults
        available = allowed_scopes(application)
        return [scope for scope in defaults if scope in available] or available
