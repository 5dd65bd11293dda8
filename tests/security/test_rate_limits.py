"""Rate limits (ops/ratelimits.py): generous enough for a hosted MCP client's shared
egress address, tight enough that a flood from one address gets 429 + Retry-After."""

import json
from ipaddress import ip_network
from types import SimpleNamespace

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from prometheus_client import REGISTRY

from tests.conftest import (
    REDIRECT_URI,
    Pkce,
    authorize_params,
    basic_auth,
    consent,
    form_post,
    make_confidential_client,
    make_user,
    redirect_query,
)

pytestmark = pytest.mark.django_db

SHARED = "203.0.113.50"  # one hosted client's egress address, for all of its users


def register(http, **extra):
    body = {
        "client_name": "Hosted MCP client",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }
    return http.post("/oauth/register", json.dumps(body), content_type="application/json", **extra)


def bad_token_request(http, **extra):
    # No client credentials: 401 invalid_client, until the limit answers 429 instead.
    return form_post(http, "/oauth/token", {"grant_type": "authorization_code", "code": "nope"}, **extra)


def limit(settings, endpoint: str, per_address=None, per_client=None):
    settings.RATELIMITS = {**settings.RATELIMITS, endpoint: (per_address, per_client)}


def rate_limited_count(endpoint: str) -> float:
    return REGISTRY.get_sample_value("authserver_rate_limited_total", {"endpoint": endpoint}) or 0.0


def test_fifty_users_of_one_shared_address_register_and_exchange_codes_without_429(db):
    """claude.ai calls from one range for all of its users and registers a client per
    connection: 50 users connecting at once, on the default limits, all get their tokens."""
    http = HttpClient(REMOTE_ADDR=SHARED)
    statuses = []
    clients = []
    for _ in range(50):
        response = register(http)
        statuses.append(response.status_code)
        clients.append(response.json()["client_id"])
    for number, client_id in enumerate(clients):
        browser = HttpClient(REMOTE_ADDR=SHARED)
        browser.force_login(make_user(f"user{number}"))
        pkce = Pkce.new()
        app = SimpleNamespace(client_id=client_id)
        answer = consent(browser, authorize_params(app, pkce))
        statuses.append(answer.status_code)
        code = redirect_query(answer)["code"]
        token = form_post(
            http,
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                "code_verifier": pkce.verifier,
            },
        )
        statuses.append(token.status_code)
        assert "access_token" in token.json()
    assert 429 not in statuses
    assert statuses.count(201) == 50 and statuses.count(200) == 50


def test_flood_from_one_address_gets_429_json_with_retry_after(client, settings):
    limit(settings, "token", per_address=(5, 60))
    before = rate_limited_count("oauth2_provider:token")
    statuses = [bad_token_request(client, REMOTE_ADDR="198.51.100.9").status_code for _ in range(5)]
    assert statuses == [401] * 5
    refused = bad_token_request(client, REMOTE_ADDR="198.51.100.9")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["error"] == "slow_down"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Cache-Control"] == "no-store"
    assert rate_limited_count("oauth2_provider:token") - before == 1
    # Another address is not affected.
    assert bad_token_request(client, REMOTE_ADDR="198.51.100.10").status_code == 401


def test_default_registration_limit_stops_a_flood(client, monkeypatch):
    """The default per-address registration limit (60 in 10 s) holds against a flood."""
    # All inside one window: 61 registrations can take longer than what is left of one.
    monkeypatch.setattr("ops.ratelimits.clock", lambda: 1_800_000_005.0)
    statuses = [register(client, REMOTE_ADDR="198.51.100.20").status_code for _ in range(61)]
    assert statuses[:60] == [201] * 60
    assert statuses[60] == 429
    assert register(client, REMOTE_ADDR="198.51.100.20").json()["error"] == "slow_down"


@pytest.mark.parametrize("endpoint", ["introspect", "revoke"])
def test_introspection_and_revocation_are_limited(client, settings, endpoint):
    limit(settings, endpoint, per_address=(2, 60))
    path = reverse(f"oauth2_provider:{'introspect' if endpoint == 'introspect' else 'revoke-token'}")
    statuses = [form_post(client, path, {"token": "x"}).status_code for _ in range(3)]
    assert 429 not in statuses[:2] and statuses[2] == 429


@pytest.mark.django_db
def test_userinfo_is_limited_per_address_whatever_bearer_strings_are_sent(client, settings):
    limit(settings, "userinfo", per_address=(3, 60))
    statuses = [
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer made-up-{n}", REMOTE_ADDR="198.51.100.30")
        for n in range(4)
    ]
    assert [response.status_code for response in statuses[:3]] == [401] * 3
    assert statuses[3].status_code == 429
    assert statuses[3].json()["error"] == "slow_down"
    assert int(statuses[3]["Retry-After"]) >= 1
    # Another address is counted on its own.
    other = client.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer x", REMOTE_ADDR="198.51.100.31")
    assert other.status_code == 401


