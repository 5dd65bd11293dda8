"""Client ID Metadata Documents: an https URL as client_id, end to end, and every bad document."""

from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from oauth2_provider.models import get_application_model

from tests.conftest import Pkce, form_post, redirect_query

Client = get_application_model()

pytestmark = pytest.mark.django_db

CALLBACK = "https://claude.ai/api/mcp/auth_callback"
RESOURCE = "https://mcp.example.com/mcp"


def claude_document(client_id: str) -> dict:
    # Claude's published document (django-oauth-toolkit #1855), at our test URL.
    return {
        "client_id": client_id,
        "client_name": "Claude",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }


def authorize_query(client_id: str, pkce: Pkce, redirect_uri: str = CALLBACK, **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid mcp:tools",
        "state": "st-1",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "resource": RESOURCE,
        **extra,
    }
    return "/oauth/authorize?" + urlencode(params)


def consent_and_get_code(client, user, client_id: str, redirect_uri: str = CALLBACK):
    client.force_login(user)
    pkce = Pkce.new()
    url = authorize_query(client_id, pkce, redirect_uri)
    page = client.get(url)
    assert page.status_code == 200, page.content[:400]
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    answer = client.post(url, {**form, "allow": "true"})
    assert answer["Location"].startswith(redirect_uri + "?")
    query = redirect_query(answer)
    assert query["state"] == "st-1"
    return query["code"], pkce, page


def test_metadata_advertises_metadata_documents(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["client_id_metadata_document_supported"] is True
    # Claude chooses CIMD only when `none` is listed too.
    assert "none" in document["token_endpoint_auth_methods_supported"]
    assert client.get("/.well-known/openid-configuration").json()["client_id_metadata_document_supported"]


def test_metadata_documents_can_be_turned_off(client, documents, settings, user):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_ENABLED": False}
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["client_id_metadata_document_supported"] is False
    # Registered clients still authenticate with keys (tests/oauth/test_client_authentication.py).
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    client_id = documents.publish("/claude.json", claude_document(documents.url("/claude.json")))
    client.force_login(user)
    page = client.get(authorize_query(client_id, Pkce.new()))
    assert page.status_code == 400
    assert documents.requests == []


def test_https_client_id_works_end_to_end(client, documents, user):
    """Claude's document (with its jwt-bearer grant) → authorize → consent → token → refresh."""
    client_id = documents.url("/oauth/mcp-oauth-client-metadata")
    documents.publish("/oauth/mcp-oauth-client-metadata", claude_document(client_id))
    code, pkce, page = consent_and_get_code(client, user, client_id)
    assert b"Claude" in page.content

    stored = Client.objects.get(client_id=client_id)
    assert stored.registration_source == "cimd"
    assert stored.client_type == "public"
    assert stored.redirect_uris == CALLBACK

    token = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": client_id,
            "code_verifier": pkce.verifier,
            "resource": RESOURCE,
        },
    )
    assert token.status_code == 200, token.content
    body = token.json()
    assert body["access_token"] and body["refresh_token"]
    assert set(body["scope"].split()) == {"openid", "mcp:tools"}

    refreshed = form_post(
        client,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": client_id},
    )
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["access_token"] != body["access_token"]
    # The document was fetched once and then served from the stored client.
    assert documents.hits("/oauth/mcp-oauth-client-metadata") == 1


