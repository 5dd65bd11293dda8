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
