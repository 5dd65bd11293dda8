from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One security-relevant thing that happened: who, which client, from where, what.

    Written by ``audit.events.record`` only, which also logs it on ``authserver.audit``.
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
        # Created by migration authserver.0005 before this app existed; the table keeps its name.
        db_table = "authserver_auditevent"
        ordering = ["-created"]
        indexes = [models.Index(fields=["event", "created"], name="audit_event_created")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} at {self.created:%Y-%m-%d %H:%M:%S}"
