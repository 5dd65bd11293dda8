"""Start-up policy from the environment, checked in a fresh interpreter each time."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-key-for-the-deploy-check-0123456789",
    "ISSUER": "https://auth.example.com",
    "ALLOWED_HOSTS": "auth.example.com",
}


def run(args, **env):
    full_env = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    full_env.update(env)
    full_env["DJANGO_SETTINGS_MODULE"] = "authserver.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def load_setting(name, **env):
    return run(
        ["-c", f"import django; django.setup(); from django.conf import settings; print(settings.{name})"],
        **env,
    )


def test_http_issuer_outside_loopback_is_refused_when_debug_is_off():
    result = load_setting("ISSUER", **{**PRODUCTION_ENV, "ISSUER": "http://auth.example.com"})
    assert result.returncode != 0
    assert "ISSUER must use https" in result.stderr


def test_http_loopback_issuer_is_allowed_when_debug_is_off():
    result = load_setting("ISSUER", **{**PRODUCTION_ENV, "ISSUER": "http://127.0.0.1:8000"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8000"


def test_missing_secret_key_is_refused_when_debug_is_off():
    env = {**PRODUCTION_ENV}
    del env["SECRET_KEY"]
    result = load_setting("SECRET_KEY", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_trailing_slash_is_dropped_from_issuer():
    result = load_setting("ISSUER", **{**PRODUCTION_ENV, "ISSUER": "https://auth.example.com/"})
    assert result.stdout.strip() == "https://auth.example.com"


def test_https_issuer_turns_on_secure_cookies_hsts_and_proxy_header():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )
    result = run(["-c", code], **PRODUCTION_ENV)
    assert result.stdout.split() == ["True", "True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"]


@pytest.mark.parametrize("value", ['["not", "an", "object"]', '{"a": 1}'])
def test_scopes_must_be_a_json_object_of_descriptions(value):
    result = load_setting("SCOPES", **{**PRODUCTION_ENV, "SCOPES": value})
    assert result.returncode != 0
    assert "SCOPES must be a JSON object" in result.stderr


def test_default_scopes_must_be_configured_scopes():
    result = load_setting("SCOPES", **{**PRODUCTION_ENV, "DEFAULT_SCOPES": "openid,nope"})
    assert result.returncode != 0
    assert "DEFAULT_SCOPES not in SCOPES" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ACCESS_TOKEN_FORMAT", "macaroon", "ACCESS_TOKEN_FORMAT must be 'jwt' or 'opaque'"),
        ("ACCESS_TOKEN_SIGNING_ALG", "HS256", "ACCESS_TOKEN_SIGNING_ALG must be 'ES256' or 'RS256'"),
        ("KEY_ACTIVATION_DELAY", "-1", "KEY_ACTIVATION_DELAY must be 0 or more"),
        ("AUDIT_RETENTION_DAYS", "0", "AUDIT_RETENTION_DAYS must be 1 or more days"),
    ],
)
def test_token_signing_settings_are_checked(name, value, message):
    result = load_setting(name, **{**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_legacy_oidc_key_file_is_read_but_never_created(tmp_path):
    missing = tmp_path / "oidc-rsa.pem"
    result = load_setting("OIDC_RSA_PRIVATE_KEY", **PRODUCTION_ENV, OIDC_RSA_PRIVATE_KEY_FILE=str(missing))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
    assert not missing.exists()
    missing.write_text("-----BEGIN PRIVATE KEY-----\nlegacy\n")
    result = load_setting("OIDC_RSA_PRIVATE_KEY", **PRODUCTION_ENV, OIDC_RSA_PRIVATE_KEY_FILE=str(missing))
    assert "legacy" in result.stdout


def test_deploy_check_passes_with_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_migrations_are_committed():
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"], DEBUG="true")
    assert result.returncode == 0, result.stdout + result.stderr
