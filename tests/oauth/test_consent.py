"""Remembered consent: the same or a smaller request skips the page, anything new asks again."""

from urllib.parse import urlencode

import pytest

from oauth.models import Consent
from tests.conftest import Pkce, authorize_params, consent, make_public_client, redirect_query

pytestmark = pytest.mark.django_db

MCP = "https://mcp.example.com/mcp"


def authorize(client, app, **overrides):
    return client.get("/oauth/authorize?" + urlencode(authorize_params(app, Pkce.new(), **overrides)))


@pytest.fixture
def allowed(client, user, public_client):
    """`user` allowed `public_client` openid profile mcp:tools on MCP once."""
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), scope="openid profile mcp:tools", resource=MCP)
    redirect_query(consent(client, params))
    return public_client


def test_allowing_records_what_was_allowed(allowed, user):
    row = Consent.objects.get(user=user, application=allowed)
    assert row.scope_set == {"openid", "profile", "mcp:tools"}
    assert row.resource_set == {MCP}


def test_same_request_skips_the_consent_page_and_issues_a_code(client, allowed):
    response = authorize(client, allowed, scope="openid profile mcp:tools", resource=MCP, state="again")
    query = redirect_query(response)
    assert query["code"]
    assert query["state"] == "again"
    assert query["iss"]


def test_smaller_request_skips_the_consent_page(client, allowed):
    assert "code" in redirect_query(authorize(client, allowed, scope="mcp:tools", resource=MCP))


def test_remembered_code_exchanges_for_a_token_with_the_resource(client, allowed, exchange):
    pkce = Pkce.new()
    params = authorize_params(allowed, pkce, scope="mcp:tools", resource=MCP)
    code = redirect_query(client.get("/oauth/authorize?" + urlencode(params)))["code"]
    token = exchange(allowed, code, pkce)
    assert token.status_code == 200, token.content
    assert token.json()["scope"] == "mcp:tools"


def test_new_scope_asks_again(client, allowed):
    response = authorize(client, allowed, scope="openid profile email mcp:tools", resource=MCP)
    assert response.status_code == 200
    assert b'id="authorizationForm"' in response.content


def test_new_resource_asks_again(client, allowed):
    response = authorize(client, allowed, scope="mcp:tools", resource="https://other.example.com/mcp")
    assert response.status_code == 200
    assert b'id="authorizationForm"' in response.content


def test_no_resource_is_the_default_audience_and_asks_again(client, allowed):
    response = authorize(client, allowed, scope="mcp:tools")
    assert response.status_code == 200


def test_prompt_consent_forces_the_page(client, allowed):
    response = authorize(client, allowed, scope="mcp:tools", resource=MCP, prompt="consent")
    assert response.status_code == 200
    assert b'id="authorizationForm"' in response.content


def test_client_cannot_skip_consent_with_approval_prompt_auto(client, user, public_client, tokens):
    tokens(public_client)  # a live token, which DOT's `auto` mode would accept
    Consent.objects.all().delete()
    response = authorize(client, public_client, approval_prompt="auto")
    assert response.status_code == 200
    assert b'id="authorizationForm"' in response.content


def test_allowing_more_widens_the_remembered_consent(client, allowed, user):
    params = authorize_params(allowed, Pkce.new(), scope="email", resource="https://other.example.com/mcp")
    redirect_query(consent(client, params))
    row = Consent.objects.get(user=user, application=allowed)
    assert row.scope_set == {"openid", "profile", "mcp:tools", "email"}
    assert row.resource_set == {MCP, "https://other.example.com/mcp"}
    assert "code" in redirect_query(authorize(client, allowed, scope="profile", resource=MCP))


def test_deny_remembers_nothing(client, user, public_client):
    client.force_login(user)
    redirect_query(consent(client, authorize_params(public_client, Pkce.new()), allow=False))
    assert not Consent.objects.exists()
    assert authorize(client, public_client).status_code == 200


def test_consent_is_per_user(client, allowed):
    from tests.conftest import make_user

    client.force_login(make_user("bob"))
    assert authorize(client, allowed, scope="mcp:tools", resource=MCP).status_code == 200


def _dynamic_client(redirect_uri: str):
    return make_public_client(name="Self-registered", registration_source="dcr", redirect_uris=redirect_uri)


@pytest.mark.parametrize("always", [True, False])
def test_unverified_dynamic_clients_always_ask_unless_configured(client, user, settings, always):
    settings.CONSENT_ALWAYS_FOR_DYNAMIC_CLIENTS = always
    settings.DCR_TRUSTED_REDIRECT_HOSTS = ["claude.ai"]
    app = _dynamic_client("https://unknown.example/cb")
    client.force_login(user)
    overrides = {"redirect_uri": "https://unknown.example/cb", "resource": MCP}
    redirect_query(consent(client, authorize_params(app, Pkce.new(), **overrides)))
    again = authorize(client, app, **overrides)
    assert again.status_code == (200 if always else 302)


def test_verified_dynamic_clients_are_remembered(client, user, settings):
    settings.DCR_TRUSTED_REDIRECT_HOSTS = ["claude.ai"]
    app = _dynamic_client("https://claude.ai/api/mcp/auth_callback")
    client.force_login(user)
    overrides = {"redirect_uri": "https://claude.ai/api/mcp/auth_callback", "resource": MCP}
    redirect_query(consent(client, authorize_params(app, Pkce.new(), **overrides)))
    again = authorize(client, app, **overrides)
    assert again["Location"].startswith("https://claude.ai/api/mcp/auth_callback?code=")


def test_remembered_consent_still_refuses_an_unregistered_redirect(client, allowed):
    response = authorize(
        client, allowed, scope="mcp:tools", resource=MCP, redirect_uri="https://evil.example/cb"
    )
    assert response.status_code == 400
    assert b"cannot be trusted" in response.content


def test_consent_page_says_whether_the_answer_is_remembered(client, user, settings):
    settings.DCR_TRUSTED_REDIRECT_HOSTS = []
    client.force_login(user)
    admin_client = make_public_client(name="Admin client")
    dynamic = _dynamic_client("https://unknown.example/cb")
    remembered = authorize(client, admin_client).content.decode()
    always = authorize(client, dynamic, redirect_uri="https://unknown.example/cb").content.decode()
    assert "will not ask again" in remembered
    assert "will not ask again" not in always
    assert 'href="/account/apps/"' in always


def test_prompt_none_without_remembered_consent_is_consent_required(client, user, public_client):
    client.force_login(user)
    query = redirect_query(authorize(client, public_client, scope="mcp:tools", prompt="none", state="s9"))
    assert query["error"] == "consent_required"
    assert query["state"] == "s9"
    assert query["iss"]


def test_prompt_none_with_remembered_consent_issues_a_code(client, allowed):
    query = redirect_query(authorize(client, allowed, scope="mcp:tools", resource=MCP, prompt="none"))
    assert query["code"]
