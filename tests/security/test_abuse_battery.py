"""The abuse battery: what an attacker would try against each endpoint, and the exact answer.

Every case asserts the response a client or a person gets (status, body, headers, where a
redirect goes) and that the refused request issued and stored nothing.
"""

import base64
import json
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils.html import escape
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from tests.conftest import (
    REDIRECT_URI,
    Pkce,
    authorize_params,
    basic_auth,
    consent,
    form_post,
    make_confidential_client,
    make_public_client,
    make_user,
    redirect_query,
)
from tests.security.conftest import nothing_stored

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

WEB_REDIRECT = "https://app.example.com/oauth/callback"
MCP_A = "https://mcp-a.example.com/mcp"
MCP_B = "https://mcp-b.example.com/mcp"


# --- What the answers look like ------------------------------------------------------


def assert_untrusted_page(response, error: str | None = None):
    """RFC 6749 §4.1.2.1: no redirect when the client or its redirect URI can't be trusted."""
    assert response.status_code == 400
    assert "Location" not in response
    assert response["Content-Type"].startswith("text/html")
    assert b"request cannot be trusted</h1>" in response.content
    if error:
        assert f"<code>{error}</code>".encode() in response.content


def assert_json_error(response, error: str, status: int = 400):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store"


def assert_error_redirect(response, error: str, state: str | None, redirect_uri: str = REDIRECT_URI):
    """RFC 6749 §4.1.2.1: the error goes to the registered redirect URI, with state and iss."""
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    query = {key: values[0] for key, values in parse_qs(location.query, keep_blank_values=True).items()}
    assert query["error"] == error
    assert "code" not in query
    assert query.get("state") == state
    assert query["iss"] == settings.ISSUER
    return query


def authorize(client, params):
    return client.get("/oauth/authorize?" + urlencode(params, doseq=True))


def assert_redirect_uri_refused(signed_in, app, redirect_uri):
    """Authorize with `redirect_uri`: the error page, never a redirect, and nothing stored."""
    with nothing_stored():
        response = authorize(signed_in, authorize_params(app, Pkce.new(), redirect_uri=redirect_uri))
    assert_untrusted_page(response, "invalid_request")


def register(client, body) -> dict:
    response = client.post("/oauth/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def refresh(client, app, refresh_token, **extra):
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id}
    return form_post(client, "/oauth/token", {**body, **extra})


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def web_client(db):
    return make_public_client(name="Web app", redirect_uris=WEB_REDIRECT)


@pytest.fixture
def resource_server(db):
    return make_confidential_client(name="Resource server B")


# --- Redirect URIs: only the registered one, exactly --------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/callback", "http://evil.example:53682/callback", "http://10.0.0.1/cb"],
)
def test_redirect_uri_on_another_host_is_refused(signed_in, public_client, redirect_uri):
    assert_redirect_uri_refused(signed_in, public_client, redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:53682/callbackx",
        "http://127.0.0.1:53682/callback.evil",
        "http://127.0.0.1:53682/callback;evil=1",
        "http://127.0.0.1:53682/call",
    ],
)
def test_redirect_uri_sharing_a_prefix_with_the_registered_one_is_refused(
    signed_in, public_client, redirect_uri
):
    assert_redirect_uri_refused(signed_in, public_client, redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:53682/callback/extra",
        "http://127.0.0.1:53682/callback/",
        "http://127.0.0.1:53682/x/../callback",
        "http://127.0.0.1:53682/./callback",
    ],
)
def test_redirect_uri_with_an_extra_or_dotted_path_is_refused(signed_in, public_client, redirect_uri):
    assert_redirect_uri_refused(signed_in, public_client, redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://app.example.com:8443/oauth/callback",
        "https://app.example.com:443/oauth/callback",
        "http://app.example.com/oauth/callback",
    ],
)
def test_redirect_uri_on_another_port_or_scheme_of_a_web_host_is_refused(signed_in, web_client, redirect_uri):
    assert_redirect_uri_refused(signed_in, web_client, redirect_uri)


