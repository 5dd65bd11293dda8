from django.conf import settings
from django.db import models
from oauth2_provider.models import get_access_token_model, get_refresh_token_model


class RedeemedCode(models.Model):
    """An authorization code that was exchanged, kept so that a replay can be punished.

    RFC 6749 §4.1.2: a code used twice is denied and the tokens it produced are revoked.
    Only the code's SHA-256 is stored; rows outlive the code by its lifetime at most
    (see ``cleartokens``' companion in ``oauth_clients.management``).
    """

    code_checksum = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE)
    access_token_checksum = models.CharField(max_length=64, blank=True)
    token_family = models.UUIDField(null=True, blank=True)
    redeemed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"code redeemed by {self.application_id} at {self.redeemed_at:%Y-%m-%d %H:%M:%S}"

    def revoke_issued_tokens(self) -> None:
        if self.token_family:
            get_refresh_token_model().revoke_family(self.token_family)
        if self.access_token_checksum:
            get_access_token_model().objects.filter(token_checksum=self.access_token_checksum).delete()


class SigningKey(models.Model):
    """A key that signs JWT access tokens and id_tokens, shared by every node.

    The private key is stored encrypted (Fernet, with a key derived from
    ``SIGNING_KEY_SECRET``); ``kid`` is its RFC 7638 thumbprint. A key is published in the
    JWKS from creation, signs from ``activates_at`` until ``retires_at`` (when its successor
    takes over) and stays published until every token it signed has expired. See
    ``oauth/keys.py``.
    """

    ES256 = "ES256"
    RS256 = "RS256"
    ALGORITHM_CHOICES = [(ES256, "ES256 (ECDSA P-256)"), (RS256, "RS256 (RSA 2048)")]

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8, choices=ALGORITHM_CHOICES)
    public_jwk = models.JSONField()
    private_key_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    activates_at = models.DateTimeField(db_index=True)
    retires_at = models.DateTimeField(null=True, blank=True)
    # Set on the first key of an algorithm only: the unique constraint makes two nodes that
    # start together on an empty table agree on one key instead of creating two.
    bootstrap_for = models.CharField(max_length=8, unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["algorithm", "activates_at"]

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.kid}"


class Consent(models.Model):
    """What a person allowed a client: the scopes and resources (RFC 8707 audiences).

    Remembered so that the next authorization asking for no more skips the consent page
    (see ``oauth.consent``), and listed on the connected-apps page, where revoking
    deletes it together with the client's tokens for that person.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.TextField(help_text="Space-separated scopes the person allowed.")
    resources = models.TextField(help_text="Space-separated resources (token audiences) allowed.")
    granted_at = models.DateTimeField(auto_now_add=True)
    last_authorized_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="one_consent_per_user_and_client")
        ]

    def __str__(self) -> str:
        return f"consent of user {self.user_id} to client {self.application_id}"

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())

    @property
    def resource_set(self) -> set[str]:
        return set(self.resources.split())
