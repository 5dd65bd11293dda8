from django.db import models
from oauth2_provider.models import AbstractApplication
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem


class Client(AbstractApplication):
    """An OAuth client. DOT's application, swapped in so the registry can grow fields
    (allowed scopes, resources, how it was registered) without a second table."""

    description = models.TextField(blank=True)
    # Space-separated; empty means the configured DEFAULT_SCOPES (seed 001 `allowed_scopes`).
    allowed_scopes = models.TextField(blank=True)
    # Whitespace-separated RFC 8707 resource URLs (MCP servers); empty means any.
    allowed_resources = models.TextField(blank=True)
    # Secret rotation with a grace period: the previous secret's hash keeps verifying
    # until `previous_secret_valid_until`.
    previous_client_secret = models.CharField(max_length=255, blank=True)
    previous_secret_valid_until = models.DateTimeField(null=True, blank=True)
    # Last successful token request; dynamically registered clients never used are pruned.
    last_used_at = models.DateTimeField(null=True, blank=True, db_index=True)

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
