"""An admin registers a confidential client in a real browser and uses the secret once shown."""

import httpx
import pytest
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Client = get_application_model()


def token_status(base_url, client_id, secret, how):
    with httpx.Client(base_url=base_url) as http:
        if how == "basic":
            response = http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
        else:
            response = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            )
    return response.status_code


def test_admin_creates_client_copies_secret_once_and_rotates(live_server, browser):
    get_user_model().objects.create_superuser("root", "root@example.com", "correct horse battery")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")

    page.goto(f"{live_server.url}/admin/oauth_clients/client/add/")
    assert page.locator("input[name=client_secret]").count() == 0  # the admin never types one
    page.fill("#id_name", "Weather MCP server")
    page.check("input[name=client_type][value=confidential]")
    page.select_option("#id_authorization_grant_type", "client-credentials")
    page.check("input[name=allowed_scopes][value='mcp:tools']")
    page.click("input[name=_save]")

    page.wait_for_selector("text=It will not be shown again")
    screenshot(page, "admin-secret-once")
    page.click("button.copy-secret")
    page.wait_for_selector(".copy-status:has-text('Copied')")
    secret = page.evaluate("navigator.clipboard.readText()")
    assert secret == page.input_value("input.client-secret")
    client_id = page.inner_text("code.client-id")

    assert token_status(live_server.url, client_id, secret, "basic") == 200
    assert token_status(live_server.url, client_id, secret, "post") == 200

    created = Client.objects.get(client_id=client_id)
    page.goto(f"{live_server.url}/admin/oauth_clients/client/{created.pk}/change/")
    assert secret not in page.content()
    page.reload()
    assert secret not in page.content()

    page.goto(f"{live_server.url}/admin/oauth_clients/client/")
    page.check(f"input[name=_selected_action][value='{created.pk}']")
    page.select_option("select[name=action]", "rotate_secret")
    page.click("button[name=index]")
    page.fill("#id_grace_seconds", "0")
    page.click("input[name=apply]")
    page.wait_for_selector("text=It will not be shown again")
    new_secret = page.input_value("input.client-secret")
    assert new_secret != secret
    assert token_status(live_server.url, client_id, secret, "basic") == 401
    assert token_status(live_server.url, client_id, new_secret, "basic") == 200
    context.close()
