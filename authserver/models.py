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
    ``authserver/keys.py``.
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
    (see ``authserver.consent``), and listed on the connected-apps page, where revoking
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


class AuditEvent(models.Model):
    """One security-relevant thing that happened: who, which client, from where, what.

    Written by ``authserver.audit.record`` only, which also logs it on ``authserver.audit``.
    Never a secret, token, code or password: ``detail`` holds small facts (scopes, the
    grant, why) and nothing a caller could present as a credential. Rows older than
    ``AUDIT_RETENTION_DAYS`` are deleted by ``manage.py cleanupaudit``.
    """

    class Event(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded", "Sign-in succeeded"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        CONSENT_GRANTED = "consent_granted", "Consent granted"
        CONSENT_DENIED = "consent_denied", "Consent denied"
        CONSENT_REVOKED = "consent_revoked", "Connected app revoked"
        CLIENT_REGISTERED = "client_registered", "Client registered"
        CLIENT_UPDATED = "client_updated", "Client updated"
        CLIENT_DELETED = "client_deleted", "Client deleted"
        CLIENT_SECRET_ROTATED = "client_secret_rotated", "Client secret rotated"
        TOKEN_REVOKED = "token_revoked", "Token revoked"
        REFRESH_TOKEN_REUSED = "refresh_token_reused", "Refresh token reuse: family revoked"
        RATE_LIMITED = "rate_limited", "Rate limit hit"

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    event = models.CharField(max_length=32, choices=Event.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    username = models.CharField(
        max_length=150, blank=True, help_text="The user's name at the time (or the name tried)."
    )
    client_id = models.CharField(max_length=255, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["event", "created"], name="audit_event_created")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} at {self.created:%Y-%m-%d %H:%M:%S}"