def test_loopback_redirect_uri_on_another_port_is_allowed_as_rfc8252_says(signed_in, public_client):
    # The counterpart of the test above: RFC 8252 §7.3 lets native apps pick any loopback port.
    params = authorize_params(public_client, Pkce.new(), redirect_uri="http://127.0.0.1:40000/callback")
    response = consent(signed_in, params)
    assert response["Location"].startswith("http://127.0.0.1:40000/callback?code=")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:53682/CALLBACK",
        "http://127.0.0.1:53682/Callback",
        "https://app.example.com/OAuth/Callback",
    ],
)
def test_redirect_uri_with_a_case_change_in_the_path_is_refused(
    signed_in, public_client, web_client, redirect_uri
):
    app = web_client if redirect_uri.startswith("https") else public_client
    assert_redirect_uri_refused(signed_in, app, redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:53682/%63allback",  # an encoded "c"
        "http://127.0.0.1:53682%2Fcallback",
        "http://127.0.0.1:53682/callback%2F..%2F..%2Fevil",
        "http://127.0.0.1:53682/callback%00",
        "http://127.0.0.1:53682/callback%23frag",
        "http://127.0.0.1:53682/callback%3Fnext=https://evil.example",
        "http://127.0.0.1%2Eevil.example:53682/callback",
        "http://127.0.0.1:53682%40evil.example/callback",
        "http://127.0.0.1:53682\\@evil.example/callback",
        "http://127.0.0.1:53682/callback\u2044evil",
    ],
)
def test_redirect_uri_encoding_tricks_are_refused(signed_in, public_client, redirect_uri):
    assert_redirect_uri_refused(signed_in, public_client, redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example@127.0.0.1:53682/callback",
        "http://127.0.0.1:53682@evil.example/callback",
        "http://127.0.0.1:53682/callback#fragment",
    ],
)
def test_redirect_uri_with_credentials_or_a_fragment_is_refused(signed_in, public_client, redirect_uri):
    assert_redirect_uri_refused(signed_in, public_client, redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri", ["http://[::1", "http://[zz]/cb", "http://[::1]:99999/cb", "http://:/"]
)
def test_malformed_redirect_uri_at_authorize_is_an_error_page(signed_in, public_client, redirect_uri):
    assert_redirect_uri_refused(signed_in, public_client, redirect_uri)


@pytest.mark.parametrize("redirect_uri", ["http://[::1", "http://[zz]/cb", "http://[::1]:99999/cb"])
def test_malformed_redirect_uri_at_registration_is_invalid_redirect_uri(client, redirect_uri):
    with nothing_stored():
        response = client.post(
            "/oauth/register", json.dumps({"redirect_uris": [redirect_uri]}), content_type="application/json"
        )
    assert_json_error(response, "invalid_redirect_uri")
    assert response.json()["error_description"] == f"{redirect_uri}: is not a valid URI"


@pytest.mark.parametrize("client_id", ["no-such-client", "", "<script>alert(1)</script>", "x" * 5000])
def test_unknown_or_missing_client_id_is_an_error_page(signed_in, public_client, client_id):
    with nothing_stored():
        response = authorize(signed_in, authorize_params(public_client, Pkce.new(), client_id=client_id))
    assert_untrusted_page(response)
    assert b"<script>alert(1)</script>" not in response.content


# --- Open redirects through error responses -----------------------------------------


@pytest.mark.parametrize("response_type", ["token", "id_token", "nonsense", None])
def test_error_with_an_unregistered_redirect_uri_never_redirects(signed_in, public_client, response_type):
    params = authorize_params(
        public_client, Pkce.new(), redirect_uri="https://evil.example/cb", response_type=response_type
    )
    with nothing_stored():
        response = authorize(signed_in, params)
    assert_untrusted_page(response, "invalid_request")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unauthorized_client"),
        ({"response_type": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"resource": "https://[::1/mcp"}, "invalid_target"),
    ],
)
def test_error_with_the_registered_redirect_uri_goes_there_only(signed_in, public_client, overrides, error):
    params = authorize_params(public_client, Pkce.new(), **overrides)
    with nothing_stored():
        response = authorize(signed_in, params)
    assert_error_redirect(response, error, params["state"])


