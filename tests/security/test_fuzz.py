"""Hypothesis fuzzing of every endpoint: form bodies, JSON bodies, headers and query strings.

Each request is built from a valid one with fuzzed fields laid over it (so it gets past the
first check and reaches the deeper ones), or from nothing at all. For every answer: no 5xx,
no error or exception in the logs, and a refused request leaves every table as it was.
Runs against the suite's database: on PostgreSQL, NUL bytes and over-long values reach
constraints SQLite does not have.
"""

import base64
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from tests.conftest import (
    REDIRECT_URI,
    Pkce,
    authorize_params,
    basic_auth,
    make_confidential_client,
    make_public_client,
    make_user,
)
from tests.security.conftest import row_counts

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never fails by chance
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- Strategies ---------------------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "%00",
        "x" * 129,
        "x" * 300,
        "x" * 5000,
        "http://[::1",
        "http://[zz]/cb",
        "https://[::1]:99999/mcp",
        "http://127.0.0.1:53682/callback",
        "http://127.0.0.1:1/callback",
        "https://mcp.example.com/mcp",
        "<script>alert(1)</script>",
        "' OR '1'='1' --",
        '{"a": 1}',
        "🚀\u202e\u0301",
        "openid profile email mcp:tools",
        "S256",
        "plain",
        "code",
        "token",
        "none",
        "consent",
        "login",
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
        "-1",
        "99999999999999999999",
    ]
)
# Long values are repeated short ones: drawing hundreds of characters one by one is slow.
TEXT = st.one_of(st.text(max_size=30), NASTY, st.text(min_size=1, max_size=8).map(lambda text: text * 60))
VALUE = st.one_of(TEXT, st.lists(TEXT, min_size=2, max_size=3))  # repeated parameters too

AUTHORIZE_FIELDS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "resource",
    "prompt",
    "claims",
    "max_age",
    "ui_locales",
    "login_hint",
    "request",
    "request_uri",
    "response_mode",
    "approval_prompt",
    "id_token_hint",
    "allow",
]
TOKEN_FIELDS = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "code_verifier",
    "refresh_token",
    "scope",
    "resource",
    "client_assertion",
    "client_assertion_type",
    "token",
    "token_type_hint",
    "username",
    "password",
    "device_code",
]


def fields(names):
    """Some of these parameters, or any other, with fuzzed values."""
    return st.dictionaries(st.one_of(st.sampled_from(names), st.text(max_size=12)), VALUE, max_size=6)


def dropped(names):
    return st.sets(st.sampled_from(names), max_size=3)


HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)


@st.composite
def authorization_headers(draw):
    kind = draw(st.sampled_from(["none", "basic", "bearer", "raw"]))
    if kind == "none":
        return None
    if kind == "basic":
        user, password = draw(TEXT), draw(TEXT)
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if kind == "bearer":
        return "Bearer " + draw(HEADER_TEXT)
    return draw(HEADER_TEXT)


