"""The Content-Security-Policy in Chromium: no page of ours or of the admin breaks it, it does
block an inline script, and the lockout and 429 pages are accessible."""

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import screenshot
from tests.browser.test_account_pages import AXE, PASSWORD, assert_accessible, sign_in
from tests.conftest import Pkce, make_public_client, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before each document's own scripts; records what the policy refused.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.add_init_script(script=RECORD_VIOLATIONS)
    context.add_init_script(path=str(AXE))
    yield context.new_page()
    context.close()


def violations(page) -> list[str]:
    return page.evaluate("() => window.__cspViolations")


def authorize_url(base: str, app, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": "http://127.0.0.1:47124/callback",
        "scope": "openid profile mcp:tools",
        "state": "s",
        "code_challenge": Pkce.new().challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return f"{base}/oauth/authorize?{urlencode(params)}"


def test_no_page_breaks_the_policy_and_inline_script_is_blocked(live_server, page):
    make_user("erin", PASSWORD)
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    app = make_public_client(name="CSP MCP client", redirect_uris="http://127.0.0.1/callback")
    seen = {}

    page.goto(authorize_url(live_server.url, app))
    page.wait_for_selector("#id_username")
    seen["login"] = violations(page)
    sign_in(page, "erin")
    page.wait_for_selector("#authorizationForm")
    seen["consent"] = violations(page)
    page.goto(authorize_url(live_server.url, app, redirect_uri="https://evil.example/cb"))
    seen["error"] = violations(page)
    page.goto(f"{live_server.url}/account/apps/")
    seen["connected apps"] = violations(page)

    # The policy is really enforced: an injected inline script does not run.
    ran = page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); return window.__ran === 1; }"
    )
    assert ran is False
    assert any(v.startswith("script-src") for v in violations(page))

    page.context.clear_cookies()  # signed out
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    seen["admin index"] = violations(page)
    page.goto(f"{live_server.url}/admin/oauth_clients/client/add/")
    page.fill("#id_name", "Weather MCP server")
    page.check("input[name=client_type][value=confidential]")
    page.select_option("#id_authorization_grant_type", "client-credentials")
    seen["admin client form"] = violations(page)
    page.click("input[name=_save]")
    page.wait_for_selector("text=It will not be shown again")
    assert page.locator("button.copy-secret").is_visible()  # copy-secret.js ran
    seen["admin secret shown once"] = violations(page)
    page.goto(f"{live_server.url}/admin/axes/accessattempt/")
    seen["admin access attempts"] = violations(page)

    assert seen == {name: [] for name in seen}


def test_lockout_and_too_many_requests_pages_are_clear_and_accessible(live_server, page, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_user("erin", PASSWORD)
    page.goto(f"{live_server.url}/accounts/login/")
    sign_in(page, "erin", "wrong password")
    page.wait_for_selector("#login-error")
    sign_in(page, "erin", "wrong password")
    page.wait_for_selector("text=Too many failed sign-ins")
    assert_accessible(page, "lockout")
    screenshot(page, "login-locked-out")
    sign_in(page, "erin")  # the right password, still refused
    page.wait_for_selector("text=Too many failed sign-ins")
    assert page.locator("#authorizationForm, form[action$='/accounts/logout/']").count() == 0
    assert violations(page) == []

    settings.RATELIMITS = {**settings.RATELIMITS, "authorize": ((1, 60), None)}
    app = make_public_client()
    page.goto(authorize_url(live_server.url, app))
    response = page.goto(authorize_url(live_server.url, app))
    assert response.status == 429
    assert page.locator("h1").inner_text() == "Too many requests"
    assert_accessible(page, "too many requests")
    screenshot(page, "too-many-requests")
    assert violations(page) == []
