from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string
from oauth2_provider.models import AbstractApplication


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
    # RFC 7591 §2 as a metadata document declares it; blank means derived from
    # client_type. `private_key_jwt` clients authenticate with RFC 7523 assertions signed
    # by a key from `jwks` or `jwks_uri` (oauth_clients/assertions.py).
    token_endpoint_auth_method = models.CharField(max_length=40, blank=True)
    jwks = models.JSONField(null=True, blank=True)
    jwks_uri = models.URLField(max_length=2000, blank=True)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = "client"

    def __str__(self) -> str:
        return f"{self.name or 'unnamed client'} ({self.client_id})"

    @property
    def jwk_key(self):
        # DOT signs id_tokens with this key. Ours are the deployment's keys in the database
        # (oauth/keys.py), which the protocol app names in ID_TOKEN_SIGNING_KEY: the
        # registry does not import it. DOT's createapplication leaves `algorithm` blank,
        # which means the same key here instead of a 500 at /token.
        if self.algorithm in ("", self.RS256_ALGORITHM):
            return import_string(settings.ID_TOKEN_SIGNING_KEY)()
        return super().jwk_key


class ApiKey(models.Model):
    """A long-lived access token an admin issues to a service that cannot run an OAuth flow.

    It is an ordinary DOT access token (hashed at rest like every other), so userinfo,
    introspection and resource servers accept it unchanged; this row names it, shows when
    it was last used, and revokes it.
    """

    PREFIX = "mcpk_"  # lets the hot paths recognise API keys without a query

    name = models.CharField(max_length=255)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="api_keys")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text="Optional: the key acts for this user (userinfo then describes them).",
    )
    access_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    token_checksum = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.TextField()
    resource = models.TextField(blank=True)
    expires = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"API key {self.name!r} for {self.client.name}"


class InitialAccessToken(models.Model):
    """An RFC 7591 §3 initial access token: with DCR_MODE=token, registration needs one.

    Created by an admin (admin or `createinitialaccesstoken`), shown once, stored as a
    SHA-256 checksum, expiring, optionally good for a limited number of registrations.
    """

    PREFIX = "mcpiat_"

    name = models.CharField(max_length=255, help_text="Who or what it was issued for.")
    token_checksum = models.CharField(max_length=64, unique=True, editable=False)
    expires = models.DateTimeField()
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="Registrations it allows; empty for any number until it expires."
    )
    uses = models.PositiveIntegerField(default=0, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "initial access token"

    def __str__(self) -> str:
        return f"Initial access token {self.name!r}"