@st.composite
def headers(draw):
    """Request headers as Django's test client takes them (WSGI environ keys)."""
    chosen = {}
    authorization = draw(authorization_headers())
    if authorization is not None:
        chosen["HTTP_AUTHORIZATION"] = authorization
    for name in draw(
        st.sets(st.sampled_from(["ORIGIN", "X_REQUEST_ID", "ACCEPT_LANGUAGE", "REFERER", "COOKIE", "ACCEPT"]))
    ):
        chosen[f"HTTP_{name}"] = draw(HEADER_TEXT)
    return chosen


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=12,
)
METADATA_FIELDS = [
    "redirect_uris",
    "client_name",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "application_type",
    "scope",
    "jwks",
    "jwks_uri",
    "client_uri",
    "logo_uri",
    "contacts",
    "software_id",
    "client_id",
]
METADATA = st.dictionaries(
    st.one_of(st.sampled_from(METADATA_FIELDS), TEXT),
    st.one_of(JSON, st.lists(TEXT, max_size=3)),
    max_size=5,
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/json",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=nonsense",
        "application/json; charset=latin-1",
    ]
)
RAW_BODY = st.one_of(st.binary(max_size=300), TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")))


# --- The world the requests are made against ------------------------------------------------


class World:
    def __init__(self, client):
        self.client = client
        self.user = make_user()
        self.public = make_public_client()
        self.service = make_confidential_client()
        self.resource_server = make_confidential_client(name="Resource server")
        registration = client.post(
            "/oauth/register",
            json.dumps({"redirect_uris": [REDIRECT_URI], "client_name": "Registered"}),
            content_type="application/json",
        ).json()
        self.registered_id = registration["client_id"]
        self.registration_token = registration["registration_access_token"]
        self.pkce = Pkce.new()
        self.access_token = self.fresh_tokens()[0]

    def fresh_code(self) -> str:
        code = secrets.token_urlsafe(24)
        Grant.objects.create(
            application=self.public,
            user=self.user,
            code=code,
            expires=timezone.now() + timedelta(minutes=1),
            redirect_uri=REDIRECT_URI,
            scope="openid mcp:tools",
            code_challenge=self.pkce.challenge,
            code_challenge_method="S256",
        )
        return code

    def fresh_tokens(self) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        token = AccessToken.objects.create(
            user=self.user,
            application=self.public,
            token=access,
            expires=timezone.now() + timedelta(hours=1),
            scope="openid mcp:tools",
        )
        RefreshToken.objects.create(
            user=self.user, application=self.public, token=refresh, access_token=token
        )
        return access, refresh


@pytest.fixture
def world(client):
    return World(client)


class LogErrors(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def log_errors():
    handler = LogErrors()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def refused(response) -> bool:
    if response.status_code >= 400:
        return True
    location = response.get("Location", "")
    return "error" in parse_qs(urlsplit(location).query)


def send(client, log_errors, method, path, **kwargs):
    """One fuzzed request: never a 5xx or a logged error; a refusal changes no table."""
    before = row_counts()
    log_errors.records.clear()
    response = client.generic(method, path, **kwargs)
    assert response.status_code < 500, (method, path, response.status_code)
    assert not [r for r in log_errors.records if r.exc_info or r.levelno >= logging.ERROR], [
        r.getMessage() for r in log_errors.records
    ]
    if refused(response):
        assert row_counts() == before, (method, path, response.status_code, response.content[:300])
    api = path.startswith(("/oauth/token", "/oauth/register", "/oauth/revoke", "/oauth/introspect"))
    if api and response.status_code in (400, 401) and method != "HEAD":
        # RFC 6749 §5.2 / RFC 7591 §3.2.2 / RFC 7662: errors are JSON (a 405 is plain HTTP).
        assert response["Content-Type"] == "application/json", response.content[:200]
        assert "error" in response.json()
    return response


def encode(params: dict) -> str:
    return urlencode(params, doseq=True, encoding="utf-8", errors="surrogatepass")


def merge(base: dict, overrides: dict, drop: set) -> dict:
    return {k: v for k, v in {**base, **overrides}.items() if k not in drop}


# --- Fuzz tests -------------------------------------------------------------------------


@FUZZ
@given(
    overrides=fields(AUTHORIZE_FIELDS),
    drop=dropped(AUTHORIZE_FIELDS),
    extra=headers(),
    signed_in=st.booleans(),
)
def test_fuzz_authorize_query(world, log_errors, overrides, drop, extra, signed_in):
    client = Client()
    if signed_in:
        client.force_login(world.user)
    params = merge(authorize_params(world.public, world.pkce), overrides, drop)
    response = send(client, log_errors, "GET", "/oauth/authorize?" + encode(params), **extra)
    if response.status_code == 302:
        location = urlsplit(response["Location"])
        # Only the registered callback (any loopback port, RFC 8252 §7.3) or the sign-in page.
        assert (location.hostname in ("127.0.0.1", "localhost", "::1") and location.path == "/callback") or (
            response["Location"].startswith("/accounts/login/")
        ), response["Location"]


@FUZZ
@given(overrides=fields(AUTHORIZE_FIELDS), drop=dropped(AUTHORIZE_FIELDS), query=fields(AUTHORIZE_FIELDS))
def test_fuzz_consent_post(world, log_errors, overrides, drop, query):
    client = Client()
    client.force_login(world.user)
    form = merge(
        {**authorize_params(world.public, world.pkce), "allow": "true"},
        overrides,
        drop,
    )
    response = send(
        client,
        log_errors,
        "POST",
        "/oauth/authorize?" + encode(query),
        data=encode(form),
        content_type="application/x-www-form-urlencoded",
    )
    if response.status_code == 302:
        location = urlsplit(response["Location"])
        assert location.hostname in ("127.0.0.1", "localhost", "::1") and location.path == "/callback"


@FUZZ
@given(
    grant=st.sampled_from(["authorization_code", "refresh_token", "client_credentials", "other"]),
    overrides=fields(TOKEN_FIELDS),
    drop=dropped(TOKEN_FIELDS),
    extra=headers(),
    service_auth=st.booleans(),
)
def test_fuzz_token_form(world, log_errors, grant, overrides, drop, extra, service_auth):
    if grant == "authorization_code":
        base = {
            "grant_type": grant,
            "code": world.fresh_code(),
            "redirect_uri": REDIRECT_URI,
            "client_id": world.public.client_id,
            "code_verifier": world.pkce.verifier,
        }
    elif grant == "refresh_token":
        base = {
            "grant_type": grant,
            "refresh_token": world.fresh_tokens()[1],
            "client_id": world.public.client_id,
        }
    else:
        base = {"grant_type": grant if grant != "other" else "password", "scope": "mcp:tools"}
    if service_auth and "HTTP_AUTHORIZATION" not in extra:
        extra["HTTP_AUTHORIZATION"] = basic_auth(world.service.client_id, world.service.plain_secret)
    body = merge(base, overrides, drop)
    send(
        world.client,
        log_errors,
        "POST",
        "/oauth/token",
        data=encode(body),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )


@FUZZ
@given(
    path=st.sampled_from(
        ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/register", "/oauth/userinfo"]
    ),
    method=st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    body=RAW_BODY,
    content_type=CONTENT_TYPES,
    query=fields(TOKEN_FIELDS),
    extra=headers(),
)
def test_fuzz_raw_bodies_on_api_endpoints(world, log_errors, path, method, body, content_type, query, extra):
    send(
        world.client,
        log_errors,
        method,
        path + ("?" + encode(query) if query else ""),
        data=body,
        content_type=content_type,
        **extra,
    )


@FUZZ
@given(overrides=METADATA, drop=dropped(METADATA_FIELDS), extra=headers())
def test_fuzz_registration_json(world, log_errors, overrides, drop, extra):
    base = {"redirect_uris": [REDIRECT_URI], "client_name": "Fuzzed", "token_endpoint_auth_method": "none"}
    extra.pop("HTTP_AUTHORIZATION", None)  # open registration; the token mode has tests of its own
    body = merge(base, overrides, drop)
    send(
        world.client,
        log_errors,
        "POST",
        "/oauth/register",
        data=json.dumps(body),
        content_type="application/json",
        **extra,
    )


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH"]),
    target=st.one_of(st.just("own"), TEXT),
    token=st.one_of(st.just("own"), st.just("access"), HEADER_TEXT),
    overrides=METADATA,
)
def test_fuzz_client_configuration(world, log_errors, method, target, token, overrides):
    client_id = world.registered_id if target == "own" else target
    bearer = {"own": world.registration_token, "access": world.access_token}.get(token, token)
    body = {"client_id": world.registered_id, "redirect_uris": [REDIRECT_URI], **overrides}
    send(
        world.client,
        log_errors,
        method,
        "/oauth/register/" + quote(client_id, safe=""),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {bearer}",
    )


@FUZZ
@given(
    path=st.sampled_from(["/oauth/revoke", "/oauth/introspect"]),
    method=st.sampled_from(["POST", "GET"]),
    token=st.one_of(st.just("access"), TEXT),
    overrides=fields(["token", "token_type_hint", "client_id", "client_secret", "resource"]),
    auth=st.sampled_from(["resource_server", "public", "fuzz", "bearer"]),
    extra=headers(),
)
def test_fuzz_revoke_and_introspect(world, log_errors, path, method, token, overrides, auth, extra):
    value = world.access_token if token == "access" else token
    params = {"token": value, **overrides}
    if auth == "resource_server":
        extra["HTTP_AUTHORIZATION"] = basic_auth(
            world.resource_server.client_id, world.resource_server.plain_secret
        )
    elif auth == "public":
        params.setdefault("client_id", world.public.client_id)
    elif auth == "bearer":
        extra["HTTP_AUTHORIZATION"] = f"Bearer {world.access_token}"
    if method == "GET":
        send(world.client, log_errors, "GET", f"{path}?{encode(params)}", **extra)
    else:
        send(
            world.client,
            log_errors,
            "POST",
            path,
            data=encode(params),
            content_type="application/x-www-form-urlencoded",
            **extra,
        )


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT"]),
    query=fields(["access_token", "schema", "claims"]),
    form=fields(["access_token", "claims"]),
    bearer=st.one_of(st.just("access"), HEADER_TEXT, st.none()),
    extra=headers(),
)
def test_fuzz_userinfo(world, log_errors, method, query, form, bearer, extra):
    if bearer is not None:
        extra["HTTP_AUTHORIZATION"] = "Bearer " + (world.access_token if bearer == "access" else bearer)
    response = send(
        world.client,
        log_errors,
        method,
        "/oauth/userinfo" + ("?" + encode(query) if query else ""),
        data=encode(form),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )
    if "access_token" in query and method in ("GET", "POST"):
        assert response.status_code == 400  # RFC 6750 §2.3: never from the query string


