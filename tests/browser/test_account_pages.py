"""Connected apps, remembered consent, both languages and accessibility, in Chromium.

Every page (login, consent, error, logged-out, connected apps) is checked with axe-core
(WCAG 2.1 A/AA rules) and photographed at desktop and phone width into test-artifacts/.
"""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import Pkce, make_public_client, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
MCP = "https://mcp.example.com/mcp"
PASSWORD = "correct horse battery"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<!doctype html><html lang=en><title>Done</title><main><h1>Done</h1></main></html>")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def callback_url():
    """The MCP client's loopback listener (RFC 8252 §7.3: any port)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback"
    server.shutdown()


def at_callback(page) -> dict:
    page.wait_for_url("http://127.0.0.1:*/callback?*")
    return parse_qs(urlsplit(page.url).query)


def authorize_url(base: str, app, callback: str, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": callback,
        "scope": "openid profile mcp:tools",
        "state": "st",
        "code_challenge": Pkce.new().challenge,
        "code_challenge_method": "S256",
        "resource": MCP,
        **overrides,
    }
    return f"{base}/oauth/authorize?{urlencode(params)}"


@pytest.fixture
def new_page(browser):
    """Pages in fresh contexts: a viewport, a language, axe loaded on every document."""
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256
    contexts = []

    def _new_page(viewport: str = "desktop", locale: str = "en-US"):
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale=locale)
        # An init script runs before the page's own and is not subject to its CSP.
        context.add_init_script(path=str(AXE))
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()


def assert_accessible(page, name: str) -> None:
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    violations = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
    ]
    assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"
    assert len(result["passes"]) > 10  # the rules really ran


def assert_focus_is_visible(page) -> None:
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline


def assert_fits(page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"horizontal scroll of {overflow}px"


def test_connected_apps_remembered_consent_and_revoke(live_server, new_page, callback_url):
    make_user("alice")
    app = make_public_client(name="Notes MCP client", redirect_uris="http://127.0.0.1/callback")
    page = new_page()

    # First authorization: login, consent, Allow.
    page.goto(authorize_url(live_server.url, app, callback_url))
    sign_in(page, "alice")
    page.wait_for_selector("#authorizationForm")
    assert page.get_by_role("link", name="Connected apps").first.is_visible()
    page.get_by_role("button", name="Allow").click()
    assert "code" in at_callback(page)

    # Same request again: straight back to the app, no consent page.
    answers = []
    page.on("response", lambda response: answers.append((urlsplit(response.url).path, response.status)))
    page.goto(authorize_url(live_server.url, app, callback_url, state="second"))
    assert at_callback(page)["state"] == ["second"]
    assert [status for path, status in answers if path == "/oauth/authorize"] == [302]

    # A new scope asks again.
    page.goto(authorize_url(live_server.url, app, callback_url, scope="openid profile email mcp:tools"))
    page.wait_for_selector("#authorizationForm")
    assert "See your email address" in page.content()

    # Connected apps lists it; Revoke forgets it.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Apps connected to your account").click()
    page.wait_for_url("**/account/apps/")
    entry = page.locator(f"#app-{app.client_id}")
    assert "Notes MCP client" in entry.inner_text()
    assert "Use the tools of the MCP servers" in entry.inner_text()
    assert MCP in entry.inner_text()
    assert entry.locator("time").count() == 2
    page.get_by_role("button", name="Revoke access of Notes MCP client").click()
    page.wait_for_url("**/account/apps/")
    assert "Notes MCP client can no longer use your account." in page.get_by_role("status").inner_text()
    assert page.locator(f"#app-{app.client_id}").count() == 0
    assert page.locator("#no-apps").is_visible()

    # After revoking, the same request asks again.
    page.goto(authorize_url(live_server.url, app, callback_url, state="third"))
    page.wait_for_selector("#authorizationForm")


def test_unverified_dynamic_client_is_marked_and_always_asks(live_server, new_page, callback_url):
    make_user("dora")
    app = make_public_client(
        name="Self-registered tool", registration_source="dcr", redirect_uris="http://127.0.0.1/callback"
    )
    page = new_page()
    page.goto(authorize_url(live_server.url, app, callback_url))
    sign_in(page, "dora")
    assert page.locator("#unverified-client").is_visible()
    page.get_by_role("button", name="Allow").click()
    at_callback(page)
    page.goto(authorize_url(live_server.url, app, callback_url))
    page.wait_for_selector("#authorizationForm")  # CONSENT_ALWAYS_FOR_DYNAMIC_CLIENTS
    page.goto(f"{live_server.url}/account/apps/")
    assert page.locator(f"#app-{app.client_id} .badge").inner_text() == "unverified"


def test_russian_from_the_browser_and_the_switcher(live_server, new_page, callback_url):
    make_user("ivan")
    app = make_public_client(name="Календарь", redirect_uris="http://127.0.0.1/callback")
    page = new_page(locale="ru-RU")
    page.goto(authorize_url(live_server.url, app, callback_url))
    assert page.locator("h1").inner_text() == "Войти"
    assert page.locator("html").get_attribute("lang") == "ru"
    sign_in(page, "ivan")
    page.wait_for_selector("#authorizationForm")
    assert "Разрешить приложению Календарь доступ к вашей учётной записи?" in page.locator("h1").inner_text()
    assert "Пользоваться инструментами MCP-серверов" in page.content()

    # The switcher: English, on the same page, with the request intact.
    page.get_by_label("Язык").select_option("en")
    page.get_by_role("button", name="Сменить").click()
    page.wait_for_selector("#authorizationForm")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Use the tools of the MCP servers" in page.content()
    page.get_by_role("button", name="Allow").click()
    at_callback(page)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["en-US", "ru-RU"])
def test_every_page_is_accessible_fits_and_shows_focus(
    live_server, new_page, callback_url, viewport, language
):
    suffix = f"{viewport}-{language[:2]}"
    make_user("erin")
    app = make_public_client(name="Reports MCP client", redirect_uris="http://127.0.0.1/callback")
    page = new_page(viewport, language)

    page.goto(authorize_url(live_server.url, app, callback_url))
    page.wait_for_selector("#id_username")
    assert_accessible(page, "login")
    assert_fits(page)
    screenshot(page, f"login-{suffix}")
    assert_focus_is_visible(page)

    sign_in(page, "erin", "wrong password")
    page.wait_for_selector("#login-error")
    assert_accessible(page, "login with error")
    sign_in(page, "erin")

    page.wait_for_selector("#authorizationForm")
    assert_accessible(page, "consent")
    assert_fits(page)
    screenshot(page, f"consent-{suffix}")
    page.locator("#allow").click()
    at_callback(page)

    response = page.goto(
        authorize_url(live_server.url, app, callback_url, redirect_uri="https://evil.example/cb")
    )
    assert response.status == 400
    assert_accessible(page, "error")
    assert_fits(page)
    screenshot(page, f"error-{suffix}")

    page.goto(f"{live_server.url}/account/apps/")
    page.wait_for_selector(f"#app-{app.client_id}")
    assert_accessible(page, "connected apps")
    assert_fits(page)
    screenshot(page, f"connected-apps-{suffix}")
    assert_focus_is_visible(page)

    page.goto(f"{live_server.url}/")
    page.locator("form[action$='/accounts/logout/'] button").click()
    page.wait_for_url("**/accounts/logout/")
    assert_accessible(page, "logged out")
    assert_fits(page)
    screenshot(page, f"logged-out-{suffix}")


@pytest.mark.parametrize("language", ["en-US", "ru-RU"])
def test_not_found_page_is_accessible(live_server, new_page, language):
    page = new_page("phone", language)
    response = page.goto(f"{live_server.url}/no-such-page")
    assert response.status == 404
    assert_accessible(page, "not found")
    assert_fits(page)
    screenshot(page, f"not-found-phone-{language[:2]}")
