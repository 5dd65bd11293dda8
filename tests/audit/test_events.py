"""The audit trail: each audited action done for real, through the endpoint, page or command a
person or client uses, leaves one row and one JSON log line, and neither holds a credential."""

import json
import logging
from datetime import timedelta
from io import StringIO
from ipaddress import ip_network
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, OperationalError, connection
from django.forms.models import model_to_dict
from django.utils import timezone
from oauth2_provider.models import get_application_model, get_refresh_token_model
from pythonjsonlogger.json import JsonFormatter

from audit import events as audit
from audit.models import AuditEvent
from ops.request_log import RequestIdFilter
from tests.conftest import (
    Pkce,
    authorize_params,
    basic_auth,
    consent,
    form_post,
    make_confidential_client,
    make_user,
    redirect_query,
)

Client = get_application_model()
RefreshToken = get_refresh_token_model()

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.conftest.make_user's
BROWSER = "Mozilla/5.0 (audit test)"
CLIENT_LIST = "/admin/oauth_clients/client/"
AUDIT_LIST = "/admin/audit/auditevent/"


@pytest.fixture
def audit_log(caplog):
    caplog.set_level(logging.INFO, logger="authserver.audit")
    return caplog


def json_line(record: logging.LogRecord) -> dict:
    """The record as production writes it: settings.LOGGING's JSON formatter."""
    options = {k: v for k, v in django_settings.LOGGING["formatters"]["json"].items() if k != "()"}
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter(**options).format(record))


def lines(caplog, event: str) -> list[dict]:
    return [
        json_line(r)
        for r in caplog.records
        if r.name == "authserver.audit" and getattr(r, "event", "") == event
    ]


def only_row(event: str) -> AuditEvent:
    rows = list(AuditEvent.objects.filter(event=event))
    assert len(rows) == 1, rows
    return rows[0]


def assert_no_credentials(caplog, *credentials: str) -> None:
    """None of the credentials appears in any audit row or any audit log line, formatted."""
    credentials = [c for c in credentials if c]
    assert credentials
    rows = json.dumps([model_to_dict(row) for row in AuditEvent.objects.all()], default=str)
    logged = json.dumps(
        [json_line(record) for record in caplog.records if record.name.startswith("authserver.audit")]
    )
    for credential in credentials:
        assert credential not in rows
        assert credential not in logged


def assert_event(caplog, event, *, user=None, client_id="", ip="127.0.0.1", **detail) -> AuditEvent:
    row = only_row(event)
    assert row.user == user
    assert row.username == (user.get_username() if user else row.username)
    assert row.client_id == client_id
    assert row.ip == ip
    for key, value in detail.items():
        assert row.detail[key] == value, row.detail
    [line] = lines(caplog, event)
    assert line["logger"] == "authserver.audit"
    assert line["message"] == f"audit: {event}"
    assert line["user_id"] == (user.pk if user else None)
    assert line["client_id"] == (client_id or None)
    assert line["ip"] == ip
    assert line["detail"] == row.detail  # a JSON object, not a string inside the message
    return row


# --- sign-in ---------------------------------------------------------------------------


def test_sign_in_is_recorded_without_the_password(client, user, audit_log):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, HTTP_USER_AGENT=BROWSER
    )
    assert response.status_code == 302
    row = assert_event(audit_log, "login_succeeded", user=user)
    assert row.username == "alice"
    assert row.user_agent == BROWSER
    assert lines(audit_log, "login_succeeded")[0]["level"] == "INFO"
    assert_no_credentials(audit_log, PASSWORD)


def test_failed_sign_in_keeps_the_name_tried_never_the_password(client, user, audit_log):
    wrong = "Tr0ub4dor&3-wrong"
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": wrong}, REMOTE_ADDR="198.51.100.4"
    )
    assert response.status_code == 200  # the form again, with its error
    row = assert_event(audit_log, "login_failed", ip="198.51.100.4")
    assert row.user is None
    assert row.username == "alice"
    assert lines(audit_log, "login_failed")[0]["level"] == "WARNING"
    assert_no_credentials(audit_log, wrong, "********")


