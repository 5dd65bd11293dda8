"""Dynamic Client Registration as MCP clients use it, and what an anonymous caller may not do."""

import json
from datetime import timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from tests.conftest import Pkce, basic_auth, consent, form_post, make_confidential_client, redirect_query

Client = get_application_model()
AccessToken = get_access_token_model()

pytestmark = pytest.mark.django_db


def register(client, body, content_type="application/json", **headers):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/oauth/register", payload, content_type=content_type, **headers)


def test_metadata_advertises_the_registration_endpoint(client, settings):
    assert client.get("/.well-known/oauth-authorization-server").json()["registration_endpoint"] == (
        f"{settings.ISSUER}/oauth/register"
    )


def test_public_client_registration_and_response_shape(client):
    response = register(
        client,
        {
            "client_name": "Claude Code",
            "redirect_uris": ["http://localhost:54321/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in body
    assert body["redirect_uris"] == ["http://localhost:54321/callback"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert isinstance(body["client_id_issued_at"], int)
    assert body["registration_access_token"] and body["registration_client_uri"].endswith(body["client_id"])
    assert None not in body.values()  # the TS SDK's zod schema rejects null
    created = Client.objects.get(client_id=body["client_id"])
    assert created.client_type == "public"
    assert created.registration_source == "dcr"


def test_confidential_registration_returns_its_secret_once(client):
    body = register(
        client,
        {
            "client_name": "claude.ai backend",
            "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    ).json()
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    assert body["client_secret_expires_at"] == 0
    stored = Client.objects.get(client_id=body["client_id"])
    assert body["client_secret"] not in stored.client_secret
    assert stored.client_secret.startswith("hmac_sha256$")


def test_registered_client_completes_code_flow(client, user):
    reg = register(client, {"redirect_uris": ["http://127.0.0.1:53682/callback"]}).json()  # seed 000's body
    assert reg["token_endpoint_auth_method"] == "none"
    app = Client.objects.get(client_id=reg["client_id"])
    client.force_login(user)
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": "http://127.0.0.1:53682/callback",
        "scope": "openid profile email groups offline_access mcp:tools mcp:resources",
        "state": "x",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    query = redirect_query(consent(client, params))
    token = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": "http://127.0.0.1:53682/callback",
            "client_id": app.client_id,
            "code_verifier": pkce.verifier,
        },
    )
    assert token.status_code == 200
    # every advertised scope is grantable to a registered client
    assert set(token.json()["scope"].split()) == set(params["scope"].split())
    app.refresh_from_db()
    assert app.last_used_at is not None


def test_consent_marks_dynamic_clients_unverified_unless_trusted(client, user, settings):
    settings.DCR_TRUSTED_REDIRECT_HOSTS = ["claude.ai"]
    client.force_login(user)
    for uri, marker in [
        ("https://claude.ai/api/mcp/auth_callback", b'id="known-client"'),
        ("https://evil.example/cb", b'id="unverified-client"'),
    ]:
        reg = register(client, {"client_name": "Claude", "redirect_uris": [uri]}).json()
        pkce = Pkce.new()
        query = {
            "response_type": "code",
            "client_id": reg["client_id"],
            "redirect_uri": uri,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        page = client.get("/oauth/authorize?" + urlencode(query))
        assert marker in page.content
        assert uri.split("/")[2].encode() in page.content


def test_registration_access_token_reads_config_but_is_no_access_token(client):
    reg = register(client, {"redirect_uris": ["http://127.0.0.1/cb"]}).json()
    auth = f"Bearer {reg['registration_access_token']}"
    read = client.get(f"/oauth/register/{reg['client_id']}", HTTP_AUTHORIZATION=auth)
    assert read.status_code == 200
    assert read.json()["client_id"] == reg["client_id"]
    assert client.get("/oauth/userinfo", HTTP_AUTHORIZATION=auth).status_code == 401
    rs = make_confidential_client(name="RS")
    introspection = form_post(
        client,
        "/oauth/introspect",
        {"token": reg["registration_access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs.plain_secret),
    )
    assert introspection.json() == {"active": False}
    token_row = AccessToken.objects.get(application__client_id=reg["client_id"])
    assert token_row.expires < timezone.now() + timedelta(days=31)


def test_only_client_name_is_refused_unless_client_credentials_allowed(client, settings):
    response = register(client, {"client_name": "toolarr"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    settings.DCR_ALLOW_CLIENT_CREDENTIALS = True
    body = register(client, {"client_name": "toolarr"}).json()
    assert body["grant_types"] == ["client_credentials"]
    token = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(body["client_id"], body["client_secret"]),
    )
    assert token.status_code == 200


def test_client_credentials_grant_refused_by_default(client):
    response = register(client, {"client_name": "svc", "grant_types": ["client_credentials"]})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert not Client.objects.exists()


CB = {"redirect_uris": ["https://x.example/cb"]}
META, BAD_URI = "invalid_client_metadata", "invalid_redirect_uri"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, BAD_URI),
        ({"redirect_uris": ["javascript:alert(1)"]}, BAD_URI),
        ({"redirect_uris": ["data:text/html,x"]}, BAD_URI),
        ({"redirect_uris": ["https://x.example/cb#frag"]}, BAD_URI),
        ({"redirect_uris": ["https://*.example.com/cb"]}, BAD_URI),
        ({"redirect_uris": ["https://user:pw@x.example/cb"]}, BAD_URI),
        ({"redirect_uris": ["myapp://cb"]}, BAD_URI),
        ({"redirect_uris": ["http://127.0.0.1/cb"], "application_type": "web"}, BAD_URI),
        ({"redirect_uris": [f"https://x.example/{i}" for i in range(10_000)]}, META),
        ({"redirect_uris": "https://x.example/cb"}, META),
        ({**CB, "token_endpoint_auth_method": "private_key_jwt"}, META),
        ({**CB, "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]}, META),
        ({**CB, "grant_types": ["implicit"]}, META),
        ({**CB, "response_types": ["token"]}, META),
        ({**CB, "client_name": "x" * 500}, META),
        ({**CB, "application_type": "desktop"}, META),
        ({"grant_types": ["authorization_code"]}, BAD_URI),
    ],
)
def test_bad_metadata_is_an_rfc7591_error_and_stores_nothing(client, body, error):
    response = register(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert not Client.objects.exists()
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ("{not json", "application/json"),
        ('["a list"]', "application/json"),
        ("redirect_uris=https://x.example/cb", "application/x-www-form-urlencoded"),
        (
            '{"redirect_uris": ["https://x.example/cb"], "pad": "' + "x" * (1024 * 1024) + '"}',
            "application/json",
        ),
    ],
    ids=["invalid-json", "not-an-object", "form-encoded", "1MB"],
)
def test_malformed_bodies(client, payload, content_type):
    response = register(client, payload, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert not Client.objects.exists()


def test_unknown_fields_are_accepted_and_ignored(client):
    response = register(
        client,
        {
            "redirect_uris": ["http://127.0.0.1/cb"],
            "software_id": "x",
            "software_version": "1",
            "contacts": ["a@example.com"],
            "logo_uri": "https://x.example/logo.png",
            "something_new": {"nested": True},
        },
    )
    assert response.status_code == 201


def test_rate_limit_per_ip_is_429_with_retry_after(client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "register": ((3, 60), None)}
    body = {"redirect_uris": ["http://127.0.0.1/cb"]}
    statuses = [register(client, body, REMOTE_ADDR="203.0.113.7").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    limited = register(client, body, REMOTE_ADDR="203.0.113.7")
    assert limited["Retry-After"]
    assert limited.json()["error"]
    assert register(client, body, REMOTE_ADDR="203.0.113.8").status_code == 201


def test_registration_can_be_turned_off(client, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "DCR_ENABLED": False}
    assert register(client, {"redirect_uris": ["http://127.0.0.1/cb"]}).status_code == 404
    assert "registration_endpoint" not in client.get("/.well-known/oauth-authorization-server").json()


def test_deleted_registration_gets_invalid_client_so_the_client_registers_again(client):
    reg = register(client, {"redirect_uris": ["http://127.0.0.1/cb"]}).json()
    Client.objects.filter(client_id=reg["client_id"]).delete()
    response = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": reg["client_id"],
            "code_verifier": "v" * 43,
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_cleanupclients_deletes_only_old_unused_registrations(client, settings):
    old_unused = register(client, {"redirect_uris": ["http://127.0.0.1/a"]}).json()["client_id"]
    old_used = register(client, {"redirect_uris": ["http://127.0.0.1/b"]}).json()["client_id"]
    fresh = register(client, {"redirect_uris": ["http://127.0.0.1/c"]}).json()["client_id"]
    manual = make_confidential_client(name="manual")
    long_ago = timezone.now() - timedelta(seconds=settings.DCR_UNUSED_CLIENT_TTL + 60)
    Client.objects.filter(client_id__in=[old_unused, old_used]).update(created=long_ago)
    Client.objects.filter(pk=manual.pk).update(created=long_ago)
    Client.objects.filter(client_id=old_used).update(last_used_at=timezone.now())
    out = StringIO()
    call_command("cleanupclients", "--json", stdout=out)
    assert json.loads(out.getvalue())["deleted"] == 1
    remaining = set(Client.objects.values_list("client_id", flat=True))
    assert old_unused not in remaining
    assert {old_used, fresh, manual.client_id} <= remaining


def test_cors_preflight_for_browser_clients(client):
    for path in (
        "/oauth/register",
        "/oauth/token",
        "/.well-known/oauth-authorization-server",
        "/oauth/userinfo",
    ):
        response = client.options(
            path,
            HTTP_ORIGIN="http://localhost:6274",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, mcp-protocol-version, authorization",
        )
        assert response.status_code == 200, path
        assert response["Access-Control-Allow-Origin"] == "*"
        allowed = response["Access-Control-Allow-Headers"].lower()
        assert "mcp-protocol-version" in allowed and "authorization" in allowed
        assert "Access-Control-Allow-Credentials" not in response
    token = client.post("/oauth/token", {}, HTTP_ORIGIN="http://localhost:6274")
    assert "WWW-Authenticate" in token["Access-Control-Expose-Headers"]


def test_no_cors_on_pages(client):
    for path in ("/oauth/authorize", "/accounts/login/"):
        response = client.get(path, HTTP_ORIGIN="https://evil.example")
        assert "Access-Control-Allow-Origin" not in response


def test_self_registered_clients_never_get_the_introspection_scope(client):
    # A token with `introspection` could read every other token's subject and scopes.
    response = client.post(
        "/oauth/register",
        {
            "client_name": "greedy",
            "redirect_uris": ["http://127.0.0.1:5000/cb"],
            "scope": "mcp:tools introspection",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    registered = Client.objects.get(client_id=response.json()["client_id"])
    assert registered.allowed_scopes.split() == ["mcp:tools"]
    assert (
        "introspection"
        not in client.get("/.well-known/oauth-authorization-server").json()["scopes_supported"]
    )