def test_login_does_not_follow_a_next_url_on_another_site(client, user):
    with nothing_stored():
        response = client.post(
            "/accounts/login/?next=https://evil.example/",
            {"username": "alice", "password": "correct horse battery", "next": "https://evil.example/"},
        )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_language_switch_does_not_follow_a_next_url_on_another_site(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


# --- state: passed through untouched, never invented -------------------------------


def test_state_is_returned_verbatim_with_the_code(signed_in, public_client):
    state = "a b&c=d/é?#%20+" + "x" * 500
    params = authorize_params(public_client, Pkce.new(), state=state)
    query = redirect_query(consent(signed_in, params))
    assert query["state"] == state
    assert Grant.objects.count() == 1


def test_state_is_returned_verbatim_with_an_error(signed_in, public_client):
    state = "<b>&'\"</b>"
    params = authorize_params(public_client, Pkce.new(), state=state, code_challenge_method="plain")
    with nothing_stored():
        response = authorize(signed_in, params)
    assert_error_redirect(response, "invalid_request", state)


def test_missing_state_is_not_invented(signed_in, public_client):
    params = authorize_params(public_client, Pkce.new(), state=None)
    query = redirect_query(consent(signed_in, params))
    assert "state" not in query
    assert query["code"]
    with nothing_stored():
        denied = authorize(signed_in, {**params, "response_type": "token"})
    assert "state" not in assert_error_redirect(denied, "unauthorized_client", None)


# --- PKCE ----------------------------------------------------------------------------


def test_pkce_without_a_challenge_is_refused(signed_in, public_client):
    params = authorize_params(public_client, Pkce.new(), code_challenge=None, code_challenge_method=None)
    with nothing_stored():
        response = authorize(signed_in, params)
    query = assert_error_redirect(response, "invalid_request", params["state"])
    assert query["error_description"] == "Code challenge required."


@pytest.mark.parametrize("method", ["plain", None, "s256", "S512", ""])
def test_pkce_methods_other_than_s256_are_refused(signed_in, public_client, method):
    params = authorize_params(public_client, Pkce.new(), code_challenge_method=method)
    with nothing_stored():
        response = authorize(signed_in, params)
    assert_error_redirect(response, "invalid_request", params["state"])


@pytest.mark.parametrize(
    "challenge", ["a" * 129, "a" * 300, "b" * 2000, "a" * 42, "abc+/=" * 8, "é" * 43, "a b" * 15]
)
def test_pkce_challenge_of_the_wrong_length_or_alphabet_is_invalid_request(
    signed_in, public_client, challenge
):
    params = authorize_params(public_client, Pkce.new(), code_challenge=challenge)
    with nothing_stored():
        response = authorize(signed_in, params)
    query = assert_error_redirect(response, "invalid_request", params["state"])
    assert "RFC 7636" in query["error_description"]


def test_pkce_challenge_too_long_in_a_forged_consent_post_is_invalid_request(signed_in, public_client):
    params = authorize_params(public_client, Pkce.new())
    page = authorize(signed_in, params)
    form = {**page.context["form"].initial, "allow": "true", "code_challenge": "a" * 300}
    with nothing_stored():
        response = signed_in.post("/oauth/authorize", {k: v for k, v in form.items() if v is not None})
    assert_error_redirect(response, "invalid_request", params["state"])


def test_consent_post_cannot_drop_the_pkce_challenge(signed_in, public_client):
    params = authorize_params(public_client, Pkce.new())
    page = authorize(signed_in, params)
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    form.pop("code_challenge")
    form.pop("code_challenge_method")
    with nothing_stored():
        response = signed_in.post("/oauth/authorize", {**form, "allow": "true"})
    assert_error_redirect(response, "invalid_request", params["state"])


def test_pkce_wrong_verifier_is_invalid_grant(issue_code, exchange, public_client):
    code, _, _ = issue_code(public_client)
    with nothing_stored():
        response = exchange(public_client, code, Pkce.new())
    assert_json_error(response, "invalid_grant")


@pytest.mark.parametrize(
    ("verifier", "error"), [(None, "invalid_request"), ("", "invalid_grant"), ("a" * 129, "invalid_grant")]
)
def test_pkce_missing_or_malformed_verifier_is_refused(client, issue_code, public_client, verifier, error):
    code, _, _ = issue_code(public_client)
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": public_client.client_id,
        "code_verifier": verifier,
    }
    with nothing_stored():
        response = form_post(client, "/oauth/token", {k: v for k, v in body.items() if v is not None})
    assert_json_error(response, error)


def test_pkce_verifier_of_an_earlier_flow_is_not_reusable(issue_code, exchange, public_client):
    first_code, first_pkce, _ = issue_code(public_client)
    assert exchange(public_client, first_code, first_pkce).status_code == 200
    second_code, _, _ = issue_code(public_client, prompt="consent")
    with nothing_stored():
        response = exchange(public_client, second_code, first_pkce)
    assert_json_error(response, "invalid_grant")


@pytest.mark.parametrize("nonce", ["n" * 256, "n" * 300, "n" * 3000])
def test_overlong_nonce_is_invalid_request(signed_in, public_client, nonce):
    params = authorize_params(public_client, Pkce.new(), nonce=nonce)
    with nothing_stored():
        response = authorize(signed_in, params)
    query = assert_error_redirect(response, "invalid_request", params["state"])
    assert query["error_description"] == "nonce must be at most 255 characters."


# --- Authorization codes --------------------------------------------------------------


def test_code_replay_is_refused_and_revokes_what_it_issued(client, issue_code, exchange, public_client):
    code, pkce, _ = issue_code(public_client)
    first = exchange(public_client, code, pkce).json()
    replay = exchange(public_client, code, pkce)
    assert_json_error(replay, "invalid_grant")
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}").status_code == 401
    )
    assert_json_error(refresh(client, public_client, first["refresh_token"]), "invalid_grant")