def test_behind_a_trusted_proxy_the_client_address_is_recorded(client, user, audit_log, settings):
    # The same address the rate limits and the lockout count (TRUSTED_PROXIES).
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    proxied = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.1"}
    client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"}, **proxied)
    assert only_row("login_failed").ip == "203.0.113.9"
    # From a peer that is not a trusted proxy, X-Forwarded-For proves nothing.
    AuditEvent.objects.all().delete()
    spoofed = {"REMOTE_ADDR": "198.51.100.4", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"}, **spoofed)
    assert only_row("login_failed").ip == "198.51.100.4"


def test_failed_sign_in_with_a_huge_name_keeps_a_truncated_one(client, db, audit_log):
    tried = "m" * 5000
    response = client.post("/accounts/login/", {"username": tried, "password": "x" * 20})
    assert response.status_code == 200  # the sign-in page again, not a 500
    row = only_row("login_failed")
    assert row.username == "m" * 150
    assert lines(audit_log, "login_failed")[0]["username"] == "m" * 150


def test_admin_sign_in_is_recorded_too(client, db, audit_log):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302
    assert_event(audit_log, "login_succeeded", user=admin)


# --- consent ---------------------------------------------------------------------------


def test_allowing_on_the_consent_page_is_recorded_without_the_code(
    client, user, public_client, issue_code, audit_log
):
    code, pkce, params = issue_code(public_client)
    assert_event(
        audit_log,
        "consent_granted",
        user=user,
        client_id=public_client.client_id,
        scopes=params["scope"].split(),
    )
    assert_no_credentials(audit_log, code, pkce.verifier)


def test_a_remembered_consent_answering_for_the_person_is_no_new_grant(
    client, user, public_client, audit_log, settings
):
    settings.CONSENT_ALWAYS_FOR_DYNAMIC_CLIENTS = False
    client.force_login(user)
    redirect_query(consent(client, authorize_params(public_client, Pkce.new())))
    again = consent(client, authorize_params(public_client, Pkce.new()))
    assert "code=" in again["Location"]
    assert AuditEvent.objects.filter(event="consent_granted").count() == 1


def test_denying_on_the_consent_page_is_recorded(client, user, public_client, audit_log):
    client.force_login(user)
    query = redirect_query(consent(client, authorize_params(public_client, Pkce.new()), allow=False))
    assert query["error"] == "access_denied"
    assert_event(audit_log, "consent_denied", user=user, client_id=public_client.client_id)
    assert not AuditEvent.objects.filter(event="consent_granted").exists()


def test_revoking_a_connected_app_is_recorded_without_its_tokens(
    client, user, public_client, tokens, audit_log
):
    issued = tokens(public_client)
    response = client.post(f"/account/apps/{public_client.client_id}/revoke", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    row = assert_event(audit_log, "consent_revoked", user=user, client_id=public_client.client_id)
    assert row.user_agent == BROWSER
    assert_no_credentials(audit_log, issued["access_token"], issued["refresh_token"])


# --- clients ---------------------------------------------------------------------------


def register(client, body, **headers):
    return client.post("/oauth/register", json.dumps(body), content_type="application/json", **headers)


def test_dynamic_registration_is_recorded_without_secret_or_registration_token(client, db, audit_log):
    response = register(
        client,
        {
            "client_name": "Inspector",
            "redirect_uris": ["http://127.0.0.1:6274/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
        REMOTE_ADDR="203.0.113.20",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["client_secret"]
    assert_event(
        audit_log,
        "client_registered",
        client_id=body["client_id"],
        ip="203.0.113.20",
        source="dcr",
        client_name="Inspector",
        token_endpoint_auth_method="client_secret_basic",
    )
    stored = Client.objects.get(client_id=body["client_id"]).client_secret
    assert_no_credentials(audit_log, body["client_secret"], body["registration_access_token"], stored)


def test_rfc7592_update_and_delete_are_recorded(client, db, audit_log):
    reg = register(client, {"client_name": "Before", "redirect_uris": ["http://127.0.0.1/cb"]}).json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reg['registration_access_token']}"}
    path = f"/oauth/register/{reg['client_id']}"
    updated = client.put(
        path,
        json.dumps({"client_name": "After", "redirect_uris": ["http://127.0.0.1/cb2"]}),
        content_type="application/json",
        **auth,
    )
    assert updated.status_code == 200, updated.content
    assert_event(audit_log, "client_updated", client_id=reg["client_id"], source="rfc7592")
    refused = client.delete(path, HTTP_AUTHORIZATION="Bearer not-the-token")
    assert refused.status_code == 401
    assert not AuditEvent.objects.filter(event="client_deleted").exists()
    rotated = updated.json()["registration_access_token"]  # DOT issues a new one on update
    assert client.delete(path, HTTP_AUTHORIZATION=f"Bearer {rotated}").status_code == 204
    assert_event(audit_log, "client_deleted", client_id=reg["client_id"], source="rfc7592")
    assert_no_credentials(
        audit_log, reg["registration_access_token"], updated.json()["registration_access_token"]
    )


def admin_form(**overrides):
    data = {
        "name": "Weather MCP server",
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "redirect_uris": "",
        "allowed_scopes": ["mcp:tools"],
        "allowed_resources": "",
        "description": "",
    }
    data.update(overrides)
    return data


def secret_on_page(response) -> str:
    import re

    match = re.search(r'id="secret-1" value="([^"]+)"', response.content.decode())
    assert match, response.content[:1000]
    return match.group(1)


def inlines(client, change_url) -> dict:
    """The change form's inline management data, as the browser would send it back."""
    data = {}
    for inline in client.get(change_url).context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data.update({f"{form.prefix}-{name}": value for name, value in form.initial.items()})
    return data


@pytest.fixture
def admin(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


def test_admin_add_change_rotate_and_delete_are_recorded(client, admin, audit_log):
    client.force_login(admin)
    added = client.post(f"{CLIENT_LIST}add/", admin_form(), REMOTE_ADDR="192.0.2.9")
    first_secret = secret_on_page(added)
    created = Client.objects.get(name="Weather MCP server")
    assert_event(
        audit_log,
        "client_registered",
        user=admin,
        client_id=created.client_id,
        ip="192.0.2.9",
        source="admin",
    )

    change_url = f"{CLIENT_LIST}{created.pk}/change/"
    changed = client.post(
        change_url, {**admin_form(name="Weather", description="renamed"), **inlines(client, change_url)}
    )
    assert changed.status_code == 302
    assert_event(
        audit_log,
        "client_updated",
        user=admin,
        client_id=created.client_id,
        source="admin",
        changed=["name", "description"],
        new_secret_issued=False,
    )

    rotated = client.post(
        CLIENT_LIST,
        {"action": "rotate_secret", "_selected_action": [created.pk], "grace_seconds": "600", "apply": "1"},
    )
    second_secret = secret_on_page(rotated)
    assert_event(
        audit_log,
        "client_secret_rotated",
        user=admin,
        client_id=created.client_id,
        source="admin",
        grace_seconds=600,
    )

    deleted = client.post(f"{CLIENT_LIST}{created.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Client.objects.filter(pk=created.pk).exists()
    assert_event(audit_log, "client_deleted", user=admin, client_id=created.client_id, source="admin")
    assert_no_credentials(audit_log, first_secret, second_secret, PASSWORD)


def test_admin_bulk_delete_records_each_client(client, admin, audit_log):
    first, second = make_confidential_client(name="one"), make_confidential_client(name="two")
    client.force_login(admin)
    confirm = {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"}
    assert client.post(CLIENT_LIST, confirm).status_code == 302
    rows = AuditEvent.objects.filter(event="client_deleted")
    assert {row.client_id for row in rows} == {first.client_id, second.client_id}
    assert {row.user for row in rows} == {admin}


def test_commands_record_registration_rotation_and_cleanup(client, db, audit_log, settings):
    out = StringIO()
    call_command("createclient", "Billing", "--json", stdout=out)
    created = json.loads(out.getvalue())
    assert_event(
        audit_log, "client_registered", client_id=created["client_id"], ip=None, source="createclient"
    )

    out = StringIO()
    call_command("rotateclientsecret", created["client_id"], "--json", stdout=out)
    rotated = json.loads(out.getvalue())
    assert_event(
        audit_log,
        "client_secret_rotated",
        client_id=created["client_id"],
        ip=None,
        source="rotateclientsecret",
        grace_seconds=0,
    )

    stale = register(client, {"redirect_uris": ["http://127.0.0.1/cb"]}).json()["client_id"]
    long_ago = timezone.now() - timedelta(seconds=settings.DCR_UNUSED_CLIENT_TTL + 60)
    Client.objects.filter(client_id=stale).update(created=long_ago)
    call_command("cleanupclients", stdout=StringIO())
    assert_event(audit_log, "client_deleted", client_id=stale, ip=None, source="cleanupclients")
    assert_no_credentials(audit_log, created["client_secret"], rotated["client_secret"])


# --- tokens ----------------------------------------------------------------------------


def test_revocation_is_recorded_with_the_token_owner(client, user, public_client, tokens, audit_log):
    issued = tokens(public_client)
    client.logout()
    response = form_post(
        client,
        "/oauth/revoke",
        {
            "token": issued["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": public_client.client_id,
        },
        REMOTE_ADDR="198.51.100.77",
    )
    assert response.status_code == 200
    assert_event(
        audit_log,
        "token_revoked",
        user=user,
        client_id=public_client.client_id,
        ip="198.51.100.77",
        token_type="refresh_token",
    )
    assert_no_credentials(audit_log, issued["access_token"], issued["refresh_token"])


def test_revoking_an_access_token_with_client_credentials_is_recorded(client, db, audit_log):
    service = make_confidential_client()
    auth = basic_auth(service.client_id, service.plain_secret)
    access = form_post(
        client, "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth
    ).json()["access_token"]
    assert form_post(client, "/oauth/revoke", {"token": access}, HTTP_AUTHORIZATION=auth).status_code == 200
    assert_event(audit_log, "token_revoked", client_id=service.client_id, token_type="access_token")
    assert_no_credentials(audit_log, access, service.plain_secret, auth)


def test_revoking_an_unknown_or_foreign_token_records_nothing(client, user, public_client, tokens, audit_log):
    issued = tokens(public_client)
    other = make_confidential_client(name="other")
    for token in ("never-issued", issued["access_token"]):
        response = form_post(
            client,
            "/oauth/revoke",
            {"token": token},
            HTTP_AUTHORIZATION=basic_auth(other.client_id, other.plain_secret),
        )
        assert response.status_code == 200
    assert not AuditEvent.objects.filter(event="token_revoked").exists()


def refresh(client, app, refresh_token):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id},
    )


def test_refresh_token_reuse_revokes_the_family_and_is_recorded(
    client, user, public_client, tokens, audit_log, settings
):
    settings.REFRESH_TOKEN_GRACE_SECONDS = 0
    first = tokens(public_client)
    client.logout()
    second = refresh(client, public_client, first["refresh_token"]).json()
    assert not AuditEvent.objects.filter(event="refresh_token_reused").exists()
    replay = refresh(client, public_client, first["refresh_token"])
    assert replay.status_code == 400
    assert refresh(client, public_client, second["refresh_token"]).status_code == 400  # family gone
    rows = AuditEvent.objects.filter(event="refresh_token_reused")
    assert rows.count() == 2  # the replay, then the newest token presented after revocation
    family = str(RefreshToken.objects.get(token_checksum=audit_checksum(first["refresh_token"])).token_family)
    for row in rows:
        assert (row.user, row.client_id, row.ip, row.detail["token_family"]) == (
            user,
            public_client.client_id,
            "127.0.0.1",
            family,
        )
    assert len(lines(audit_log, "refresh_token_reused")) == 2
    assert_no_credentials(
        audit_log,
        first["refresh_token"],
        second["refresh_token"],
        first["access_token"],
        second["access_token"],
    )


def test_an_unknown_refresh_token_is_no_reuse(client, public_client, audit_log):
    assert refresh(client, public_client, "made-up-refresh-token").status_code == 400
    assert not AuditEvent.objects.filter(event="refresh_token_reused").exists()


def audit_checksum(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()


# --- rate limiting ---------------------------------------------------------------------


def test_registration_rate_limit_hit_is_recorded_once_per_window(client, db, audit_log, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "register": ((1, 60), None)}
    body = {"redirect_uris": ["http://127.0.0.1/cb"]}
    assert register(client, body, REMOTE_ADDR="203.0.113.99").status_code == 201
    assert register(client, body, REMOTE_ADDR="203.0.113.99").status_code == 429
    assert register(client, body, REMOTE_ADDR="203.0.113.99").status_code == 429
    assert_event(audit_log, "rate_limited", ip="203.0.113.99", endpoint="register", key="ip", limit="1/60s")
    assert AuditEvent.objects.filter(event="rate_limited").count() == 1
    assert lines(audit_log, "rate_limited")[0]["level"] == "WARNING"


def test_token_rate_limit_per_client_names_the_client(client, db, audit_log, settings, confidential_client):
    settings.RATELIMITS = {**settings.RATELIMITS, "token": (None, (1, 60))}
    auth = basic_auth(confidential_client.client_id, confidential_client.plain_secret)
    body = {"grant_type": "client_credentials", "scope": "mcp:tools"}
    assert form_post(client, "/oauth/token", body, HTTP_AUTHORIZATION=auth).status_code == 200
    assert form_post(client, "/oauth/token", body, HTTP_AUTHORIZATION=auth).status_code == 429
    row = AuditEvent.objects.get(event="rate_limited")
    assert (row.client_id, row.detail) == (
        confidential_client.client_id,
        {"endpoint": "token", "key": "client", "limit": "1/60s"},
    )
    assert confidential_client.plain_secret not in json.dumps(lines(audit_log, "rate_limited"))


def test_record_supports_rate_limits_from_any_caller(rf, db, audit_log):
    request = rf.post("/oauth/token", REMOTE_ADDR="2001:db8::1", HTTP_USER_AGENT="x" * 1000)
    row = audit.record("rate_limited", request=request, client_id="abc", endpoint="token", limit="10/s")
    assert row == only_row("rate_limited")
    assert (row.ip, row.client_id, row.detail) == (
        "2001:db8::1",
        "abc",
        {"endpoint": "token", "limit": "10/s"},
    )
    assert row.user_agent == "x" * 300


# --- never a credential, never a broken request ----------------------------------------


def test_detail_keys_naming_a_credential_are_dropped(db, audit_log):
    row = audit.record(
        "consent_granted",
        client_id="c",
        password="p4ss-word-value",
        client_secret="secret-value",
        code="code-value",
        refresh_token="rt-value",
        scopes=["openid"],
    )
    assert row.detail == {"scopes": ["openid"]}
    assert_no_credentials(audit_log, "p4ss-word-value", "secret-value", "code-value", "rt-value")


def test_a_failed_audit_write_never_breaks_the_sign_in(client, user, audit_log):
    with mock.patch.object(AuditEvent.objects, "create", side_effect=DatabaseError("disk full")):
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/apps/").status_code == 200  # signed in
    assert not AuditEvent.objects.exists()
    assert lines(audit_log, "login_succeeded")  # the log line still went out
    [failure] = [r for r in audit_log.records if getattr(r, "event", "") == "audit_failed"]
    assert failure.levelno == logging.ERROR
    assert str(failure.exc_info[1]) == "disk full"


def test_an_audit_write_during_a_database_outage_is_one_warning_without_traceback(client, db, audit_log):
    with mock.patch.object(AuditEvent.objects, "create", side_effect=OperationalError("server closed")):
        row = audit.record("consent_revoked", client_id="c1")
    assert row is None
    assert lines(audit_log, "consent_revoked")  # the log line still went out
    [failure] = [r for r in audit_log.records if getattr(r, "event", "") == "audit_failed"]
    assert failure.levelno == logging.WARNING
    assert failure.exc_info is None
    assert "database unavailable (OperationalError)" in failure.getMessage()


def test_a_failed_audit_insert_inside_a_transaction_rolls_back_alone(client, db, audit_log):
    """On PostgreSQL a failed statement poisons its transaction: the audit insert runs in a
    savepoint, so createclient's own transaction still commits the client."""

    def broken_insert(**fields):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO no_such_audit_table VALUES (1)")

    out = StringIO()
    with mock.patch.object(AuditEvent.objects, "create", side_effect=broken_insert):
        call_command("createclient", "Survivor", "--json", stdout=out)
    assert Client.objects.filter(client_id=json.loads(out.getvalue())["client_id"]).exists()
    assert lines(audit_log, "client_registered")


def test_user_deleted_later_keeps_the_rows_and_the_name(client, audit_log):
    person = make_user("bob")
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    person.delete()
    row = only_row("login_succeeded")
    assert (row.user, row.username) == (None, "bob")


# --- the admin: read-only, filterable ----------------------------------------------------


def test_admin_lists_and_filters_events(client, admin, user, public_client, audit_log):
    client.post(
        "/accounts/login/", {"username": "alice", "password": "wrong-password"}, REMOTE_ADDR="198.51.100.5"
    )
    audit.record("consent_revoked", user=user, client_id=public_client.client_id)
    client.force_login(admin)
    listing = client.get(AUDIT_LIST)
    assert listing.status_code == 200
    for choice in (b"Sign-in failed", b"Consent granted", b"Rate limit hit"):  # the event filter
        assert choice in listing.content
    failed = client.get(AUDIT_LIST, {"event__exact": "login_failed"})
    assert [row.event for row in failed.context["cl"].result_list] == ["login_failed"]
    by_client = client.get(AUDIT_LIST, {"client_id": public_client.client_id})
    assert [row.event for row in by_client.context["cl"].result_list] == ["consent_revoked"]
    today = timezone.now()
    dated = client.get(AUDIT_LIST, {"created__year": today.year, "created__month": today.month})
    assert dated.status_code == 200
    assert len(dated.context["cl"].result_list) == 3  # with the admin's own sign-in
    for query, expected in (("198.51.100.5", "login_failed"), (public_client.client_id, "consent_revoked")):
        found = client.get(AUDIT_LIST, {"q": query})
        assert [row.event for row in found.context["cl"].result_list] == [expected]


def test_admin_cannot_add_change_or_delete_events(client, admin):
    row = audit.record("login_failed", username="mallory")
    client.force_login(admin)
    listing = client.get(AUDIT_LIST)
    assert b"auditevent/add/" not in listing.content
    assert b"delete_selected" not in listing.content
    assert client.get(f"{AUDIT_LIST}add/").status_code == 403
    page = client.get(f"{AUDIT_LIST}{row.pk}/change/")
    assert page.status_code == 200
    assert b'name="username"' not in page.content  # shown, not editable
    assert b"mallory" in page.content
    assert b'name="_save"' not in page.content
    assert client.post(f"{AUDIT_LIST}{row.pk}/change/", {"username": "eve"}).status_code == 403
    assert client.post(f"{AUDIT_LIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.username == "mallory"


# --- retention ---------------------------------------------------------------------------


def test_cleanupaudit_deletes_only_events_past_retention(db, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = [audit.record("login_failed", username=f"old{i}") for i in range(3)]
    recent = audit.record("login_failed", username="recent")
    edge = audit.record("login_failed", username="edge")
    now = timezone.now()
    AuditEvent.objects.filter(pk__in=[row.pk for row in old]).update(created=now - timedelta(days=31))
    AuditEvent.objects.filter(pk=edge.pk).update(created=now - timedelta(days=29))
    out = StringIO()
    call_command("cleanupaudit", "--batch-size", "2", stdout=out)
    assert out.getvalue().strip() == "Deleted 3 audit event(s) older than 30 day(s)."
    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {recent.pk, edge.pk}

    out = StringIO()
    call_command("cleanupaudit", "--days", "7", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"deleted": 1, "retention_days": 7}
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_cleanupaudit_refuses_a_retention_below_a_day(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--days must be 1 or more"):
        call_command("cleanupaudit", "--days", "0", stdout=StringIO())
