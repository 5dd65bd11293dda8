from django.db import models
from oauth2_provider.models import AbstractApplication
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem


class Client(AbstractApplication):
    """An OAuth client. DOT's application, swapped in so the registry can grow fields
    (allowed scopes, resources, how it was registered) without a second table."""

    description = models.TextField(blank=True)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = "client"

    def __str__(self) -> str:
        return f"{self.name or 'unnamed client'} ({self.client_id})"

    @property
    def jwk_key(self):
        # DOT's createapplication leaves `algorithm` blank, and DOT then refuses to sign
        # or verify an id_token (a 500 at /token). Blank means our RS256 key.
        if not self.algorithm:
            return jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY)
        return super().jwk_key