def test_code_issued_to_client_a_is_refused_to_client_b(issue_code, exchange, public_client):
    other = make_public_client(name="Client B")
    code, pkce, _ = issue_code(public_client)
    with nothing_stored():
        response = exchange(other, code, pkce)
    assert_json_error(response, "invalid_grant")
    # ... and client A can still redeem it: B's attempt did not burn it.
    assert exchange(public_client, code, pkce).status_code == 200


def test_code_with_another_redirect_uri_is_refused(issue_code, exchange, public_client):
    code, pkce, _ = issue_code(public_client)
    with nothing_stored():
        response = exchange(public_client, code, pkce, redirect_uri="http://127.0.0.1:53682/other")
    assert_json_error(response, "invalid_request")
    assert response.json()["error_description"] == "Mismatching redirect URI."


@pytest.mark.parametrize("code", ["forged", "x" * 10_000, "ключ", "a'; DROP TABLE oauth2_provider_grant; --"])
def test_forged_codes_are_invalid_grant(client, public_client, code):
    with nothing_stored():
        response = form_post(
            client,
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": public_client.client_id,
                "code_verifier": Pkce.new().verifier,
            },
        )
    assert_json_error(response, "invalid_grant")


# --- Refresh tokens -------------------------------------------------------------------


def test_refresh_token_reuse_after_rotation_revokes_the_family(client, tokens, public_client, settings):
    settings.REFRESH_TOKEN_GRACE_SECONDS = 0
    first = tokens(public_client)
    second = refresh(client, public_client, first["refresh_token"]).json()
    refresh_tokens = RefreshToken.objects.count()
    replay = refresh(client, public_client, first["refresh_token"])
    assert_json_error(replay, "invalid_grant")
    assert not AccessToken.objects.exists()
    assert RefreshToken.objects.count() == refresh_tokens  # nothing new: the family is revoked
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {second['access_token']}").status_code
        == 401
    )


def test_refresh_token_of_client_a_is_refused_to_client_b(client, tokens, public_client):
    other = make_public_client(name="Client B")
    first = tokens(public_client)
    with nothing_stored():
        response = refresh(client, other, first["refresh_token"])
    assert_json_error(response, "invalid_grant")


@pytest.mark.parametrize("scope", ["mcp:tools email", "mcp:tools introspection", "mcp:tools admin"])
def test_scope_escalation_at_refresh_is_invalid_scope(client, tokens, public_client, scope):
    first = tokens(public_client, scope="mcp:tools")
    with nothing_stored():
        response = refresh(client, public_client, first["refresh_token"], scope=scope)
    assert_json_error(response, "invalid_scope")


def test_access_token_presented_as_refresh_token_is_invalid_grant(client, tokens, public_client):
    first = tokens(public_client)
    with nothing_stored():
        response = refresh(client, public_client, first["access_token"])
    assert_json_error(response, "invalid_grant")


# --- Audiences at introspection -------------------------------------------------------


def test_token_for_audience_a_is_no_credential_at_introspection(client, tokens, public_client):
    access = tokens(public_client, resource=MCP_A)["access_token"]
    with nothing_stored():
        response = form_post(
            client, "/oauth/introspect", {"token": access}, HTTP_AUTHORIZATION=f"Bearer {access}"
        )
    assert_json_error(response, "invalid_token", status=401)
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_token_for_audience_a_introspected_by_resource_server_b_names_audience_a_only(
    client, tokens, public_client, resource_server
):
    access = tokens(public_client, resource=MCP_A)["access_token"]
    with nothing_stored():
        response = form_post(
            client,
            "/oauth/introspect",
            {"token": access, "resource": MCP_B},
            HTTP_AUTHORIZATION=basic_auth(resource_server.client_id, resource_server.plain_secret),
        )
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["aud"] == [MCP_A]  # resource server B sees the token is not for it


def test_token_for_audience_a_cannot_be_refreshed_into_audience_b(client, tokens, public_client):
    first = tokens(public_client, resource=MCP_A)
    with nothing_stored():
        response = refresh(client, public_client, first["refresh_token"], resource=MCP_B)
    assert_json_error(response, "invalid_target")


# --- The consent form -----------------------------------------------------------------


def test_consent_post_without_csrf_token_is_refused(user, public_client):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    page = authorize(browser, params)
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    with nothing_stored():
        response = browser.post("/oauth/authorize?" + urlencode(params), {**form, "allow": "true"})
    assert response.status_code == 403
    assert "Location" not in response


