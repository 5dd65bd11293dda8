"""Defects found in review, each checked through the real endpoint."""

import json
import logging
import re
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_access_token_model, get_application_model

from oauth.validator import checksum
from oauth_clients.assertions import ASSERTION_TYPE
from tests.conftest import (
    Pkce,
    authorize_params,
    basic_auth,
    consent,
    form_post,
    make_confidential_client,
    make_public_client,
    redirect_query,
)

AccessToken = get_access_token_model()

pytestmark = pytest.mark.django_db


def authorize(client, app, **overrides):
    return client.get("/oauth/authorize?" + urlencode(authorize_params(app, Pkce.new(), **overrides)))


# --- 1. prompt=none with openid -----------------------------------------------------


def test_prompt_none_with_openid_and_no_session_is_login_required(client, public_client):
    query = redirect_query(
        authorize(client, public_client, scope="openid mcp:tools", prompt="none", state="s1")
    )
    assert query["error"] == "login_required"
    assert query["state"] == "s1"
    assert query["iss"]


def test_prompt_none_with_openid_and_no_consent_is_consent_required(client, user, public_client):
    client.force_login(user)
    query = redirect_query(
        authorize(client, public_client, scope="openid mcp:tools", prompt="none", state="s2")
    )
    assert query["error"] == "consent_required"
    assert query["state"] == "s2"
    assert query["iss"]


def test_prompt_none_without_openid_and_no_session_is_login_required(client, public_client):
    query = redirect_query(authorize(client, public_client, scope="mcp:tools", prompt="none", state="s3"))
    assert query["error"] == "login_required"
    assert query["state"] == "s3"
    assert query["iss"]


def test_prompt_none_with_openid_and_remembered_consent_issues_a_code(client, user, public_client):
    client.force_login(user)
    redirect_query(consent(client, authorize_params(public_client, Pkce.new(), scope="openid mcp:tools")))
    query = redirect_query(
        authorize(client, public_client, scope="openid mcp:tools", prompt="none", state="s4")
    )
    assert query["code"]
    assert query["state"] == "s4"


# --- 2. no token, code or secret from a URL in the log ------------------------------


