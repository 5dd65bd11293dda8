"""API endpoints run the lean middleware stack; pages keep the full one (ops/stacks.py)."""

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from authserver import urls as project_urls


def _explodes(request):
    raise RuntimeError("a bug in an API view")


def _asks_for_the_user(request):
    return HttpResponse(str(request.user.is_authenticated))


urlpatterns = [
    path("oauth/explodes", _explodes),
    path("oauth/who", _asks_for_the_user),
    path("", include(project_urls)),
]


@pytest.mark.django_db
def test_token_answers_carry_no_page_headers(client):
    response = client.post(
        "/oauth/token",
        "grant_type=client_credentials&client_id=nobody&client_secret=wrong",
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_client"
    for page_header in ("Content-Security-Policy", "Content-Language", "X-Frame-Options", "Set-Cookie"):
        assert page_header not in response, page_header
    assert "Accept-Language" not in response.get("Vary", "")
    # What the API stack does keep: the request id, the JSON-relevant security headers.
    assert response["X-Request-ID"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_pages_and_the_authorization_endpoint_keep_the_full_stack(client):
    for url in ("/accounts/login/", "/oauth/authorize?client_id=nobody"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
        assert response["X-Frame-Options"] == "DENY", url
        assert "default-src 'self'" in response["Content-Security-Policy"], url
        assert response["Content-Language"] == "ru", url


def test_cors_preflight_is_answered_on_the_api_stack(client):
    response = client.options(
        "/oauth/token",
        HTTP_ORIGIN="http://localhost:6274",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/oauth/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.urls(__name__)
def test_an_unhandled_error_in_an_api_view_is_a_logged_json_500(caplog):
    response = Client(raise_request_exception=False).get("/oauth/explodes")
    assert response.status_code == 500
    assert response.json() == {
        "error": "server_error",
        "error_description": "The server could not answer this request.",
    }
    assert "a bug in an API view" not in response.content.decode()
    (record,) = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert record.levelname == "ERROR" and "a bug in an API view" in str(record.exc_info[1])


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_session_cookie_signs_nobody_in_on_the_api_stack(client, django_user_model):
    user = django_user_model.objects.create_user("alice", password="a-long-password-1")
    client.force_login(user)
    assert client.get("/oauth/who").content == b"False"
