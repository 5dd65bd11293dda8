"""Signing keys: stored encrypted, shared, published in the JWKS, rotated without a failed
validation, and the upgrade path from the old OIDC RSA key."""

import json
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone
from jwcrypto import jwk

from oauth import keys
from oauth.models import SigningKey
from resource_server import ResourceServerConfig, build_verifier
from tests.conftest import django_transport

pytestmark = pytest.mark.django_db

MCP = "https://mcp.example.com/mcp"


def kid_of(token: str) -> str:
    import base64

    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def published_kids(client) -> set[str]:
    return {key["kid"] for key in client.get("/oauth/jwks").json()["keys"]}


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


class Clock:
    """The resource server's clock, moved along with the keys' schedule."""

    def __init__(self):
        self.offset = 0.0

    def time(self):
        return time.time() + self.offset

    def monotonic(self):
        return time.monotonic() + self.offset

    def advance(self, seconds):
        self.offset += seconds


def time_passes(seconds: float) -> None:
    """Move every key's schedule back, which is what the passing of time does to it."""
    delta = timedelta(seconds=seconds)
    for key in SigningKey.objects.all():
        key.activates_at -= delta
        if key.retires_at:
            key.retires_at -= delta
        key.save()
    keys.forget()


def test_private_keys_are_stored_encrypted_with_the_configured_secret(settings, client):
    client.get("/oauth/jwks")
    stored = SigningKey.objects.get(algorithm="ES256")
    assert "PRIVATE KEY" not in stored.private_key_encrypted
    assert "d" not in stored.public_jwk
    assert keys.keyring().private_key(stored).thumbprint() == stored.kid
    settings.SIGNING_KEY_SECRET = "another-secret"  # noqa: S105
    with pytest.raises(ImproperlyConfigured, match="SIGNING_KEY_SECRET cannot decrypt"):
        keys.load_keyring().private_key(stored)


def test_first_use_creates_one_key_per_algorithm_and_never_a_second(client):
    first = published_kids(client)
    keys.forget()  # another node, or this one later
    keys.bootstrap("ES256")  # a node that lost the race to create the first key
    assert published_kids(client) == first
    assert SigningKey.objects.count() == 2
    assert sorted(SigningKey.objects.values_list("algorithm", flat=True)) == ["ES256", "RS256"]


def test_jwks_answer_is_cacheable_for_less_than_the_activation_delay(settings, client):
    settings.KEY_ACTIVATION_DELAY = 120
    assert client.get("/oauth/jwks")["Cache-Control"] == "public, max-age=120"
    settings.KEY_ACTIVATION_DELAY = 86400
    assert client.get("/oauth/jwks")["Cache-Control"] == "public, max-age=300"


def test_rotation_publishes_first_signs_later_and_keeps_the_old_key(settings, client, tokens, public_client):
    settings.KEY_ACTIVATION_DELAY = 600
    clock = Clock()
    verifier = build_verifier(
        ResourceServerConfig(issuer=settings.ISSUER, resource=MCP, mode="jwt"),
        transport=django_transport(client),
        clock=clock,
    )
    old_token = tokens(public_client, resource=MCP)["access_token"]
    old_kid = kid_of(old_token)
    verifier.verify(old_token)  # the RS has fetched and cached the JWKS

    out = run("rotatekeys", "--algorithm", "ES256")
    new_kid = SigningKey.objects.exclude(kid=old_kid).get(algorithm="ES256").kid
    assert new_kid in out
    assert {old_kid, new_kid} <= published_kids(client)  # published before it signs
    assert kid_of(tokens(public_client, resource=MCP)["access_token"]) == old_kid

    time_passes(601)  # the activation delay is over, for the AS and for the RS
    clock.advance(601)
    new_token = tokens(public_client, resource=MCP)["access_token"]
    assert kid_of(new_token) == new_kid
    # Tokens from both sides of the switch validate: the RS's key set (cached for the
    # JWKS max-age, shorter than the delay) has the new key by the time it signs.
    assert verifier.verify(new_token).subject == verifier.verify(old_token).subject
    assert verifier.client.jwks_cache.fetch_count == 2
    listing = json.loads(run("listkeys", "--json"))
    states = {row["kid"]: row["state"] for row in listing}
    assert states[old_kid] == "retiring" and states[new_kid] == "active"

    time_passes(keys.token_lifetime().total_seconds() + 1)  # every old token has expired
    assert old_kid not in published_kids(client)
    assert "expired" in run("listkeys")
    assert f"Deleted expired key {old_kid}" in run("rotatekeys", "--algorithm", "RS256")
    assert not SigningKey.objects.filter(kid=old_kid).exists()


def test_id_tokens_signed_before_a_rotation_still_verify(settings, client, tokens, public_client):
    body = tokens(public_client, scope="openid profile")
    run("rotatekeys", "--delay", "0")
    keyset = jwk.JWKSet.from_json(client.get("/oauth/jwks").content)
    assert keyset.get_key(kid_of(body["id_token"])) is not None
    assert kid_of(tokens(public_client, scope="openid profile")["id_token"]) != kid_of(body["id_token"])


def test_rotatekeys_on_an_empty_table_makes_keys_that_sign_at_once(client):
    rows = json.loads(run("rotatekeys", "--json"))["created"]
    assert sorted(row["algorithm"] for row in rows) == ["ES256", "RS256"]
    assert {row["state"] for row in json.loads(run("listkeys", "--json"))} == {"active"}


def test_rotatekeys_can_take_a_key_from_a_pem_file(tmp_path, client):
    client.get("/oauth/jwks")
    private = jwk.JWK.generate(kty="EC", crv="P-256")
    pem = tmp_path / "key.pem"
    pem.write_bytes(private.export_to_pem(private_key=True, password=None))
    run("rotatekeys", "--from-pem", str(pem), "--delay", "0")
    assert private.thumbprint() in published_kids(client)
    assert keys.signing_key("ES256")[0].kid == private.thumbprint()
    with pytest.raises(CommandError, match="already stored"):
        run("rotatekeys", "--from-pem", str(pem))
    pem.write_text("not a key")
    with pytest.raises(CommandError, match="Cannot use"):
        run("rotatekeys", "--from-pem", str(pem))


def test_existing_oidc_rsa_key_is_imported_with_its_kid(settings, client, tokens, public_client):
    legacy = jwk.JWK.generate(kty="RSA", size=2048)
    settings.OIDC_RSA_PRIVATE_KEY = legacy.export_to_pem(private_key=True, password=None).decode()
    body = tokens(public_client, scope="openid")
    assert kid_of(body["id_token"]) == legacy.thumbprint()  # the kid DOT gave it before
    assert legacy.thumbprint() in published_kids(client)


def test_listkeys_on_an_empty_table_says_so():
    assert "No signing keys yet" in run("listkeys")
    assert SigningKey.objects.count() == 0  # the listing itself never creates keys


def test_a_pending_key_never_signs(settings, client, tokens, public_client):
    client.get("/oauth/jwks")
    keys.rotate("ES256", timedelta(hours=1))
    pending = SigningKey.objects.get(activates_at__gt=timezone.now())
    assert kid_of(tokens(public_client)["access_token"]) != pending.kid


@pytest.mark.django_db(transaction=True)
def test_nodes_starting_together_agree_on_one_key():
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent writers")
    barrier = threading.Barrier(4)
    kids, errors = [], []

    def node():
        try:
            barrier.wait()
            keys.forget()
            kids.append(keys.signing_key("ES256")[0].kid)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=node) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(set(kids)) == 1
    assert SigningKey.objects.filter(algorithm="ES256").count() == 1
