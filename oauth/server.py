"""The oauthlib server we run: oauthlib's OpenID server, S256 as the only PKCE method,
answers in the query only, and authorization requests whose parameters the database can
hold."""

import json
import re

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.openid import Server as OpenIDServer

from oauth_clients import policy

# RFC 7636 §4.1-4.2: a challenge is 43-128 unreserved characters (the Grant column holds 128).
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
MAX_NONCE_LENGTH = 255  # the Grant column
CHECKED_ATTRIBUTES = ("code_challenge", "nonce", "state", "claims", "scope", "redirect_uri", "response_type")


def check_parameters(request) -> dict:
    """A pre-auth validator: after client_id and redirect_uri are trusted, anything the
    database cannot store is a plain `invalid_request` (RFC 6749 §4.1.2.1, a redirect)."""
    values = [*request._params.values(), *(getattr(request, name, None) for name in CHECKED_ATTRIBUTES)]
    if any(isinstance(value, str) and "\x00" in value for value in values):
        raise errors.InvalidRequestError(request=request, description="Parameters must not contain NUL.")
    if request.code_challenge is not None and not CODE_CHALLENGE.fullmatch(request.code_challenge):
        raise errors.InvalidRequestError(
            request=request, description="code_challenge must be 43-128 unreserved characters (RFC 7636)."
        )
    if request.nonce is not None and len(request.nonce) > MAX_NONCE_LENGTH:
        raise errors.InvalidRequestError(
            request=request, description=f"nonce must be at most {MAX_NONCE_LENGTH} characters."
        )
    resources = getattr(request, "resource", None)
    if isinstance(resources, str):
        # A `resource` outside the consent form (in its URL or body) reaches oauthlib as one
        # string, and the Grant column takes only a list (a 500): read it as one indicator.
        resources = request.resource = [resources]
    for resource in resources or []:
        if problem := policy.resource_problem(resource):
            raise errors.CustomOAuth2Error(
                error="invalid_target", description=f"The resource {resource!r} {problem}.", request=request
            )
    if request.claims is not None and not _claims_are_valid(request.claims):
        # oauthlib's own check raises without the request, so the error could not be
        # redirected (DisallowedRedirect, a bare 400); and a stored non-object would break
        # the token exchange. OpenID Connect Core §5.5: a JSON object of JSON objects.
        raise errors.InvalidRequestError(request=request, description="Malformed claims parameter.")
    return {}


def _claims_are_valid(claims) -> bool:
    if isinstance(claims, str):
        try:
            claims = json.loads(claims)
        except ValueError:
            return False
    if claims is None:
        return True  # DOT's consent form carries an absent parameter as JSON null
    return isinstance(claims, dict) and all(
        isinstance(claims.get(member, {}), dict) for member in ("userinfo", "id_token")
    )


class Server(OpenIDServer):
    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **kwargs)
        for grant in (self.auth_grant, self.openid_connect_auth.proxy_target):
            # OAuth 2.1 §4.1.1 / RFC 9700 §2.1.1: only S256. oauthlib treats a missing
            # code_challenge_method as "plain", so this also rejects it, at the authorization
            # request (a redirect with error=invalid_request) rather than after consent.
            grant._code_challenge_methods = {"S256": code_challenge_method_s256}
            # First the answer's mode, so that check_parameters' errors go in the query too.
            grant.custom_validators.pre_auth.append(_answer_in_query)
            grant.custom_validators.pre_auth.append(check_parameters)


def _answer_in_query(request) -> dict:
    # Discovery advertises response_modes_supported ["query"] (RFC 9207's `iss` is added to
    # the query); oauthlib would put the code in the fragment for response_mode=fragment.
    # Runs once the redirect URI is trusted, before any answer goes to it.
    request.response_mode = "query"
    return {}
