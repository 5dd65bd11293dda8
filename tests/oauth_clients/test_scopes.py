"""Per-client allowed scopes: refused at the token endpoint, never offered on consent."""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from oauth2_provider.models import get_access_token_model, get_application_model

from oauth_clients.services import create_client
from tests.conftest import REDIRECT_URI, Pkce, authorize_params, basic_auth, form_post, make_public_client

Client = get_application_model()
AccessToken = get_access_token_model()

pytestmark = pytest.mark.django_db


def client_credentials(client, issued, scope):
    return form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", **({"scope": scope} if scope else {})},
        HTTP_AUTHORIZATION=basic_auth(issued.client.client_id, issued.secret),
    )


def test_scope_outside_the_clients_list_is_invalid_scope(client):
    issued = create_client(
        name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=["mcp:tools"]
    )
    response = client_credentials(client, issued, "mcp:tools mcp:resources")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()
    assert client_credentials(client, issued, "mcp:tools").status_code == 200


def test_empty_list_means_the_default_scopes(client):
    issued = create_client(name="svc", grant_type=Client.GRANT_CLIENT_CREDENTIALS)
    assert client_credentials(client, issued, "groups").json()["error"] == "invalid_scope"
    response = client_credentials(client, issued, " ".join(settings.DEFAULT_SCOPES))
    assert response.status_code == 200
    AccessToken.objects.all().delete()
    assert client_credentials(client, issued, "").status_code == 200
    assert set(AccessToken.objects.get().scope.split()) == set(settings.DEFAULT_SCOPES)


def test_consent_page_never_offers_a_disallowed_scope(client, user):
    app = make_public_client(allowed_scopes="mcp:tools")
    client.force_login(user)
    params = authorize_params(app, Pkce.new(), scope="mcp:tools email groups")
    page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200
    html = page.content.decode()
    assert settings.SCOPES["mcp:tools"] in html
    assert settings.SCOPES["email"] not in html
    assert settings.SCOPES["groups"] not in html
    assert page.context["form"].initial["scope"] == "mcp:tools"
    assert REDIRECT_URI in app.redirect_uris
