"""`private_key_jwt` (RFC 7523 §2.2): ChatGPT's metadata document and its signed assertions."""

import base64
import json
import secrets
import time
from urllib.parse import urlencode

import pytest
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_application_model

from tests.conftest import Pkce, basic_auth, form_post, make_confidential_client, redirect_query

Client = get_application_model()

pytestmark = pytest.mark.django_db

CALLBACK = "https://chatgpt.com/connector_platform_oauth_redirect"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def rsa_key():
    return jwk.JWK.generate(kty="RSA", size=2048, kid="chatgpt-1", use="sig")


def public_set(*keys) -> dict:
    return {"keys": [json.loads(key.export_public()) for key in keys]}


def chatgpt_document(client_id: str, jwks_uri: str) -> dict:
    # ChatGPT's published document (django-oauth-toolkit #1845 / #1857), at our test URLs.
    return {
        "client_id": client_id,
        "client_uri": "https://chatgpt.com/",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "ChatGPT",
        "logo_uri": "https://persistent.oaistatic.com/sonic/misc/openai-logo.png",
        "token_endpoint_auth_signing_alg": "RS256",
        "jwks_uri": jwks_uri,
    }


@pytest.fixture
def chatgpt(documents, rsa_key):
    client_id = documents.url("/oauth/client.json")
    jwks_uri = documents.publish("/oauth/jwks.json", public_set(rsa_key))
    documents.publish("/oauth/client.json", chatgpt_document(client_id, jwks_uri))
    return client_id


def assertion(client_id: str, key, settings, alg: str = "RS256", **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{settings.ISSUER}/oauth/token",
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_hex(16),
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    token = jwt.JWT(header={"alg": alg, "kid": key.get("kid")}, claims=payload)
    token.make_signed_token(key)
    return token.serialize()


def get_code(client, user, client_id: str):
    client.force_login(user)
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid profile email",
        "state": "s",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    url = "/oauth/authorize?" + urlencode(params)
    page = client.get(url)
    assert page.status_code == 200, page.content[:400]
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    return redirect_query(client.post(url, {**form, "allow": "true"}))["code"], pkce


def code_exchange(client, client_id, code, pkce, client_assertion=None, **extra):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": client_id,
        "code_verifier": pkce.verifier,
        **extra,
    }
    if client_assertion:
        body.update(client_assertion_type=ASSERTION_TYPE, client_assertion=client_assertion)
    return form_post(client, "/oauth/token", body)


def test_metadata_advertises_private_key_jwt_and_its_algorithms(client, settings):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert set(document["token_endpoint_auth_signing_alg_values_supported"]) == {"RS256", "PS256", "ES256"}
    assert "private_key_jwt" not in document["introspection_endpoint_auth_methods_supported"]


def test_chatgpt_document_authenticates_with_assertions_end_to_end(client, user, chatgpt, rsa_key, settings):
    code, pkce = get_code(client, user, chatgpt)
    stored = Client.objects.get(client_id=chatgpt)
    assert stored.client_type == "confidential"
    assert stored.token_endpoint_auth_method == "private_key_jwt"

    token = code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, rsa_key, settings))
    assert token.status_code == 200, token.content
    refresh_token = token.json()["refresh_token"]

    # Refresh needs a fresh assertion too; client_id may be left out (RFC 7523 §3).
    no_assertion = form_post(
        client,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": chatgpt},
    )
    assert no_assertion.status_code == 401
    assert no_assertion.json()["error"] == "invalid_client"
    refreshed = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(chatgpt, rsa_key, settings, aud=settings.ISSUER),
        },
    )
    assert refreshed.status_code == 200, refreshed.content


