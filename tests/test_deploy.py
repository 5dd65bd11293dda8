"""Dockerfile and docker-compose.yml parse and agree with the settings (no Docker engine here)."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.urls import resolve

from tests.test_docs import readme_table_variables

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = (ROOT / "gunicorn.conf.py").read_text()


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def default_port() -> int:
    bind = re.search(r'"GUNICORN_BIND", "([^"]+)"', GUNICORN_CONF).group(1)
    return int(bind.rsplit(":", 1)[1])


def test_dockerfile_is_multi_stage_slim_and_non_root():
    instructions = dockerfile_instructions()
    stages = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(stages) >= 2
    assert all(stage.startswith("python:3.11-slim") for stage in stages)
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(keyword == "RUN" and "collectstatic" in rest for keyword, rest in instructions)


def test_dockerfile_runs_gunicorn_with_its_config_on_the_configured_port():
    instructions = dict(reversed(dockerfile_instructions()))  # first of each keyword
    cmd = json.loads([rest for keyword, rest in dockerfile_instructions() if keyword == "CMD"][-1])
    assert cmd[0] == "gunicorn"
    assert cmd[cmd.index("-c") + 1] == "gunicorn.conf.py"
    assert cmd[-1] == "authserver.wsgi:application"
    assert "--bind" not in cmd  # the port comes from gunicorn.conf.py / GUNICORN_BIND
    assert instructions["EXPOSE"] == str(default_port())


def test_dockerfile_healthcheck_calls_healthz_on_that_port(client):
    check = [rest for keyword, rest in dockerfile_instructions() if keyword == "HEALTHCHECK"][-1]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", check)
    assert int(url.group(1)) == default_port()
    assert url.group(2) == "/healthz"
    assert resolve("/healthz").url_name == "healthz"


@pytest.mark.django_db
def test_healthchecks_answer_a_probe_whatever_the_allowed_hosts(client, settings):
    settings.ALLOWED_HOSTS = ["auth.example.com"]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_compose_parses_and_runs_postgres_redis_migrations_and_the_server():
    services = compose()["services"]
    assert {"db", "redis", "migrate", "web"} <= set(services)
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_environment_names_only_documented_variables():
    documented = readme_table_variables()
    for name in ("web", "migrate"):
        environment = compose()["services"][name]["environment"]
        assert set(environment) <= documented, set(environment) - documented
    environment = compose()["services"]["web"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["DATABASE_URL"].endswith("@db:5432/authserver")
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert "${SECRET_KEY:?" in environment["SECRET_KEY"]  # no default secret


def test_compose_publishes_the_server_port_and_probes_a_health_path():
    web = compose()["services"]["web"]
    assert web["ports"] == [f"{default_port()}:{default_port()}"]
    assert web["environment"]["GUNICORN_BIND"] == f"0.0.0.0:{default_port()}"
    probe = " ".join(web["healthcheck"]["test"])
    path = re.search(rf"http://127\.0\.0\.1:{default_port()}(/\w+)", probe).group(1)
    assert resolve(path).url_name in ("healthz", "readyz")


def test_signing_key_lives_on_a_volume_shared_by_every_container():
    services = compose()["services"]
    for name in ("web", "migrate"):
        assert services[name]["environment"]["OIDC_RSA_PRIVATE_KEY_FILE"].startswith("/app/var/")
        assert "keys:/app/var" in services[name]["volumes"]
    assert any(keyword == "VOLUME" and "/app/var" in rest for keyword, rest in dockerfile_instructions())


def test_compose_interpolations_have_no_empty_overrides_of_derived_defaults():
    # `${X:-}` would set X to "" and defeat a default derived in settings (e.g. from ISSUER).
    environment = compose()["services"]["web"]["environment"]
    allowed_empty = {"OIDC_RSA_PRIVATE_KEY", "METRICS_TOKEN"}
    empty = {name for name, value in environment.items() if re.fullmatch(r"\$\{\w+:-\}", str(value))}
    assert empty <= allowed_empty


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", "var/", "db.sqlite3", ".git"} <= ignored


def test_the_wsgi_module_imports_what_a_first_request_would(tmp_path):
    """gunicorn preloads authserver.wsgi in its master: the lazy imports of a first request
    (redis-py behind the cache, DOT's token generators, every view) are done there, once,
    and no connection is opened before the fork."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys, authserver.wsgi\n"
        "from django.db import connections\n"
        "from django.urls import get_resolver\n"
        "print(sorted(m for m in ('redis', 'jwt', 'oauth.tokens', 'oauth.views',"
        " 'userinfo.views') if m in sys.modules))\n"
        "print(get_resolver()._populated, connections['default'].connection is None)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "authserver.settings",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there: no connection may be tried
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    modules, state = result.stdout.strip().splitlines()[-2:]
    assert modules == str(sorted(["redis", "jwt", "oauth.tokens", "oauth.views", "userinfo.views"]))
    assert state == "True True"
