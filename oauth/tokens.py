"""JWT access tokens (RFC 9068), made by oauthlib's token generator hook.

DOT still records every token (hashed at rest: the row holds the SHA-256 of the JWT), so
revocation, introspection, userinfo and refresh treat a JWT like any other token; resource
servers may also validate it locally against ``/oauth/jwks``.

The token is built in the generator, not when it is saved, because oauthlib computes the
id_token's ``at_hash`` from the access token before saving it.
"""

from __future__ import annotations

import time
import uuid

import jwt
from django.conf import settings
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749.tokens import random_token_generator

from oauth import keys

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 §2.1 media type)


def generate_access_token(request: Request) -> str:
    """oauthlib's ``token_generator(request)``: an RFC 9068 JWT, or an opaque string."""
    if settings.ACCESS_TOKEN_FORMAT != "jwt":  # noqa: S105 (a format name)
        return random_token_generator(request)
    # The audience is settled now (RFC 8707 resource, else DEFAULT_AUDIENCE) rather than
    # when the token is saved; the validator remembers it, so both agree.
    oauth2_settings.OAUTH2_VALIDATOR_CLASS()._check_and_set_request_resource(request)
    return sign_access_token(access_token_claims(request))


def access_token_claims(request: Request) -> dict:
    now = int(time.time())
    client_id = request.client.client_id
    user = None if request.grant_type == "client_credentials" else request.user
    audience = list(request.resource)
    claims = {
        "iss": settings.ISSUER,
        # RFC 9068 §2.2: for a token without a user, sub names the client.
        "sub": str(user.pk) if user is not None else client_id,
        "aud": audience[0] if len(audience) == 1 else audience,
        "client_id": client_id,
        "scope": " ".join(request.scopes or []),
        "exp": now + int(request.expires_in),
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    return claims


def sign_access_token(claims: dict) -> str:
    # PyJWT signs in a third of the time jwcrypto takes, on every token request.
    key, private = keys.signing_key(settings.ACCESS_TOKEN_SIGNING_ALG)
    return jwt.encode(
        claims,
        private.get_op_key("sign"),
        algorithm=key.algorithm,
        headers={"typ": ACCESS_TOKEN_TYPE, "kid": key.kid},
    )