@FUZZ
@given(
    path=st.one_of(
        st.sampled_from(
            [
                "/oauth/jwks",
                "/.well-known/oauth-authorization-server",
                "/.well-known/openid-configuration",
                "/.well-known/oauth-authorization-server/mcp",
            ]
        ),
        TEXT.map(lambda suffix: "/.well-known/oauth-authorization-server/" + quote(suffix)),
        TEXT.map(lambda suffix: "/.well-known/openid-configuration/" + quote(suffix)),
    ),
    method=st.sampled_from(["GET", "HEAD", "OPTIONS", "POST"]),
    query=fields(["issuer", "kid", "format"]),
    extra=headers(),
)
def test_fuzz_public_documents(world, log_errors, path, method, query, extra):
    send(world.client, log_errors, method, path + ("?" + encode(query) if query else ""), **extra)


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST"]),
    form=fields(["username", "password", "next", "csrfmiddlewaretoken"]),
    query=fields(["next"]),
    extra=headers(),
)
def test_fuzz_login(world, log_errors, method, form, query, extra):
    extra.pop("HTTP_COOKIE", None)
    send(
        Client(),
        log_errors,
        method,
        "/accounts/login/" + ("?" + encode(query) if query else ""),
        data=encode(form),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST"]),
    target=st.one_of(st.just("public"), TEXT),
    form=fields(["client_id", "next"]),
    signed_in=st.booleans(),
)
def test_fuzz_account_apps(world, log_errors, method, target, form, signed_in):
    client = Client()
    if signed_in:
        client.force_login(world.user)
    client_id = world.public.client_id if target == "public" else target
    data = dict(data=encode(form), content_type="application/x-www-form-urlencoded")
    send(client, log_errors, method, "/account/apps/", **data)
    send(client, log_errors, method, f"/account/apps/{quote(client_id, safe='')}/revoke", **data)