def test_consent_post_without_a_session_is_sent_to_sign_in(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(client, params).context["form"].initial.items() if v is not None}
    stranger = Client()
    with nothing_stored():
        response = stranger.post("/oauth/authorize?" + urlencode(params), {**form, "allow": "true"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/oauth/authorize")


def test_consent_form_of_one_user_replayed_by_another_grants_only_the_other(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(client, params).context["form"].initial.items() if v is not None}
    mallory = Client()
    mallory.force_login(make_user("mallory"))
    response = mallory.post("/oauth/authorize?" + urlencode(params), {**form, "allow": "true"})
    assert redirect_query(response)["code"]
    assert [grant.user.username for grant in Grant.objects.all()] == ["mallory"]
    assert not Grant.objects.filter(user=user).exists()


@pytest.mark.parametrize("client_id", ["no-such-client", "x" * 300, "<b>bold</b>"])
def test_forged_consent_post_naming_an_unknown_client_is_an_error_page(signed_in, public_client, client_id):
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(signed_in, params).context["form"].initial.items() if v is not None}
    with nothing_stored():
        response = signed_in.post("/oauth/authorize", {**form, "client_id": client_id, "allow": "true"})
    assert_untrusted_page(response, "invalid_request")
    assert b"<b>bold</b>" not in response.content


def test_forged_consent_post_with_an_unregistered_redirect_uri_is_an_error_page(signed_in, public_client):
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(signed_in, params).context["form"].initial.items() if v is not None}
    with nothing_stored():
        response = signed_in.post(
            "/oauth/authorize", {**form, "redirect_uri": "https://evil.example/cb", "allow": "true"}
        )
    assert_untrusted_page(response, "invalid_request")


@pytest.mark.parametrize(
    "tamper",
    [
        {"client_id": ""},
        {"redirect_uri": ""},
        {"response_type": ""},
        {"scope": ""},
        {"state": "a\x00b"},
        {"nonce": "\x00"},
    ],
)
def test_consent_post_with_altered_hidden_fields_is_an_error_page(signed_in, public_client, tamper):
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(signed_in, params).context["form"].initial.items() if v is not None}
    with nothing_stored():
        response = signed_in.post("/oauth/authorize", {**form, **tamper, "allow": "true"})
    assert_untrusted_page(response, "invalid_request")
    assert b"The consent form was altered or is incomplete." in response.content


# --- Framing, login CSRF, session fixation ----------------------------------------------


@pytest.mark.parametrize("path", ["consent", "/accounts/login/", "/account/apps/", "/", "error"])
def test_pages_refuse_to_be_framed(signed_in, public_client, path):
    if path == "consent":
        response = authorize(signed_in, authorize_params(public_client, Pkce.new()))
    elif path == "error":
        response = authorize(signed_in, authorize_params(public_client, Pkce.new(), client_id="nope"))
    else:
        if path == "/accounts/login/":
            signed_in.logout()
        response = signed_in.get(path)
    assert response.status_code in (200, 400)
    assert response["X-Frame-Options"] == "DENY"


def test_login_without_csrf_token_is_refused(user):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")
    with nothing_stored():
        response = browser.post(
            "/accounts/login/", {"username": "alice", "password": "correct horse battery"}
        )
    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_login_with_a_foreign_csrf_token_is_refused(user):
    victim = Client(enforce_csrf_checks=True)
    victim.get("/accounts/login/")
    attacker = Client(enforce_csrf_checks=True)
    attacker.get("/accounts/login/")
    forged = attacker.cookies["csrftoken"].value
    response = victim.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct horse battery", "csrfmiddlewaretoken": forged},
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in victim.session


def test_session_key_rotates_at_login(user):
    browser = Client()
    session = browser.session
    session["planted"] = "by an attacker"
    session.save()
    planted_key = session.session_key
    browser.cookies[settings.SESSION_COOKIE_NAME] = planted_key
    response = browser.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 302
    new_key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != planted_key
    assert browser.session["_auth_user_id"] == str(user.pk)
    # The planted key names no signed-in session.
    from django.contrib.sessions.backends.db import SessionStore

    assert "_auth_user_id" not in SessionStore(session_key=planted_key).load()


# --- userinfo ---------------------------------------------------------------------------


def test_userinfo_refuses_a_token_in_the_query_string(client, tokens, public_client):
    access = tokens(public_client)["access_token"]
    with nothing_stored():
        response = client.get("/oauth/userinfo?" + urlencode({"access_token": access}))
    assert_json_error(response, "invalid_request")
    assert response.json()["error_description"] == "Send the access token in the Authorization header."


