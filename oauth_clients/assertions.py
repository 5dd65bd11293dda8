"""`private_key_jwt` client authentication: RFC 7523 §2.2 client assertions.

A client registered with `token_endpoint_auth_method: private_key_jwt` (ChatGPT's
metadata document) proves itself at the token endpoint with a JWT it signed:
`iss` = `sub` = its client_id, `aud` = our token endpoint or issuer, `exp`, and a
`jti` it never repeats (RFC 7523 §3). The signature is checked against the document's
`jwks`, or its `jwks_uri` fetched the SSRF-safe way and cached. Each `jti` is remembered
in the Django cache until the assertion expires, so a replayed assertion is refused.
"""

import hashlib
import json
import logging
import time

from django.conf import settings
from django.core.cache import cache
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException
from oauth2_provider.cimd import CIMDError, _validate_client_id_url

from oauth_clients.document_fetch import JSONDocumentFetcher

logger = logging.getLogger(__name__)

PRIVATE_KEY_JWT = "private_key_jwt"  # noqa: S105 (a method name)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_BYTES = 16 * 1024
# An assertion is a one-time credential; one valid for longer would also make us keep its
# jti for that long.
MAX_LIFETIME_SECONDS = 3600
LEEWAY_SECONDS = 60
JWKS_CACHE_SECONDS = (300, 3600)  # bounds on a jwks_uri's Cache-Control
JWKS_REFETCH_COOLDOWN_SECONDS = 60


class AssertionError_(Exception):  # noqa: N801 (not the builtin)
    """Why a client assertion was refused (logged, never sent: the client gets invalid_client)."""


def read_client_keys(metadata: dict) -> tuple[dict | None, str]:
    """The `jwks` or `jwks_uri` of RFC 7591 client metadata, checked; ValueError if unusable."""
    jwks, jwks_uri = metadata.get("jwks"), metadata.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise ValueError("jwks and jwks_uri must not both be present (RFC 7591 §2)")
    if jwks is not None:
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
            raise ValueError("jwks must be a JWK Set with at least one key")
        for key in keys:
            if key.get("kty") not in ("RSA", "EC", "OKP") or "d" in key or "k" in key:
                raise ValueError("jwks must hold public RSA, EC or OKP keys only")
        return {"keys": keys}, ""
    if isinstance(jwks_uri, str):
        try:
            _validate_client_id_url(jwks_uri)  # https, a host and a path, no userinfo or fragment
        except CIMDError as error:
            raise ValueError(f"jwks_uri: {error}") from error
        return None, jwks_uri
    raise ValueError("private_key_jwt needs jwks or jwks_uri")


def presents_assertion(request) -> bool:
    return bool(getattr(request, "client_assertion_type", None) or getattr(request, "client_assertion", None))


def unverified_issuer(assertion: str) -> str | None:
    """RFC 7523 §3: client_id may be omitted; the assertion's `iss` names the client."""
    try:
        token = jws.JWS()
        token.deserialize(assertion)
        claims = json.loads(token.objects["payload"])
    except (JWException, ValueError, KeyError, TypeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def verify_client_assertion(request, client) -> None:
    """Check the assertion in `request` for `client`; raise AssertionError_ if it fails."""
    if getattr(request, "client_assertion_type", None) != ASSERTION_TYPE:
        raise AssertionError_("client_assertion_type is not jwt-bearer")
    assertion = getattr(request, "client_assertion", None) or ""
    if not assertion or len(assertion) > MAX_ASSERTION_BYTES:
        raise AssertionError_("client_assertion missing or too large")
    if client.token_endpoint_auth_method != PRIVATE_KEY_JWT:
        raise AssertionError_("client is not registered for private_key_jwt")

    claims = _verified_claims(assertion, client)
    client_id = client.client_id
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionError_("iss and sub must both be the client_id")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    accepted = {settings.ISSUER, f"{settings.ISSUER}/oauth/token", f"{settings.ISSUER}/oauth/token/"}
    if not accepted.intersection(a for a in audiences if isinstance(a, str)):
        raise AssertionError_("aud must be the token endpoint or the issuer")
    now = time.time()
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)):
        raise AssertionError_("exp is required")
    if expires - now > MAX_LIFETIME_SECONDS:
        raise AssertionError_(f"exp is more than {MAX_LIFETIME_SECONDS} s away")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise AssertionError_("jti is required")
    replay_key = "assertion-jti:" + hashlib.sha256(f"{client_id}\n{jti}".encode()).hexdigest()
    # cache.add is atomic (Redis SET NX): of two requests with one jti, one wins.
    if not cache.add(replay_key, 1, timeout=int(expires - now) + LEEWAY_SECONDS + 1):
        raise AssertionError_("jti already used (replayed assertion)")


def _verified_claims(assertion: str, client) -> dict:
    keys = _client_keys(client, refresh=False)
    try:
        return _decode(assertion, keys)
    except AssertionError_:
        # The client may have rotated its keys since we cached its JWK Set: fetch once
        # more, at most once a minute, so bad assertions cannot make us fetch at will.
        cooldown = "client-jwks-refetch:" + hashlib.sha256(client.jwks_uri.encode()).hexdigest()
        if not client.jwks_uri or not cache.add(cooldown, 1, JWKS_REFETCH_COOLDOWN_SECONDS):
            raise
    return _decode(assertion, _client_keys(client, refresh=True))


def _decode(assertion: str, keys: jwk.JWKSet) -> dict:
    try:
        token = jwt.JWT(
            jwt=assertion,
            key=keys,
            algs=settings.CLIENT_ASSERTION_SIGNING_ALGS,
            check_claims={"exp": None},
            expected_type="JWS",
        )
        claims = json.loads(token.claims)
    except (JWException, ValueError, TypeError) as error:
        raise AssertionError_(f"signature or claims invalid: {error}") from error
    if not isinstance(claims, dict):
        raise AssertionError_("claims must be a JSON object")
    return claims


def _client_keys(client, refresh: bool) -> jwk.JWKSet:
    if client.jwks:
        data = client.jwks
    elif client.jwks_uri:
        data = _fetch_jwks(client.jwks_uri, refresh)
    else:
        raise AssertionError_("client has no keys")
    try:
        keys = jwk.JWKSet()
        keys.import_keyset(json.dumps(data))
    except (JWException, ValueError, TypeError) as error:
        raise AssertionError_(f"client keys unusable: {error}") from error
    if any(key.has_private for key in keys["keys"]):
        raise AssertionError_("client keys must be public")
    return keys


def _fetch_jwks(uri: str, refresh: bool) -> dict:
    key = "client-jwks:" + hashlib.sha256(uri.encode()).hexdigest()
    if not refresh and (cached := cache.get(key)) is not None:
        return cached
    try:
        data, max_age = JSONDocumentFetcher().fetch_json(uri)
    except CIMDError as error:
        raise AssertionError_(f"jwks_uri: {error}") from error
    low, high = JWKS_CACHE_SECONDS
    cache.set(key, data, max(low, min(max_age, high)))
    return data