def test_code_exchange_without_assertion_is_invalid_client(client, user, chatgpt):
    code, pkce = get_code(client, user, chatgpt)
    response = code_exchange(client, chatgpt, code, pkce)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"aud": "https://elsewhere.example/token"}, id="wrong-aud"),
        pytest.param({"sub": "someone-else"}, id="sub-not-client"),
        pytest.param({"iss": "https://evil.example/client.json"}, id="iss-not-client"),
        pytest.param({"exp": int(time.time()) - 600}, id="expired"),
        pytest.param({"exp": int(time.time()) + 86400}, id="exp-too-far"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"jti": None}, id="no-jti"),
    ],
)
def test_bad_assertions_are_invalid_client(client, user, chatgpt, rsa_key, settings, bad):
    code, pkce = get_code(client, user, chatgpt)
    response = code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, rsa_key, settings, **bad))
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    # The code was not spent on a failed authentication: the right assertion still works.
    assert (
        code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, rsa_key, settings)).status_code == 200
    )


def test_replayed_assertion_is_refused(client, user, chatgpt, rsa_key, settings):
    signed = assertion(chatgpt, rsa_key, settings)
    code, pkce = get_code(client, user, chatgpt)
    assert code_exchange(client, chatgpt, code, pkce, signed).status_code == 200
    code, pkce = get_code(client, user, chatgpt)
    replay = code_exchange(client, chatgpt, code, pkce, signed)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"


def test_assertion_signed_by_another_key_or_unsigned_is_refused(client, user, chatgpt, settings):
    code, pkce = get_code(client, user, chatgpt)
    stranger = jwk.JWK.generate(kty="RSA", size=2048, kid="chatgpt-1")
    assert (
        code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, stranger, settings)).status_code == 401
    )
    hmac_key = jwk.JWK.generate(kty="oct", size=256, kid="chatgpt-1")
    forged = assertion(chatgpt, hmac_key, settings, alg="HS256")
    assert code_exchange(client, chatgpt, code, pkce, forged).status_code == 401
    header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    claims = jwt.JWT(claims={"iss": chatgpt}).claims.encode()
    unsigned = f"{header}.{base64.urlsafe_b64encode(claims).rstrip(b'=').decode()}."
    assert code_exchange(client, chatgpt, code, pkce, unsigned).status_code == 401


def test_rotated_keys_are_fetched_again(client, user, chatgpt, documents, rsa_key, settings):
    code, pkce = get_code(client, user, chatgpt)
    assert (
        code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, rsa_key, settings)).status_code == 200
    )
    new_key = jwk.JWK.generate(kty="RSA", size=2048, kid="chatgpt-2")
    documents.publish("/oauth/jwks.json", public_set(new_key))
    code, pkce = get_code(client, user, chatgpt)
    assert (
        code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, new_key, settings)).status_code == 200
    )
    assert documents.hits("/oauth/jwks.json") == 2


@pytest.mark.parametrize(("kty", "alg"), [("EC", "ES256"), ("RSA", "PS256")])
def test_inline_jwks_and_other_algorithms(client, user, documents, settings, kty, alg):
    key = (
        jwk.JWK.generate(kty=kty, crv="P-256", kid="k1")
        if kty == "EC"
        else jwk.JWK.generate(kty=kty, size=2048, kid="k1")
    )
    client_id = documents.url("/inline.json")
    document = {**chatgpt_document(client_id, ""), "jwks": public_set(key)}
    del document["jwks_uri"]
    documents.publish("/inline.json", document)
    code, pkce = get_code(client, user, client_id)
    response = code_exchange(client, client_id, code, pkce, assertion(client_id, key, settings, alg=alg))
    assert response.status_code == 200, response.content


def test_document_with_private_key_material_is_refused(client, user, documents, rsa_key):
    client_id = documents.url("/leaky.json")
    document = {**chatgpt_document(client_id, ""), "jwks": {"keys": [json.loads(rsa_key.export_private())]}}
    del document["jwks_uri"]
    documents.publish("/leaky.json", document)
    client.force_login(user)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    assert client.get("/oauth/authorize?" + urlencode(params)).status_code == 400
    assert not Client.objects.filter(client_id=client_id).exists()


def test_assertions_never_open_introspection(client, user, chatgpt, rsa_key, settings):
    code, pkce = get_code(client, user, chatgpt)
    token = code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, rsa_key, settings)).json()
    response = form_post(
        client,
        "/oauth/introspect",
        {
            "token": token["access_token"],
            "client_id": chatgpt,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(chatgpt, rsa_key, settings, aud=settings.ISSUER),
        },
    )
    assert response.status_code == 401