def test_userinfo_refuses_a_token_in_the_query_string_even_with_a_header(client, tokens, public_client):
    access = tokens(public_client)["access_token"]
    response = client.get(
        "/oauth/userinfo?" + urlencode({"access_token": access}), HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    assert_json_error(response, "invalid_request")


# --- Oversized bodies and headers -------------------------------------------------------


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_oversized_form_body_is_a_json_invalid_request(client, public_client, path):
    body = urlencode(
        {"grant_type": "authorization_code", "code": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    )
    with nothing_stored():
        response = client.post(path, body, content_type="application/x-www-form-urlencoded")
    assert_json_error(response, "invalid_request")
    assert response.json()["error_description"] == "The request body is too large."


def test_too_many_form_fields_is_a_json_invalid_request(client):
    body = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    with nothing_stored():
        response = client.post("/oauth/token", body, content_type="application/x-www-form-urlencoded")
    assert_json_error(response, "invalid_request")


@pytest.mark.parametrize("size", [64 * 1024 + 1, 3 * 1024 * 1024])
def test_oversized_registration_body_is_invalid_client_metadata(client, size):
    body = json.dumps({"redirect_uris": [REDIRECT_URI], "client_name": "x" * size})
    with nothing_stored():
        response = client.post("/oauth/register", body, content_type="application/json")
    assert_json_error(response, "invalid_client_metadata")


def test_overlong_client_name_is_invalid_client_metadata(client):
    with nothing_stored():
        response = client.post(
            "/oauth/register",
            json.dumps({"redirect_uris": [REDIRECT_URI], "client_name": "x" * 201}),
            content_type="application/json",
        )
    assert_json_error(response, "invalid_client_metadata")


def test_oversized_authorization_headers_are_refused(client):
    huge = "A" * 100_000
    with nothing_stored():
        bearer = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {huge}")
        basic = form_post(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{huge}:{huge}".encode()).decode(),
        )
    assert_json_error(bearer, "invalid_token", status=401)
    assert_json_error(basic, "invalid_client", status=401)


# --- NUL bytes and unicode in every field ------------------------------------------------

TOKEN_FIELDS = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "code_verifier",
    "refresh_token",
    "scope",
    "resource",
    "client_secret",
    "client_assertion",
]


@pytest.mark.parametrize("field", TOKEN_FIELDS)
def test_nul_in_any_token_request_field_is_a_json_invalid_request(client, public_client, field):
    body = {
        "grant_type": "authorization_code",
        "code": "abc",
        "redirect_uri": REDIRECT_URI,
        "client_id": public_client.client_id,
        "code_verifier": Pkce.new().verifier,
    }
    body[field] = body.get(field, "value") + "\x00"
    with nothing_stored():
        response = form_post(client, "/oauth/token", body)
    assert_json_error(response, "invalid_request")
    assert response.json()["error_description"] == "Parameters must not contain NUL."


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (p, f)
        for p in ("/oauth/revoke", "/oauth/introspect")
        for f in ("token", "token_type_hint", "client_id")
    ],
)
def test_nul_in_revocation_and_introspection_is_a_json_invalid_request(client, resource_server, path, field):
    body = {"token": "abc", "client_id": resource_server.client_id, field: "a\x00b"}
    with nothing_stored():
        response = form_post(client, path, body)
    assert_json_error(response, "invalid_request")


@pytest.mark.parametrize("credentials", ["a\x00b:secret", "a%00b:secret", "client:se\x00cret"])
def test_nul_in_basic_credentials_is_a_json_invalid_request(client, credentials):
    header = "Basic " + base64.b64encode(credentials.encode()).decode()
    with nothing_stored():
        response = form_post(
            client, "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=header
        )
    assert_json_error(response, "invalid_request")


@pytest.mark.parametrize("field", ["client_id", "redirect_uri"])
def test_nul_in_client_id_or_redirect_uri_at_authorize_is_an_error_page(signed_in, public_client, field):
    params = authorize_params(public_client, Pkce.new())
    params[field] += "\x00"
    with nothing_stored():
        response = authorize(signed_in, params)
    assert_untrusted_page(response)


@pytest.mark.parametrize(
    "field", ["state", "scope", "code_challenge", "nonce", "resource", "prompt", "claims", "ui_locales"]
)
def test_nul_in_other_authorize_parameters_is_an_invalid_request_redirect(signed_in, public_client, field):
    params = authorize_params(public_client, Pkce.new())
    params[field] = params.get(field, "x") + "\x00"
    with nothing_stored():
        response = authorize(signed_in, params)
    query = assert_error_redirect(response, "invalid_request", params["state"])
    assert query["error_description"] == "Parameters must not contain NUL."