def _written(caplog) -> str:
    """Every captured record as the configured console handler writes it."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "formatter", None) and h.filters)
    lines = []
    for record in caplog.records:
        if handler.filter(record):
            lines.append(handler.format(record))
    return "\n".join(lines)


def test_token_in_userinfo_query_is_not_logged(client, caplog, settings):
    with caplog.at_level(logging.DEBUG):
        response = client.get("/oauth/userinfo?access_token=SECRET-AT-123&refresh_token=SECRET-RT-456")
    assert response.status_code == 400
    written = _written(caplog)
    assert "oauth/userinfo" in written
    assert "SECRET-AT-123" not in written and "SECRET-RT-456" not in written


def test_authorization_code_in_redirect_is_not_logged(client, user, public_client, caplog):
    client.force_login(user)
    with caplog.at_level(logging.DEBUG):
        params = authorize_params(public_client, Pkce.new(), scope="mcp:tools")
        code = redirect_query(consent(client, params))["code"]
        # A client (or a browser extension) that sends the code back in a URL.
        client.get("/oauth/authorize?" + urlencode({**params, "code": code, "client_secret": "SECRET-CS"}))
    written = _written(caplog)
    assert "oauth2_provider:authorize" in written
    assert code not in written and "SECRET-CS" not in written


def test_runserver_request_line_is_redacted(caplog):
    # django.core.servers.basehttp.WSGIRequestHandler.log_message's shape for a 4xx.
    with caplog.at_level(logging.INFO):
        logging.getLogger("django.server").warning(
            '"%s" %s %s',
            "GET /oauth/introspect?token=SECRET-T-1&id_token_hint=SECRET-H-2 HTTP/1.1",
            "405",
            "0",
        )
    written = _written(caplog)
    assert "/oauth/introspect?token=[redacted]&id_token_hint=[redacted]" in written
    assert "SECRET-T-1" not in written and "SECRET-H-2" not in written


def test_gunicorn_access_log_writes_no_query_or_referer():
    from datetime import timedelta
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    conf = {}
    exec((Path(__file__).parents[2] / "gunicorn.conf.py").read_text(), conf)  # noqa: S102 (our own config)
    config = Config()
    config.set("access_log_format", conf["access_log_format"])
    logger = Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/oauth/userinfo?access_token=SECRET-AT-9",
        "PATH_INFO": "/oauth/userinfo",
        "QUERY_STRING": "access_token=SECRET-AT-9",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.5",
        "HTTP_REFERER": "https://app.example.com/cb?code=SECRET-CODE-9",
        "HTTP_USER_AGENT": "probe",
    }
    response = SimpleNamespace(status="400 Bad Request", sent=10, headers=[])
    atoms = logger.atoms_wrapper_class(
        logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    )
    line = conf["access_log_format"] % atoms
    assert '"GET /oauth/userinfo HTTP/1.1" 400' in line
    assert "SECRET" not in line


# --- 3. introspection by POST only (RFC 7662 §2.1) ----------------------------------


@pytest.mark.parametrize("authenticated", [True, False])
def test_introspection_by_get_is_405_json(client, tokens, public_client, authenticated):
    access = tokens(public_client)["access_token"]
    rs = make_confidential_client(name="MCP server")
    headers = {"HTTP_AUTHORIZATION": basic_auth(rs.client_id, rs.plain_secret)} if authenticated else {}
    response = client.get("/oauth/introspect?" + urlencode({"token": access}), **headers)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"
    assert "active" not in response.json()
    # POST still answers.
    posted = form_post(client, "/oauth/introspect", {"token": access}, **headers)
    assert posted.status_code == (200 if authenticated else 401)


# --- 4. a deactivated user's tokens stop working -------------------------------------


@pytest.fixture(params=["jwt", "opaque"])
def deactivated(request, settings, tokens, public_client, user):
    """Tokens issued to `user`, who is then deactivated by an admin."""
    settings.ACCESS_TOKEN_FORMAT = request.param
    issued = tokens(public_client)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return issued


def test_deactivated_users_refresh_token_is_invalid_grant(client, deactivated, public_client):
    body = {
        "grant_type": "refresh_token",
        "refresh_token": deactivated["refresh_token"],
        "client_id": public_client.client_id,
    }
    response = form_post(client, "/oauth/token", body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()


def test_deactivated_users_access_token_is_inactive_at_introspection(client, deactivated):
    rs = make_confidential_client(name="MCP server")
    response = form_post(
        client,
        "/oauth/introspect",
        {"token": deactivated["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(rs.client_id, rs.plain_secret),
    )
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_deactivated_users_access_token_is_refused_at_userinfo(client, deactivated):
    response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {deactivated['access_token']}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_active_users_tokens_still_work(client, settings, tokens, public_client, user):
    # The other side of the tests above: the same calls succeed while the user is active.
    issued = tokens(public_client)
    rs = make_confidential_client(name="MCP server")
    auth = basic_auth(rs.client_id, rs.plain_secret)
    assert form_post(client, "/oauth/introspect", {"token": issued["access_token"]},
                     HTTP_AUTHORIZATION=auth).json()["active"] is True  # fmt: skip
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}").status_code
        == 200
    )
    body = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": public_client.client_id,
    }
    assert form_post(client, "/oauth/token", body).status_code == 200


def test_code_of_a_user_deactivated_before_the_exchange_is_invalid_grant(
    issue_code, exchange, public_client, user
):
    code, pkce, _ = issue_code(public_client)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = exchange(public_client, code, pkce)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# --- 5. discovery metadata says what the endpoints do --------------------------------


def _metadata(client) -> dict:
    return client.get("/.well-known/oauth-authorization-server").json()


@pytest.fixture
def auth_clients(db):
    """One client for each way of authenticating, keyed by RFC 7591 method name."""
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="svc-1")
    signed = make_confidential_client(
        name="assertion service",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [json.loads(key.export_public())]},
    )
    signed.key = key
    secret = make_confidential_client()
    return {
        "client_secret_basic": secret,
        "client_secret_post": secret,
        "private_key_jwt": signed,
        "none": make_public_client(name="public"),
    }


def _present(method: str, app, settings) -> tuple[dict, dict]:
    """The body fields and headers with which `app` authenticates by `method`."""
    if method == "client_secret_basic":
        return {}, {"HTTP_AUTHORIZATION": basic_auth(app.client_id, app.plain_secret)}
    if method == "client_secret_post":
        return {"client_id": app.client_id, "client_secret": app.plain_secret}, {}
    if method == "none":
        return {"client_id": app.client_id}, {}
    if method == "private_key_jwt":
        now = int(time.time())
        claims = {"iss": app.client_id, "sub": app.client_id, "aud": f"{settings.ISSUER}/oauth/token",
                  "iat": now, "exp": now + 60, "jti": secrets.token_hex(8)}  # fmt: skip
        token = jwt.JWT(header={"alg": "ES256", "kid": app.key.get("kid")}, claims=claims)
        token.make_signed_token(app.key)
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token.serialize()}, {}
    raise AssertionError(f"metadata advertises {method!r}, which no test knows how to use")


def _token_for(method, app, client, tokens, settings) -> str:
    if method == "none":
        return tokens(app)["access_token"]
    body, headers = _present(method, app, settings)
    response = form_post(client, "/oauth/token", {"grant_type": "client_credentials", **body}, **headers)
    assert response.status_code == 200, (method, response.content)
    return response.json()["access_token"]


@pytest.mark.parametrize("cimd_enabled", [True, False])
def test_every_advertised_token_and_revocation_method_works(
    client, settings, auth_clients, tokens, user, cimd_enabled
):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_ENABLED": cimd_enabled}
    document = _metadata(client)
    # The methods clients use here must be advertised (registration accepts all four).
    assert set(document["token_endpoint_auth_methods_supported"]) == set(auth_clients)
    assert set(document["revocation_endpoint_auth_methods_supported"]) == set(auth_clients)
    for method in document["token_endpoint_auth_methods_supported"]:
        _token_for(method, auth_clients[method], client, tokens, settings)
    for method in document["revocation_endpoint_auth_methods_supported"]:
        app = auth_clients[method]
        access = _token_for(method, app, client, tokens, settings)
        body, headers = _present(method, app, settings)
        response = form_post(client, "/oauth/revoke", {"token": access, **body}, **headers)
        assert response.status_code == 200, (method, response.content)
        assert not AccessToken.objects.filter(token_checksum=checksum(access)).exists(), method


def test_every_advertised_introspection_method_works(client, settings, auth_clients, tokens, user):
    document = _metadata(client)
    access = tokens(auth_clients["none"])["access_token"]
    for method in document["introspection_endpoint_auth_methods_supported"]:
        body, headers = _present(method, auth_clients[method], settings)
        response = form_post(client, "/oauth/introspect", {"token": access, **body}, **headers)
        assert response.status_code == 200, (method, response.content)
        assert response.json()["active"] is True, method
    # And the methods left out are refused there.
    for method in set(auth_clients) - set(document["introspection_endpoint_auth_methods_supported"]):
        body, headers = _present(method, auth_clients[method], settings)
        assert form_post(client, "/oauth/introspect", {"token": access, **body}, **headers).status_code == 401


def test_prompt_values_are_those_the_authorization_endpoint_honours(client, user, public_client):
    advertised = set(_metadata(client)["prompt_values_supported"])
    assert advertised == {"none", "login", "consent"}
    client.force_login(user)
    redirect_query(consent(client, authorize_params(public_client, Pkce.new(), scope="mcp:tools")))
    # consent: a remembered consent is asked again.
    assert authorize(client, public_client, scope="mcp:tools").status_code == 302
    page = authorize(client, public_client, scope="mcp:tools", prompt="consent")
    assert page.status_code == 200 and b'id="authorizationForm"' in page.content
    # login: the session is ended and the login page asked for.
    login = authorize(client, public_client, scope="mcp:tools", prompt="login")
    assert login.status_code == 302 and login["Location"].startswith("/accounts/login/")
    # none: answered without a page (a code here, from the remembered consent).
    assert "code" in redirect_query(authorize(client, public_client, scope="mcp:tools", prompt="none"))


@pytest.mark.parametrize("response_mode", ["fragment", "form_post", "query"])
def test_authorization_response_comes_in_the_advertised_query_mode(
    client, user, public_client, response_mode
):
    assert _metadata(client)["response_modes_supported"] == ["query"]
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), scope="mcp:tools", response_mode=response_mode)
    location = consent(client, params)["Location"]
    assert "#" not in location
    query = redirect_query(consent(client, {**params, "prompt": "consent"}))
    assert query["code"] and query["iss"] and query["state"] == params["state"]
    # An error answer too (here: the user denies).
    denied = client.post("/oauth/authorize?" + urlencode(params), {**_form(client, params)})
    assert "#" not in denied["Location"] and redirect_query(denied)["error"] == "access_denied"


def _form(client, params) -> dict:
    page = client.get("/oauth/authorize?" + urlencode({**params, "prompt": "consent"}))
    return {k: v for k, v in page.context["form"].initial.items() if v is not None}


# --- 6. the proxy examples keep /metrics private ------------------------------------

PROXY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy-behind-a-proxy.md"


def _fenced(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", PROXY_DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1, language
    return blocks[0]


def test_caddy_example_refuses_metrics_before_proxying():
    lines = [line.split("#")[0].strip() for line in _fenced("caddy").splitlines()]
    lines = [line for line in lines if line]
    block = next(
        i for i, line in enumerate(lines) if re.fullmatch(r"(respond|error) /metrics (403|404)", line)
    )
    assert block < next(i for i, line in enumerate(lines) if line.startswith("reverse_proxy"))


def test_nginx_example_refuses_metrics():
    assert re.search(r"location = /metrics \{\s*(deny all|return 40[34]);\s*\}", _fenced("nginx"))


def test_metrics_allowlist_trusts_the_local_proxy_by_default(client, settings):
    # Why the proxy must refuse /metrics: through it every caller has the proxy's address.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert "METRICS_TOKEN" in PROXY_DOC.read_text()


# --- 7. RFC 7592 updates follow the registration policy ------------------------------

Client = get_application_model()
CALLBACK = "http://127.0.0.1:43210/callback"
ROW_FIELDS = (
    "redirect_uris",
    "authorization_grant_type",
    "client_type",
    "client_secret",
    "name",
    "allowed_scopes",
    "token_endpoint_auth_method",
    "jwks",
)


def _register(client, **metadata) -> dict:
    body = {"client_name": "Editor", "redirect_uris": [CALLBACK], **metadata}
    response = client.post("/oauth/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def _put(client, registered: dict, body: dict, content_type="application/json"):
    return client.put(
        f"/oauth/register/{registered['client_id']}",
        json.dumps(body),
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {registered['registration_access_token']}",
    )


def _row(client_id: str) -> dict:
    return Client.objects.filter(client_id=client_id).values(*ROW_FIELDS).get()


BAD_UPDATES = [
    pytest.param(
        {"redirect_uris": ["http://app.example.com/cb"]}, "invalid_redirect_uri", id="http-not-loopback"
    ),
    pytest.param(
        {"redirect_uris": ["https://app.example.com/cb#frag"]}, "invalid_redirect_uri", id="fragment"
    ),
    pytest.param({"redirect_uris": ["https://*.example.com/cb"]}, "invalid_redirect_uri", id="wildcard"),
    pytest.param({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", id="javascript-scheme"),
    pytest.param({"redirect_uris": ["evilapp://cb"]}, "invalid_redirect_uri", id="unlisted-custom-scheme"),
    pytest.param({"redirect_uris": []}, "invalid_redirect_uri", id="no-redirect-uri"),
    pytest.param(
        {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"},
        "invalid_client_metadata",
        id="client-credentials-when-off",
    ),
    pytest.param({"grant_types": ["implicit"]}, "invalid_client_metadata", id="implicit"),
    pytest.param({"grant_types": ["password"]}, "invalid_client_metadata", id="password"),
    pytest.param({"response_types": ["token"]}, "invalid_client_metadata", id="token-response-type"),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata", id="secret-jwt"
    ),
    pytest.param(
        {"token_endpoint_auth_method": "client_secret_basic"},
        "invalid_client_metadata",
        id="public-to-secret",
    ),
    pytest.param({"client_id": "someone-else"}, "invalid_client_metadata", id="other-client-id"),
    pytest.param({"client_name": "x" * 500}, "invalid_client_metadata", id="long-name"),
]


@pytest.mark.parametrize(("change", "error"), BAD_UPDATES)
def test_update_refused_by_the_registration_policy_changes_nothing(client, settings, change, error):
    settings.DCR_ALLOW_CLIENT_CREDENTIALS = False
    registered = _register(client, scope="mcp:tools")
    before = _row(registered["client_id"])
    body = {
        "client_id": registered["client_id"],
        "client_name": "Editor",
        "redirect_uris": [CALLBACK],
        **change,
    }
    response = _put(client, registered, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == error
    assert _row(registered["client_id"]) == before
    # The registration access token still opens the configuration endpoint.
    assert (
        client.get(
            f"/oauth/register/{registered['client_id']}",
            HTTP_AUTHORIZATION=f"Bearer {registered['registration_access_token']}",
        ).status_code
        == 200
    )


def test_update_cannot_grant_the_introspection_scope(client):
    registered = _register(client, scope="mcp:tools")
    body = {"client_name": "Editor", "redirect_uris": [CALLBACK], "scope": "introspection mcp:tools"}
    response = _put(client, registered, body)
    assert response.status_code == 200, response.content
    assert "introspection" not in response.json()["scope"].split()
    assert "introspection" not in _row(registered["client_id"])["allowed_scopes"].split()


def test_update_within_the_policy_changes_the_row(client, user, settings):
    registered = _register(client, scope="mcp:tools")
    new_callback = "http://localhost:50123/cb"
    body = {
        "client_id": registered["client_id"],
        "client_name": "Editor 2",
        "redirect_uris": [new_callback],
        "scope": "openid mcp:resources",
    }
    response = _put(client, registered, body)
    assert response.status_code == 200, response.content
    echoed = response.json()
    assert echoed["redirect_uris"] == [new_callback]
    assert echoed["scope"] == "openid mcp:resources"
    assert echoed["token_endpoint_auth_method"] == "none"
    row = _row(registered["client_id"])
    assert row["redirect_uris"] == new_callback
    assert row["name"] == "Editor 2"
    assert row["allowed_scopes"] == "openid mcp:resources"
    assert row["client_type"] == "public" and row["token_endpoint_auth_method"] == "none"
    # The authorization endpoint sees the new callback (not a cached copy of the old one).
    client.force_login(user)
    app = Client.objects.get(client_id=registered["client_id"])
    page = client.get(
        "/oauth/authorize?"
        + urlencode(authorize_params(app, Pkce.new(), redirect_uri=new_callback, scope="mcp:resources"))
    )
    assert page.status_code == 200, page.content[:300]


def test_secret_client_may_switch_between_secret_methods(client):
    registered = _register(client, token_endpoint_auth_method="client_secret_basic")
    body = {
        "client_name": "Editor",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "client_secret_post",
    }
    response = _put(client, registered, body)
    assert response.status_code == 200, response.content
    assert response.json()["token_endpoint_auth_method"] == "client_secret_post"
    row = _row(registered["client_id"])
    assert row["client_type"] == "confidential" and row["token_endpoint_auth_method"] == "client_secret_post"


def test_update_needs_a_json_body(client):
    registered = _register(client)
    before = _row(registered["client_id"])
    response = _put(client, registered, {"client_name": "x"}, content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert _row(registered["client_id"]) == before


def test_key_client_update_replaces_its_keys_and_must_keep_some(client):
    old_key, new_key = (jwk.JWK.generate(kty="EC", crv="P-256", kid=kid) for kid in ("k-old", "k-new"))
    keys = {"keys": [json.loads(old_key.export_public())]}
    registered = _register(client, token_endpoint_auth_method="private_key_jwt", jwks=keys)
    body = {"client_name": "Editor", "redirect_uris": [CALLBACK]}
    before = _row(registered["client_id"])
    refused = _put(client, registered, body)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata"
    assert _row(registered["client_id"]) == before
    new_keys = {"keys": [json.loads(new_key.export_public())]}
    response = _put(client, registered, {**body, "jwks": new_keys})
    assert response.status_code == 200, response.content
    assert response.json()["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in response.json()
    assert _row(registered["client_id"])["jwks"] == new_keys


def test_request_objects_are_not_advertised(client):
    # OpenID Connect Discovery §3 reads an absent request_uri_parameter_supported as true.
    document = client.get("/.well-known/openid-configuration").json()
    assert document["request_uri_parameter_supported"] is False
    assert document.get("request_parameter_supported", False) is False


@pytest.mark.parametrize("method", ["client_secret_post", "private_key_jwt", "none"])
def test_configuration_read_says_what_was_registered(client, method):
    extra = {"token_endpoint_auth_method": method, "scope": "mcp:tools"}
    if method == "private_key_jwt":
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        extra["jwks"] = {"keys": [json.loads(key.export_public())]}
    registered = _register(client, **extra)
    response = client.get(
        f"/oauth/register/{registered['client_id']}",
        HTTP_AUTHORIZATION=f"Bearer {registered['registration_access_token']}",
    )
    assert response.status_code == 200
    read = response.json()
    assert read["token_endpoint_auth_method"] == method
    assert read["scope"] == "mcp:tools"
    assert read.get("jwks") == extra.get("jwks")
    assert "client_secret" not in read


def test_redacting_filter_never_raises_on_a_broken_record():
    from ops.request_log import RedactSecretsFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("only one",), None)
    assert RedactSecretsFilter().filter(record) is True
