"""Defects found in review, each checked through the real endpoint."""

from urllib.parse import urlencode

import pytest

from tests.conftest import Pkce, authorize_params, consent, redirect_query

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
