"""`/oauth/userinfo`: who the token's user is, for MCP servers holding that token.

Unlike DOT's OIDC view this answers for any live access token issued here, whatever its
audience and with or without `openid`: MCP servers call it with the token meant for them.
"""

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from oauth2_provider.compat import login_not_required
from oauth2_provider.models import get_access_token_model

from oauth.errors import bearer_challenge
from oauth.lookups import first_by
from oauth.validator import checksum
from oauth.views import is_registration_token
from oauth_clients.api_keys import note_use as note_api_key_use
from ops.errors import oauth_error
from userinfo.claims import claims_for


def _bearer_token(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _unauthorized(error: str = "", description: str = "") -> JsonResponse:
    response = oauth_error(error or "invalid_request", description, status=401)
    response["WWW-Authenticate"] = bearer_challenge(error, description)
    if not error:
        # RFC 6750 §3.1: no error code in the body either when no token was sent.
        response.content = b"{}"
    return response


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def userinfo(request: HttpRequest) -> JsonResponse:
    # RFC 6750 §2.3 / RFC 9700 §4.3.2: a token in the query string is refused.
    if "access_token" in request.GET:
        return oauth_error(
            "invalid_request", "Send the access token in the Authorization header.", status=400
        )
    token_value = _bearer_token(request)
    if token_value is None:
        return _unauthorized()
    token = first_by(get_access_token_model(), "token_checksum", checksum(token_value), related=("user",))
    if token is None or token.expires <= timezone.now() or is_registration_token(token):
        return _unauthorized("invalid_token", "The access token is invalid, expired or revoked.")
    if token.user is not None and not token.user.is_active:
        # RFC 6750 §3.1: the token no longer stands for anyone (the account was deactivated).
        return _unauthorized("invalid_token", "The access token is invalid, expired or revoked.")
    if token.user is None:
        # A client_credentials token names no user: there is no one to describe.
        response = oauth_error("insufficient_scope", "This token was not issued for a user.", status=403)
        response["WWW-Authenticate"] = bearer_challenge(
            "insufficient_scope", "This token was not issued for a user."
        )
        return response
    note_api_key_use(token_value)
    response = JsonResponse(claims_for(token.user, set(token.scope.split())))
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response
