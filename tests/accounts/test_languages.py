"""English and Russian: chosen from Accept-Language or the switcher, on every page."""

from pathlib import Path
from urllib.parse import urlencode

import polib
import pytest
from django.conf import settings

from tests.conftest import Pkce, authorize_params

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale"


def test_accept_language_picks_russian(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.5")
    html = page.content.decode()
    assert '<html lang="ru">' in html
    assert "<h1>Войти</h1>" in html
    assert "Имя пользователя" in html


def test_english_is_the_default(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE").content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Sign in</h1>" in html


def test_switcher_sets_the_language_cookie(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert 'action="/i18n/setlang/"' in page.content.decode()
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    # the cookie wins over the browser's Accept-Language
    assert "<h1>Войти</h1>" in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_switcher_does_not_redirect_off_site(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_consent_page_and_scope_descriptions_in_russian(client, user, public_client):
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), scope="openid email mcp:tools")
    html = client.get("/oauth/authorize?" + urlencode(params), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "доступ к вашей учётной записи?" in html
    assert "Пользоваться инструментами MCP-серверов" in html
    assert "Видеть ваш адрес электронной почты" in html
    assert ">Разрешить</button>" in html
    assert "Use the tools" not in html


def test_custom_scope_descriptions_are_shown_as_written(client, user, public_client, settings):
    from oauth2_provider.settings import oauth2_settings

    scopes = {**oauth2_settings.SCOPES, "mcp:tools": "Инструменты бухгалтерии"}
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "SCOPES": scopes}
    client.force_login(user)
    params = authorize_params(public_client, Pkce.new(), scope="mcp:tools")
    html = client.get("/oauth/authorize?" + urlencode(params), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Инструменты бухгалтерии" in html


@pytest.mark.parametrize("path", ["/", "/account/apps/"])
def test_pages_in_russian(client, user, path):
    client.force_login(user)
    html = client.get(path, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert '<html lang="ru">' in html
    assert "Подключённые приложения" in html  # the header link, on every page


def test_logged_out_page_in_russian(client, user):
    client.force_login(user)
    html = client.post("/accounts/logout/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Вы вышли из учётной записи" in html


def test_every_message_is_translated_and_compiled():
    po = polib.pofile(str(LOCALE / "ru" / "LC_MESSAGES" / "django.po"))
    assert po.percent_translated() == 100
    assert not po.fuzzy_entries()
    # The committed .mo is what Django reads: it must hold exactly the .po's messages.
    mo = polib.mofile(str(LOCALE / "ru" / "LC_MESSAGES" / "django.mo"))
    assert {e.msgid: e.msgstr for e in mo if e.msgid} == {e.msgid: e.msgstr for e in po if e.msgid}


def test_every_default_scope_description_has_a_translation():
    po = polib.pofile(str(LOCALE / "ru" / "LC_MESSAGES" / "django.po"))
    translated = {e.msgid for e in po.translated_entries()}
    assert set(settings.DEFAULT_SCOPES_DESCRIPTIONS.values()) <= translated


def test_admin_secret_page_in_russian(admin_client):
    response = admin_client.post(
        "/admin/oauth_clients/client/add/",
        {
            "name": "Погода",
            "client_type": "confidential",
            "authorization_grant_type": "client-credentials",
            "redirect_uris": "",
            "allowed_scopes": ["mcp:tools"],
            "allowed_resources": "",
            "description": "",
        },
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Сохраните этот секрет клиента в надёжном месте." in html
    assert ">Копировать</button>" in html


def test_not_found_page_in_both_languages(client):
    english = client.get("/no-such-page", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 404
    assert "<h1>Page not found</h1>" in english.content.decode()
    russian = client.get("/no-such-page", HTTP_ACCEPT_LANGUAGE="ru")
    assert "<h1>Страница не найдена</h1>" in russian.content.decode()


def test_server_error_page_renders_without_a_request_context():
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("ru"):
        html = render_to_string("500.html")
    assert "<h1>Что-то пошло не так</h1>" in html
    assert "set_language" not in html and "setlang" not in html
