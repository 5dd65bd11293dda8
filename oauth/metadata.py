"""One discovery document, served as RFC 8414 metadata and as OpenID Connect discovery.

DOT builds each document on its own; we merge them so that both URLs answer the same
thing (MCP clients try RFC 8414 first, OIDC second) and every advertised capability is
one the server has.
"""

import json

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from oauth2_provider.compat import login_not_required
from oauth2_provider.views import ConnectDiscoveryInfoView, OAuthServerMetadataView


def build_document(request: HttpRequest) -> dict:
    oidc = json.loads(ConnectDiscoveryInfoView().get(request).content)
    oauth = json.loads(OAuthServerMetadataView().get(request).content)
    document = {**oidc, **oauth}
    document.update(
        {
            # id_tokens are signed with our RSA key only; HS256 would need the client
            # secret in plaintext, which we never keep.
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_modes_supported": ["query"],
            # OpenID Connect Discovery §3: an absent request_uri_parameter_supported means
            # true; request objects are not read here (nor `request`, whose default is false).
            "request_uri_parameter_supported": False,
        }
    )
    # Public clients hold no credentials, so they cannot introspect (RFC 7662 §2.1).
    document["introspection_endpoint_auth_methods_supported"] = [
        method for method in document["token_endpoint_auth_methods_supported"] if method != "none"
    ]
    # RFC 7523 §2.2 client assertions, verified against the keys of a metadata document or
    # of a registration (oauth_clients/assertions.py, dcr.py: with or without CIMD), at the
    # token and revocation endpoints, never introspection.
    for endpoint in ("token", "revocation"):
        document[f"{endpoint}_endpoint_auth_methods_supported"].append("private_key_jwt")
        document[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] = (
            settings.CLIENT_ASSERTION_SIGNING_ALGS
        )
    # OpenID Connect Core §3.1.2.1: `consent` always shows the page (oauth/consent.py).
    document["prompt_values_supported"] = [*document["prompt_values_supported"], "consent"]
    document["claims_supported"] = sorted(set(document.get("claims_supported", [])) | _USERINFO_CLAIMS)
    return document


_USERINFO_CLAIMS = {
    "sub",
    "name",
    "preferred_username",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "groups",
}
_cached: dict | None = None


def _reset_cache(**kwargs) -> None:
    global _cached
    _cached = None


setting_changed.connect(_reset_cache)


@login_not_required
@require_GET
def server_metadata(request: HttpRequest, issuer_path: str | None = None) -> JsonResponse:
    # Every URL in the document derives from ISSUER, not from the request, so one copy
    # per process serves all callers.
    global _cached
    if _cached is None:
        _cached = build_document(request)
    response = JsonResponse(_cached)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response
