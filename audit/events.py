"""The audit trail: one call, ``record``, writes an ``AuditEvent`` row and a log line.

The log line goes to the ``authserver.audit`` logger with its fields as real keys of the
JSON object (``event``, ``user_id``, ``username``, ``client_id``, ``ip``, ``detail``), so
a log pipeline can filter on them without parsing the message.

Rules that make it safe to call from anywhere:

- it never raises: a failed write (database down, a bug) is logged and the request goes on;
- it never stores a credential: detail keys that name one (``password``, ``client_secret``,
  ``code``, ``access_token``…) are dropped, long strings cut, and callers pass only facts
  (scopes, grant, why), never values a caller could present.
"""

import ipaddress
import logging
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from audit.models import AuditEvent
from ops.outage import DATABASE_ERRORS
from ops.ratelimits import rate_limited
from ops.request_log import client_address

logger = logging.getLogger("authserver.audit")

Event = AuditEvent.Event

# Keys that name a credential: never a detail, whatever the caller meant.
_FORBIDDEN_KEYS = frozenset(
    {
        "password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "registration_access_token",
        "initial_access_token",
        "code",
        "code_verifier",
        "client_assertion",
        "assertion",
        "authorization",
    }
)
_MAX_STRING = 200
_MAX_ITEMS = 50
_USER_AGENT_LENGTH = AuditEvent._meta.get_field("user_agent").max_length
_USERNAME_LENGTH = AuditEvent._meta.get_field("username").max_length
_CLIENT_ID_LENGTH = AuditEvent._meta.get_field("client_id").max_length
# Failures and attacks stand out in the logs; the rest is routine.
_WARNING_EVENTS = {Event.LOGIN_FAILED, Event.REFRESH_TOKEN_REUSED, Event.RATE_LIMITED}


def record(
    event: str,
    *,
    request=None,
    user=None,
    client_id: str | None = None,
    username: str | None = None,
    **detail,
) -> AuditEvent | None:
    """Record `event`. `request` is a Django request or an oauthlib one (for the address and
    user agent, and the signed-in user when `user` is not given); `username` overrides the
    user's name (a failed sign-in's attempted name). Returns the row, or None if it could
    not be written."""
    try:
        fields = _fields(Event(event), request, user, client_id, username, detail)
    except Exception:
        logger.exception("audit event %r could not be recorded", event, extra={"event": "audit_failed"})
        return None
    row = None
    try:
        # A savepoint inside the caller's transaction: a failed insert must not poison it.
        with transaction.atomic():
            row = AuditEvent.objects.create(**fields)
    except Exception as error:
        _store_failed(fields["event"], error)
    _log(fields)
    return row


def record_many(event: str, *, client_ids: Iterable[str], **detail) -> int:
    """The same event for many clients at once (a cleanup command): one bulk insert, one
    log line per client. Returns how many were recorded."""
    try:
        rows = [_fields(Event(event), None, None, client_id, None, detail) for client_id in client_ids]
    except Exception:
        logger.exception("audit events %r could not be recorded", event, extra={"event": "audit_failed"})
        return 0
    try:
        with transaction.atomic():
            AuditEvent.objects.bulk_create([AuditEvent(**fields) for fields in rows], batch_size=500)
    except Exception as error:
        _store_failed(event, error)
    for fields in rows:
        _log(fields)
    return len(rows)


def _store_failed(event: str, error: Exception) -> None:
    if isinstance(error, DATABASE_ERRORS):
        # The database is unreachable: ops.outage reports the outage, and the
        # audit line below still goes out. One warning, not a traceback per request.
        logger.warning(
            "audit event %s could not be stored: database unavailable (%s)",
            event,
            type(error).__name__,
            extra={"event": "audit_failed"},
        )
        return
    logger.error("audit event %s could not be stored", event, exc_info=error, extra={"event": "audit_failed"})


def _fields(event, request, user, client_id, username, detail) -> dict:
    meta = _meta(request)
    if user is None and request is not None and hasattr(request, "META"):
        candidate = getattr(request, "user", None)
        if candidate is not None and getattr(candidate, "is_authenticated", False):
            user = candidate
    if username is None and user is not None:
        username = user.get_username()
    return {
        "event": event.value,
        "user": user if getattr(user, "pk", None) is not None else None,
        "username": (username or "")[:_USERNAME_LENGTH],
        "client_id": (client_id or "")[:_CLIENT_ID_LENGTH],
        "ip": _ip(client_address(meta)),
        "user_agent": (meta.get("HTTP_USER_AGENT") or "")[:_USER_AGENT_LENGTH],
        "detail": _clean(detail),
    }


def _meta(request) -> dict:
    if request is None:
        return {}
    meta = getattr(request, "META", None)  # Django
    if meta is None:
        meta = getattr(request, "headers", None)  # oauthlib: DOT copies request.META there
    return meta or {}


def _ip(value) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _clean(detail: dict) -> dict:
    cleaned = {}
    for key, value in detail.items():
        if key.lower() in _FORBIDDEN_KEYS:
            logger.error(
                "audit detail %r dropped: it names a credential", key, extra={"event": "audit_failed"}
            )
            continue
        if value is None:
            continue
        cleaned[key] = _small(value)
    return cleaned


def _small(value):
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return [_small(item) for item in items[:_MAX_ITEMS]]
    return str(value)[:_MAX_STRING]


def _log(fields: dict) -> None:
    user = fields["user"]
    level = logging.WARNING if fields["event"] in _WARNING_EVENTS else logging.INFO
    logger.log(
        level,
        "audit: %s",
        fields["event"],
        extra={
            "event": fields["event"],
            "user_id": user.pk if user is not None else None,
            "username": fields["username"] or None,
            "client_id": fields["client_id"] or None,
            "ip": fields["ip"],
            "user_agent": fields["user_agent"] or None,
            "detail": fields["detail"],
        },
    )


# --- sign-in: Django's own signals, for the login page and the admin alike -------------


@receiver(user_logged_in)
def _login_succeeded(sender, request=None, user=None, **kwargs) -> None:
    record(Event.LOGIN_SUCCEEDED, request=request, user=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    # `credentials` arrive with the password masked by Django; only the name tried is kept.
    credentials = credentials or {}
    tried = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    record(Event.LOGIN_FAILED, request=request, username=str(tried)[:_USERNAME_LENGTH])


@receiver(rate_limited)
def _rate_limited(sender, request, endpoint, key, client_id, limit, **kwargs) -> None:
    record(Event.RATE_LIMITED, request=request, client_id=client_id, endpoint=endpoint, key=key, limit=limit)