def test_pages_answer_429_with_a_page(client, settings):
    limit(settings, "authorize", per_address=(2, 60))
    for _ in range(2):
        assert client.get("/oauth/authorize?client_id=unknown").status_code != 429
    refused = client.get("/oauth/authorize?client_id=unknown")
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")
    assert int(refused["Retry-After"]) >= 1
    assert "Too many requests" in refused.content.decode()
    assert "Content-Security-Policy" in refused


def test_sign_in_posts_are_limited_per_address(client, settings):
    limit(settings, "login", per_address=(3, 60))
    form = {"username": "nobody", "password": "wrong"}
    statuses = [client.post("/accounts/login/", {**form, "username": f"u{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Too many requests" in client.post("/accounts/login/", form).content.decode()
    assert client.get("/accounts/login/").status_code == 200  # showing the page is not counted


def test_forwarded_for_from_an_untrusted_peer_is_ignored(client, settings):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    limit(settings, "token", per_address=(2, 60))
    statuses = [
        bad_token_request(
            client, REMOTE_ADDR="198.51.100.30", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}"
        ).status_code
        for i in range(3)
    ]
    # A new X-Forwarded-For per request does not make a new client.
    assert statuses == [401, 401, 429]


def test_forwarded_for_from_a_trusted_proxy_is_honoured(client, settings):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    limit(settings, "token", per_address=(2, 60))
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # The rightmost address that is not a trusted proxy is the client; what the client
    # wrote further left is not believed.
    first = [
        bad_token_request(client, **proxy, HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 192.0.2.1, 10.0.0.7").status_code
        for i in range(3)
    ]
    assert first == [401, 401, 429]
    # Another client behind the same proxy has its own limit.
    assert bad_token_request(client, **proxy, HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 401


def test_a_known_client_is_counted_on_its_own(client, settings):
    limit(settings, "token", per_address=(100, 60), per_client=(2, 60))
    busy = make_confidential_client(name="busy")
    quiet = make_confidential_client(name="quiet")

    def token(app):
        return form_post(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth(app.client_id, app.plain_secret),
            REMOTE_ADDR=SHARED,
        ).status_code

    assert [token(busy) for _ in range(3)] == [200, 200, 429]
    assert token(quiet) == 200  # same address, another client: not throttled


def test_trusted_ranges_get_their_limits_multiplied(client, settings):
    settings.RATELIMIT_TRUSTED_RANGES = [ip_network("203.0.113.0/24")]
    settings.RATELIMIT_TRUSTED_FACTOR = 3
    limit(settings, "token", per_address=(2, 60))
    trusted = [bad_token_request(client, REMOTE_ADDR=SHARED).status_code for _ in range(7)]
    assert trusted == [401] * 6 + [429]
    other = [bad_token_request(client, REMOTE_ADDR="198.51.100.40").status_code for _ in range(3)]
    assert other == [401, 401, 429]


def test_limits_can_be_turned_off(client, settings):
    settings.RATELIMIT_ENABLED = False
    limit(settings, "token", per_address=(1, 60))
    assert {bad_token_request(client).status_code for _ in range(3)} == {401}


def test_in_process_cache_counts_too(client, settings):
    """Without REDIS_URL the limits count in the local-memory cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    limit(settings, "token", per_address=(2, 60))
    assert [bad_token_request(client).status_code for _ in range(3)] == [401, 401, 429]


def test_an_unreachable_cache_lets_requests_through(client, settings, caplog):
    """Redis down: the limits are skipped (and logged), never a 500 on every request."""
    settings.CACHES = {
        "default": {"BACKEND": "ops.redis_cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    limit(settings, "login", per_address=(1, 60))
    statuses = [
        client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    assert "rate limits skipped" in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("60/10s", "(60, 10)"), ("120/m", "(120, 60)"), ("5/15m", "(5, 900)"), ("0", "None")],
)
def test_limits_are_read_from_the_environment(value, expected):
    from tests.authserver.test_settings import load_setting

    result = load_setting("RATELIMITS['token'][0]", DEBUG="true", RATELIMIT_TOKEN=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_malformed_limit_is_refused_at_start_up():
    from tests.authserver.test_settings import load_setting

    result = load_setting("RATELIMITS", DEBUG="true", RATELIMIT_REGISTER="lots")
    assert result.returncode != 0
    assert "RATELIMIT_REGISTER" in result.stderr