@pytest.mark.parametrize(
    "metadata",
    [
        {"client_name": "a\x00b"},
        {"redirect_uris": [REDIRECT_URI + "\x00"]},
        {"scope": "mcp:tools\x00"},
        {"token_endpoint_auth_method": "none\x00"},
        {"grant_types": ["authorization_code\x00"]},
        {"x\x00": "unknown field"},
        {"logo_uri": "https://x.example/\x00"},
    ],
)
def test_nul_in_registration_metadata_is_invalid_client_metadata(client, metadata):
    body = {"redirect_uris": [REDIRECT_URI], **metadata}
    with nothing_stored():
        response = client.post("/oauth/register", json.dumps(body), content_type="application/json")
    assert_json_error(response, "invalid_client_metadata")


@pytest.mark.parametrize(
    ("path", "expect_json"),
    [
        ("/oauth/register/abc%00def", True),
        ("/oauth/token%00", True),
        ("/account/apps/abc%00/revoke", False),
    ],
)
def test_nul_in_paths_and_page_queries_is_refused(signed_in, path, expect_json):
    with nothing_stored():
        response = signed_in.post(path) if "revoke" in path else signed_in.get(path)
    if expect_json:
        assert_json_error(response, "invalid_client_metadata" if "register" in path else "invalid_request")
    else:
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")


def test_nul_in_login_fields_is_a_form_error(client, user):
    with nothing_stored():
        response = client.post(
            "/accounts/login/?next=/%00", {"username": "alice\x00", "password": "correct horse battery"}
        )
    assert response.status_code == 200
    assert b'id="login-error"' in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("value", ["🚀", "\u202eevil", "e\u0301", "\ud7ff", "ﬁ", "İ", "\u200b", "𝕒𝕕𝕞𝕚𝕟"])
def test_unicode_in_token_fields_is_an_ordinary_oauth_error(client, public_client, value):
    with nothing_stored():
        code = form_post(
            client,
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": value,
                "client_id": public_client.client_id,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": value * 43,
            },
        )
        unknown_client = form_post(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials", "client_id": value, "client_secret": value},
        )
        introspect = form_post(
            client, "/oauth/introspect", {"token": value}, HTTP_AUTHORIZATION=basic_auth(value, value)
        )
    assert_json_error(code, "invalid_grant")
    assert_json_error(unknown_client, "invalid_client", status=401)
    assert_json_error(introspect, "invalid_client", status=401)


def test_unicode_client_name_is_stored_and_shown_as_sent(client, user):
    name = "Приложение 🚀 \u202eevil"
    registered = register(client, {"redirect_uris": [REDIRECT_URI], "client_name": name})
    client.force_login(user)
    params = {
        "response_type": "code",
        "client_id": registered["client_id"],
        "redirect_uri": REDIRECT_URI,
        "code_challenge": Pkce.new().challenge,
        "code_challenge_method": "S256",
    }
    page = authorize(client, params)
    assert page.status_code == 200
    assert f'<span class="client-name">{name}</span>' in page.content.decode()


# --- Payloads in client_name, shown on pages --------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE oauth_clients_client; --",
    "Robert'); DELETE FROM auth_user WHERE ('1'='1",
    "{{ settings.SECRET_KEY }}",
    "<a href='javascript:alert(1)'>click</a>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_client_name_payloads_are_stored_literally_and_escaped_on_consent(client, user, payload):
    registered = register(client, {"redirect_uris": [REDIRECT_URI], "client_name": payload})
    assert registered["client_name"] == payload
    client.force_login(user)
    params = {
        "response_type": "code",
        "client_id": registered["client_id"],
        "redirect_uri": REDIRECT_URI,
        "code_challenge": Pkce.new().challenge,
        "code_challenge_method": "S256",
    }
    page = authorize(client, params)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<span class="client-name">{escape(payload)}</span>' in html
    if payload != escape(payload):
        assert payload not in html
    assert settings.SECRET_KEY not in html


@pytest.mark.parametrize("payload", PAYLOADS)
def test_client_name_payloads_are_escaped_on_connected_apps(client, user, tokens, payload):
    app = make_public_client(name=payload)
    tokens(app)
    page = client.get("/account/apps/")
    html = page.content.decode()
    assert page.status_code == 200
    assert escape(payload) in html
    if payload != escape(payload):
        assert payload not in html


# --- RFC 7592 client configuration --------------------------------------------------------


def test_client_configuration_needs_that_clients_registration_token(client, tokens, public_client):
    mine = register(client, {"redirect_uris": [REDIRECT_URI], "client_name": "Mine"})
    theirs = register(client, {"redirect_uris": [REDIRECT_URI], "client_name": "Theirs"})
    access = tokens(public_client)["access_token"]
    path = f"/oauth/register/{quote(mine['client_id'])}"
    with nothing_stored():
        anonymous = client.get(path)
        with_other_token = client.get(
            path, HTTP_AUTHORIZATION=f"Bearer {theirs['registration_access_token']}"
        )
        with_access_token = client.get(path, HTTP_AUTHORIZATION=f"Bearer {access}")
        deleted_by_other = client.delete(
            path, HTTP_AUTHORIZATION=f"Bearer {theirs['registration_access_token']}"
        )
    for response in (anonymous, with_other_token, with_access_token, deleted_by_other):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"] == "invalid_token"
    own = client.get(path, HTTP_AUTHORIZATION=f"Bearer {mine['registration_access_token']}")
    assert own.status_code == 200
    assert own.json()["client_name"] == "Mine"