def test_assertion_revokes_its_own_token(client, user, chatgpt, rsa_key, settings):
    code, pkce = get_code(client, user, chatgpt)
    token = code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, rsa_key, settings)).json()
    revoke = form_post(
        client,
        "/oauth/revoke",
        {
            "token": token["access_token"],
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(chatgpt, rsa_key, settings),
        },
    )
    assert revoke.status_code == 200
    assert (
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").status_code == 401
    )


def test_secret_clients_cannot_use_assertions(client, settings, rsa_key):
    service = make_confidential_client()
    body = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(service.client_id, rsa_key, settings),
    }
    assert form_post(client, "/oauth/token", body).status_code == 401
    ok = form_post(client, "/oauth/token", {"grant_type": "client_credentials"},
                   HTTP_AUTHORIZATION=basic_auth(service.client_id, service.plain_secret))  # fmt: skip
    assert ok.status_code == 200


def register(client, body):
    return client.post("/oauth/register", json.dumps(body), content_type="application/json")


def test_dynamically_registered_client_with_jwks_authenticates_with_assertions(client, user, settings):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="dcr-1")
    response = register(
        client,
        {
            "client_name": "Key-holding agent",
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": public_set(key),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert body["jwks"] == public_set(key)
    client_id = body["client_id"]
    code, pkce = get_code(client, user, client_id)
    assert code_exchange(client, client_id, code, pkce).status_code == 401
    signed = assertion(client_id, key, settings, alg="ES256")
    assert code_exchange(client, client_id, code, pkce, signed).status_code == 200


def test_dynamically_registered_service_uses_assertions_for_client_credentials(client, settings, documents):
    settings.DCR_ALLOW_CLIENT_CREDENTIALS = True
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="svc-1")
    jwks_uri = documents.publish("/svc/jwks.json", public_set(key))
    metadata = {
        "client_name": "svc",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": jwks_uri,
    }
    body = register(client, metadata).json()
    assert body["jwks_uri"] == jwks_uri
    token = form_post(
        client,
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(body["client_id"], key, settings),
        },
    )
    assert token.status_code == 200, token.content


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param({}, id="no-keys"),
        pytest.param({"jwks": {"keys": []}}, id="empty-set"),
        pytest.param({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, id="symmetric"),
        pytest.param({"jwks_uri": "http://keys.example/jwks.json"}, id="http-jwks-uri"),
        pytest.param(
            {"jwks_uri": "https://keys.example/jwks.json", "jwks": {"keys": [{"kty": "EC"}]}}, id="both"
        ),
    ],
)
def test_registration_with_unusable_keys_is_refused(client, rsa_key, keys):
    private = {"jwks": {"keys": [json.loads(rsa_key.export_private())]}}
    for extra in (keys, private):
        response = register(
            client, {"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt", **extra}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_client_metadata"
    assert not Client.objects.exists()


def test_bad_assertions_do_not_make_us_fetch_keys_at_will(client, user, chatgpt, documents, settings):
    stranger = jwk.JWK.generate(kty="RSA", size=2048, kid="chatgpt-1")
    code, pkce = get_code(client, user, chatgpt)
    for _ in range(5):
        assert (
            code_exchange(client, chatgpt, code, pkce, assertion(chatgpt, stranger, settings)).status_code
            == 401
        )
    assert documents.hits("/oauth/jwks.json") == 2  # the first fetch and one refetch for rotation


def test_assertion_without_its_type_or_with_a_secret_is_refused(client, user, chatgpt, rsa_key, settings):
    code, pkce = get_code(client, user, chatgpt)
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": chatgpt,
        "code_verifier": pkce.verifier,
    }
    untyped = form_post(
        client, "/oauth/token", {**base, "client_assertion": assertion(chatgpt, rsa_key, settings)}
    )
    assert untyped.status_code == 401
    signed = assertion(chatgpt, rsa_key, settings)
    mixed_body = {
        **base,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        "client_secret": "x",
    }
    mixed = form_post(client, "/oauth/token", mixed_body)
    assert mixed.status_code == 401
    assert mixed.json()["error"] == "invalid_client"
