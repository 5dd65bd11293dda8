"""Clients are cached by client_id; an admin's edit is seen on the very next request."""

import pytest
from oauth2_provider.models import get_application_model

from oauth_clients.services import create_client
from tests.conftest import basic_auth, form_post

Client = get_application_model()

pytestmark = pytest.mark.django_db


def token(client, issued, scope):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic_auth(issued.client.client_id, issued.secret),
    )


def test_admin_edit_invalidates_the_cached_client(client, admin_client):
    issued = create_client(
        name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=["mcp:tools"]
    )
    assert token(client, issued, "mcp:tools").status_code == 200  # now cached
    assert token(client, issued, "mcp:resources").status_code == 400
    response = admin_client.post(
        f"/admin/oauth_clients/client/{issued.client.pk}/change/",
        {
            "name": "svc",
            "client_type": "confidential",
            "authorization_grant_type": "client-credentials",
            "redirect_uris": "",
            "allowed_scopes": ["mcp:tools", "mcp:resources"],
            "allowed_resources": "",
            "description": "",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert token(client, issued, "mcp:resources").status_code == 200


def test_deleted_client_is_invalid_client_at_once(client):
    issued = create_client(name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS)
    assert token(client, issued, "openid").status_code in (200, 400)
    Client.objects.get(pk=issued.client.pk).delete()
    response = token(client, issued, "openid")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
