"""Consent: when the consent page may be skipped, what a person has connected, and revoking it.

Plain functions, so that "where is consent decided?" has one answer and the rules are
testable without HTTP. The authorization view calls ``may_skip_consent`` before showing
the page and ``remember_consent`` after the person allows; the connected-apps page calls
``connected_apps`` and ``revoke_connection``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from oauth.models import Consent
from oauth_clients import dcr
from oauth_clients.models import ApiKey

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def audiences(resources: Iterable[str]) -> set[str]:
    """The audiences a request asks for: a request without `resource` gets DEFAULT_AUDIENCE."""
    return set(resources) or {settings.DEFAULT_AUDIENCE}


def client_is_dynamic(application) -> bool:
    return application.registration_source != "manual"


def client_is_verified(application, redirect_uri: str | None = None) -> bool:
    """Admin-registered clients are verified; a self-registered one only when its callback
    (the one in use, or all it registered) lives on DCR_TRUSTED_REDIRECT_HOSTS."""
    if not client_is_dynamic(application):
        return True
    uris = [redirect_uri] if redirect_uri else application.redirect_uris.split()
    return bool(uris) and all(dcr.is_trusted_redirect(uri) for uri in uris)


def may_skip_consent(
    user, application, scopes: Iterable[str], resources: Iterable[str], redirect_uri: str, prompt: str = ""
) -> bool:
    """True when the person already allowed this client at least these scopes and resources."""
    if "consent" in prompt.split():  # OpenID Connect Core §3.1.2.1: always ask
        return False
    if (
        settings.CONSENT_ALWAYS_FOR_DYNAMIC_CLIENTS
        and client_is_dynamic(application)
        and not client_is_verified(application, redirect_uri)
    ):
        return False
    consent = Consent.objects.filter(user=user, application=application).first()
    if consent is None:
        return False
    return set(scopes) <= consent.scope_set and audiences(resources) <= consent.resource_set


def remember_consent(user, application, scopes: Iterable[str], resources: Iterable[str]) -> Consent:
    """Record an allowed authorization; what was allowed before stays allowed."""
    now = timezone.now()
    with transaction.atomic():
        consent, created = Consent.objects.select_for_update().get_or_create(
            user=user,
            application=application,
            defaults={
                "scopes": " ".join(sorted(set(scopes))),
                "resources": " ".join(sorted(audiences(resources))),
                "last_authorized_at": now,
            },
        )
        if not created:
            consent.scopes = " ".join(sorted(consent.scope_set | set(scopes)))
            consent.resources = " ".join(sorted(consent.resource_set | audiences(resources)))
            consent.last_authorized_at = now
            consent.save(update_fields=["scopes", "resources", "last_authorized_at"])
    return consent


@dataclass
class ConnectedApp:
    application: object
    verified: bool
    dynamic: bool
    scopes: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    first_granted: datetime | None = None
    last_used: datetime | None = None


def _user_tokens(user):
    # Admin-issued API keys acting for the person are not theirs to revoke here.
    return AccessToken.objects.filter(user=user).exclude(
        pk__in=ApiKey.objects.filter(access_token__isnull=False).values("access_token_id")
    )


def connected_apps(user) -> list[ConnectedApp]:
    """Every client the person allowed (a remembered consent) or that holds a live token for
    them, most recently used first."""
    now = timezone.now()
    consents = {c.application_id: c for c in Consent.objects.filter(user=user)}
    token_stats = {
        row["application"]: row
        for row in _user_tokens(user)
        .values("application")
        .annotate(first=Min("created"), last=Max("created"))
    }
    live_refresh = set(
        RefreshToken.objects.filter(user=user, revoked__isnull=True).values_list("application", flat=True)
    )
    live_access = set(
        _user_tokens(user).filter(expires__gt=now).values_list("application", flat=True).distinct()
    )
    ids = set(consents) | live_refresh | live_access
    apps = []
    for application in get_application_model().objects.filter(pk__in=ids):
        consent = consents.get(application.pk)
        stats = token_stats.get(application.pk, {})
        if consent is not None:
            scopes, resources = sorted(consent.scope_set), sorted(consent.resource_set)
        else:
            scopes, resources = _granted_by_tokens(user, application)
        candidates_first = [d for d in (consent and consent.granted_at, stats.get("first")) if d]
        candidates_last = [d for d in (consent and consent.last_authorized_at, stats.get("last")) if d]
        apps.append(
            ConnectedApp(
                application=application,
                verified=client_is_verified(application),
                dynamic=client_is_dynamic(application),
                scopes=scopes,
                resources=resources,
                first_granted=min(candidates_first, default=None),
                last_used=max(candidates_last, default=None),
            )
        )
    apps.sort(key=lambda app: app.last_used or app.first_granted or now, reverse=True)
    return apps


def _granted_by_tokens(user, application) -> tuple[list[str], list[str]]:
    scopes: set[str] = set()
    resources: set[str] = set()
    for scope, resource in (
        _user_tokens(user).filter(application=application).values_list("scope", "resource")
    ):
        scopes.update(scope.split())
        resources.update(resource or [])
    return sorted(scopes), sorted(resources)


def revoke_connection(user, application) -> None:
    """Revoke every token `application` holds for `user` and forget the consent, so that
    the next authorization asks again. Unexchanged codes are deleted too."""
    now = timezone.now()
    with transaction.atomic():
        RefreshToken.objects.filter(user=user, application=application, revoked__isnull=True).update(
            revoked=now, updated=now
        )
        _user_tokens(user).filter(application=application).delete()
        get_id_token_model().objects.filter(user=user, application=application).delete()
        get_grant_model().objects.filter(user=user, application=application).delete()
        Consent.objects.filter(user=user, application=application).delete()
