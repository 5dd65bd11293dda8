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