def test_consent_shows_client_id_host_redirect_host_and_localhost_warning(client, documents, user):
    client_id = documents.url("/claude-code.json")
    documents.publish(
        "/claude-code.json",
        {
            # Claude Code's published document: portless loopback callbacks.
            "client_id": client_id,
            "client_name": "Claude Code",
            "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    # Any loopback port at runtime (RFC 8252 §7.3).
    code, pkce, page = consent_and_get_code(client, user, client_id, "http://localhost:51234/callback")
    html = page.content.decode()
    assert 'id="client-id-host"' in html and "localhost" in html
    assert 'id="localhost-only"' in html
    assert "localhost:51234" in html  # the redirect host in plain sight


def test_consent_for_hosted_client_has_no_localhost_warning(client, documents, user):
    client_id = documents.url("/claude.json")
    documents.publish("/claude.json", claude_document(client_id))
    client.force_login(user)
    page = client.get(authorize_query(client_id, Pkce.new()))
    html = page.content.decode()
    assert 'id="client-id-host"' in html
    assert 'id="localhost-only"' not in html
    assert "claude.ai" in html


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(client, documents, user):
    client_id = documents.publish("/claude.json", claude_document(documents.url("/claude.json")))
    client.force_login(user)
    page = client.get(authorize_query(client_id, Pkce.new(), redirect_uri="https://evil.example/cb"))
    assert page.status_code == 400
    assert "Location" not in page


@pytest.mark.parametrize(
    ("mutate", "route"),
    [
        pytest.param(
            lambda d: {**d, "client_id": "https://other.example/doc.json"}, {}, id="client-id-mismatch"
        ),
        pytest.param(lambda d: d, {"content_type": "text/html"}, id="wrong-content-type"),
        pytest.param(lambda d: d, {"status": 404}, id="not-found"),
        pytest.param(lambda d: d, {"status": 302, "headers": {"Location": "/elsewhere.json"}}, id="redirect"),
        pytest.param(lambda d: {**d, "pad": "x" * 20_000}, {}, id="oversize"),
        pytest.param(
            lambda d: {**d, "token_endpoint_auth_method": "client_secret_basic"}, {}, id="secret-method"
        ),
        pytest.param(lambda d: {**d, "client_secret": "s"}, {}, id="carries-secret"),
        pytest.param(lambda d: {**d, "grant_types": ["client_credentials"]}, {}, id="no-code-grant"),
        pytest.param(
            lambda d: {**d, "redirect_uris": ["http://evil.example/cb"]}, {}, id="only-bad-redirects"
        ),
        pytest.param(
            lambda d: {**d, "token_endpoint_auth_method": "private_key_jwt"}, {}, id="jwt-without-keys"
        ),
    ],
)
def test_bad_documents_are_a_clear_error_and_store_nothing(client, documents, user, mutate, route):
    client_id = documents.url("/doc.json")
    documents.publish("/doc.json", mutate(claude_document(client_id)), **route)
    client.force_login(user)
    page = client.get(authorize_query(client_id, Pkce.new()))
    assert page.status_code == 400
    assert "Location" not in page  # never a redirect for an untrusted client
    assert b"cannot be trusted" in page.content
    assert not Client.objects.filter(client_id=client_id).exists()
    assert documents.hits("/doc.json") == 1
    assert "/elsewhere.json" not in documents.requests  # redirects are not followed


def test_malformed_json_document(client, documents, user):
    client_id = documents.publish("/broken.json", b"{not json")
    client.force_login(user)
    assert client.get(authorize_query(client_id, Pkce.new())).status_code == 400
    assert not Client.objects.filter(client_id=client_id).exists()


def test_unreachable_document(client, documents, user, settings):
    # A port nothing listens on, reachable only through the test setting.
    settings.CIMD_TEST_FETCH_HOSTS = {"localhost:9": documents.ca_file}
    client.force_login(user)
    page = client.get(authorize_query("https://localhost:9/client.json", Pkce.new()))
    assert page.status_code == 400
    assert b"cannot be trusted" in page.content
    assert not Client.objects.filter(client_id="https://localhost:9/client.json").exists()


def test_private_address_is_never_fetched(client, documents, user):
    """Without the test-only allowance, DOT's fetcher refuses loopback/private targets."""
    client.force_login(user)
    for host in (f"127.0.0.1:{documents.port}", f"[::1]:{documents.port}", "169.254.169.254"):
        client_id = f"https://{host}/doc.json"
        documents.publish("/doc.json", claude_document(client_id))
        page = client.get(authorize_query(client_id, Pkce.new()))
        assert page.status_code == 400, host
    assert documents.requests == []  # no connection was made
    assert not Client.objects.filter(registration_source="cimd").exists()


def test_token_endpoint_unknown_metadata_client_is_invalid_client(client, documents):
    client_id = documents.url("/missing.json")
    response = form_post(
        client,
        "/oauth/token",
        {"grant_type": "authorization_code", "code": "x", "client_id": client_id, "code_verifier": "v" * 43},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_host_allowlist(client, documents, user, settings):
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "CIMD_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.cimd.HostAllowlistCIMDPermission",),
        "CIMD_ALLOWED_HOSTS": ["claude.ai", ".chatgpt.com"],
    }
    client_id = documents.publish("/claude.json", claude_document(documents.url("/claude.json")))
    client.force_login(user)
    assert client.get(authorize_query(client_id, Pkce.new())).status_code == 400
    assert documents.requests == []  # refused before any fetch
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_ALLOWED_HOSTS": ["localhost"]}
    assert client.get(authorize_query(client_id, Pkce.new())).status_code == 200


def test_document_changes_are_picked_up_when_the_cache_expires(client, documents, user):
    client_id = documents.url("/claude.json")
    documents.publish("/claude.json", claude_document(client_id), headers={"Cache-Control": "max-age=0"})
    client.force_login(user)
    assert client.get(authorize_query(client_id, Pkce.new())).status_code == 200
    moved = {**claude_document(client_id), "redirect_uris": ["https://claude.com/api/mcp/auth_callback"]}
    documents.publish("/claude.json", moved)
    Client.objects.filter(client_id=client_id).update(cimd_expires_at="2000-01-01T00:00:00Z")
    page = client.get(
        authorize_query(client_id, Pkce.new(), redirect_uri="https://claude.com/api/mcp/auth_callback")
    )
    assert page.status_code == 200
    assert client.get(authorize_query(client_id, Pkce.new())).status_code == 400


def test_clearcimdapplications_drops_expired_unused_document_clients(client, documents, user):
    idle_id = documents.url("/idle.json")
    documents.publish("/idle.json", claude_document(idle_id))
    busy_id = documents.url("/busy.json")
    documents.publish("/busy.json", claude_document(busy_id))
    client.force_login(user)
    assert client.get(authorize_query(idle_id, Pkce.new())).status_code == 200
    consent_and_get_code(client, user, busy_id)  # leaves a live grant
    Client.objects.filter(registration_source="cimd").update(cimd_expires_at="2000-01-01T00:00:00Z")
    out = StringIO()
    call_command("clearcimdapplications", stdout=out)
    assert "Deleted 1" in out.getvalue()
    assert set(Client.objects.values_list("client_id", flat=True)) == {busy_id}