@pytest.mark.parametrize(
    "path", ["/oauth/jwks", "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
)
def test_public_documents_refuse_writes(client, path):
    with nothing_stored():
        response = client.post(path, "x=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 405


# --- Found by the fuzz tests ------------------------------------------------------------------


@pytest.mark.parametrize("claims", ["00", "{", "[]", "1", '"x"', '{"userinfo": 1}', '{"id_token": []}'])
def test_malformed_claims_parameter_is_an_invalid_request_redirect(signed_in, public_client, claims):
    params = authorize_params(public_client, Pkce.new(), claims=claims)
    with nothing_stored():
        response = authorize(signed_in, params)
    query = assert_error_redirect(response, "invalid_request", params["state"])
    assert query["error_description"] == "Malformed claims parameter."


def test_well_formed_claims_parameter_still_works(signed_in, public_client, exchange):
    pkce = Pkce.new()
    params = authorize_params(public_client, pkce, claims='{"userinfo": {"email": {"essential": true}}}')
    code = redirect_query(consent(signed_in, params))["code"]
    assert exchange(public_client, code, pkce).status_code == 200


@pytest.mark.parametrize(
    ("resource", "expect"),
    [(MCP_A, "code"), ("nonsense", "invalid_target"), ("http://[::1", "invalid_target")],
)
def test_resource_in_the_consent_post_url_is_checked_and_stored_as_a_list(
    signed_in, public_client, resource, expect
):
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(signed_in, params).context["form"].initial.items() if v is not None}
    response = signed_in.post(
        "/oauth/authorize?" + urlencode({**params, "resource": resource}), {**form, "allow": "true"}
    )
    if expect == "code":
        assert redirect_query(response)["code"]
        assert Grant.objects.get().resource == [MCP_A]
    else:
        assert_error_redirect(response, expect, params["state"])
        assert not Grant.objects.exists()


@pytest.mark.parametrize("signed", [True, False])
def test_overlong_authorization_request_is_an_error_page(client, user, public_client, signed):
    if signed:
        client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), state="é" * 1000)
    with nothing_stored():
        response = authorize(client, params)
    assert_untrusted_page(response, "invalid_request")
    assert b"The request is too long." in response.content


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "nonsense"])
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_form_body_in_another_charset_is_a_json_invalid_request(client, path, charset):
    with nothing_stored():
        response = client.generic(
            "POST", path, b"\x00", content_type=f"application/x-www-form-urlencoded; charset={charset}"
        )
    assert_json_error(response, "invalid_request")
    assert response.json()["error_description"] == "Form bodies must be UTF-8 (RFC 6749 Appendix B)."


@pytest.mark.parametrize(
    "redirect_uri", ["https://evil.example/cb", "0", "http://[::1", "javascript:alert(1)"]
)
def test_deny_in_a_tampered_consent_form_never_redirects_elsewhere(signed_in, public_client, redirect_uri):
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(signed_in, params).context["form"].initial.items() if v is not None}
    with nothing_stored():
        response = signed_in.post("/oauth/authorize", {**form, "redirect_uri": redirect_uri})
    assert_untrusted_page(response, "invalid_request")


def test_deny_in_an_untampered_consent_form_goes_back_to_the_client(signed_in, public_client):
    params = authorize_params(public_client, Pkce.new(), redirect_uri="http://127.0.0.1:40000/callback")
    form = {k: v for k, v in authorize(signed_in, params).context["form"].initial.items() if v is not None}
    with nothing_stored():
        response = signed_in.post("/oauth/authorize", form)
    assert_error_redirect(response, "access_denied", params["state"], "http://127.0.0.1:40000/callback")


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/cb", "0"])
def test_refused_resource_in_a_tampered_consent_form_never_redirects_elsewhere(
    signed_in, public_client, redirect_uri
):
    params = authorize_params(public_client, Pkce.new())
    form = {k: v for k, v in authorize(signed_in, params).context["form"].initial.items() if v is not None}
    with nothing_stored():
        response = signed_in.post(
            "/oauth/authorize", {**form, "redirect_uri": redirect_uri, "resource": "0", "allow": "true"}
        )
    assert_untrusted_page(response, "invalid_request")
