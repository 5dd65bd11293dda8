"""Operations: /healthz, /readyz, /metrics and the request log."""

import json
import logging
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import basic_auth, form_post

pytestmark = pytest.mark.django_db


def test_healthz_is_200_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_checks_database_and_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_readyz_is_503_when_the_database_is_down(client):
    with mock.patch.object(connection, "cursor", side_effect=Exception("connection refused")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "fail", "cache": "ok"}


def test_readyz_is_503_when_the_cache_is_down(client):
    with mock.patch("ops.health.cache.set", side_effect=ConnectionError("redis down")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "fail"


def test_health_endpoints_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def _metric(body: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_refused_outside_the_allowlist(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"authserver_" not in response.content


def test_metrics_with_the_token(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = []
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_metrics_count_requests_tokens_registrations_and_login_failures(client, confidential_client, user):
    before = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(confidential_client.client_id, confidential_client.plain_secret),
    )
    client.post(
        "/oauth/register",
        json.dumps({"client_name": "x", "redirect_uris": ["http://127.0.0.1/cb"]}),
        content_type="application/json",
    )
    client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    after = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()

    def grew(name, **labels):
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert grew("authserver_tokens_issued_total", grant_type="client_credentials") == 1
    assert grew("authserver_client_registrations_total") == 1
    assert grew("authserver_login_failures_total") == 1
    assert (
        grew("authserver_http_requests_total", endpoint="oauth2_provider:token", method="POST", status="200")
        == 1
    )
    assert grew("authserver_http_request_duration_seconds_count", endpoint="oauth2_provider:token") == 1


def test_rate_limited_registrations_are_counted(client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "register": ((1, 60), None)}
    body = json.dumps({"client_name": "x", "redirect_uris": ["http://127.0.0.1/cb"]})
    before = client.get("/metrics").content.decode()
    statuses = [
        client.post(
            "/oauth/register", body, content_type="application/json", REMOTE_ADDR="198.51.100.7"
        ).status_code
        for _ in range(2)
    ]
    assert statuses[-1] == 429
    after = client.get("/metrics").content.decode()
    name, labels = "authserver_rate_limited_total", {"endpoint": "oauth2_provider:dcr-register"}
    assert _metric(after, name, **labels) - _metric(before, name, **labels) == 1


def test_one_log_line_per_request_without_secrets(client, confidential_client, caplog):
    with caplog.at_level(logging.INFO, logger="authserver.requests"):
        response = form_post(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth(confidential_client.client_id, confidential_client.plain_secret),
            HTTP_X_REQUEST_ID="req-123",
        )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-123"
    records = [r for r in caplog.records if r.name == "authserver.requests"]
    assert len(records) == 1
    record = records[0]
    assert record.request_id == "req-123"
    assert record.client_id == confidential_client.client_id
    assert record.endpoint == "oauth2_provider:token"
    assert record.status == 200
    assert record.duration_ms >= 0
    written = json.dumps(record.__dict__, default=str)
    for secret in (confidential_client.plain_secret, response.json()["access_token"]):
        assert secret not in written


def test_json_formatter_writes_one_json_object(settings):
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("authserver.requests", logging.INFO, __file__, 1, "GET x 200", None, None)
    record.request_id, record.client_id, record.status = "abc", "cid", 200
    formatter_config = settings.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(formatter_config["fmt"], rename_fields=formatter_config["rename_fields"])
    line = formatter.format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "GET x 200"
    assert data["request_id"] == "abc"
    assert data["client_id"] == "cid"
    assert data["level"] == "INFO"


def test_invalid_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize(("debug", "formatter"), [("false", "json"), ("true", "plain")])
def test_logs_are_json_unless_debug(debug, formatter):
    from tests.authserver.test_settings import PRODUCTION_ENV, load_setting

    result = load_setting("LOGGING['handlers']['console']['formatter']", **{**PRODUCTION_ENV, "DEBUG": debug})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == formatter


def test_metrics_add_up_gunicorn_workers_in_multiprocess_mode(tmp_path):
    from tests.authserver.test_settings import PRODUCTION_ENV, run

    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "c.get('/healthz', HTTP_HOST='auth.example.com')\n"
        "print(c.get('/metrics', HTTP_HOST='auth.example.com', REMOTE_ADDR='127.0.0.1').content.decode())\n"
    )
    result = run(["-c", script], **{**PRODUCTION_ENV, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'authserver_http_requests_total{endpoint="healthz",method="GET",status="200"} 1.0' in result.stdout
    assert list(tmp_path.glob("*.db"))  # counts live in the shared directory


def test_gunicorn_empties_the_metrics_directory_on_start(tmp_path, monkeypatch):
    import runpy

    (tmp_path / "counter_123.db").write_bytes(b"old")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    conf["on_starting"](server=None)
    assert not list(tmp_path.glob("*.db"))
    assert "child_exit" in conf
