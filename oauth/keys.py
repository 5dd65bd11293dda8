"""The keys that sign JWT access tokens (RFC 9068) and OIDC id_tokens, and the JWKS.

Every node signs with the same keys because they live in the database (``SigningKey``),
private parts encrypted with a key derived from ``SIGNING_KEY_SECRET``. Nothing is
generated per process: the first node that needs a key for an algorithm creates it, and a
unique constraint makes concurrent starters agree on one.

A key's life (``rotatekeys`` / ``listkeys``)::

    pending   created, published in the JWKS, not signing yet (KEY_ACTIVATION_DELAY)
    active    the newest key of its algorithm whose activation time has come: it signs
    retiring  superseded; still published until every token it signed has expired
    expired   no longer published; ``rotatekeys`` deletes it

Access tokens use ``ACCESS_TOKEN_SIGNING_ALG`` (ES256 by default); id_tokens use the RS256
key, OpenID Connect's default algorithm that every relying party supports. With
``ACCESS_TOKEN_SIGNING_ALG=RS256`` one key signs both.

Deployments that signed id_tokens with ``OIDC_RSA_PRIVATE_KEY(_FILE)`` keep that key: it
becomes the first RS256 key (same ``kid``), so id_tokens already issued still verify.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from jwcrypto import jwk

from oauth.models import SigningKey

logger = logging.getLogger(__name__)

ALGORITHMS = (SigningKey.ES256, SigningKey.RS256)
ID_TOKEN_ALGORITHM = SigningKey.RS256
# Clock skew allowed to relying parties: a retired key outlives its last token by this much.
VERIFICATION_LEEWAY = timedelta(seconds=60)
# A node re-reads the keys at least this often, so a key created on another node is
# published here within this delay (keep KEY_ACTIVATION_DELAY well above it).
RELOAD_SECONDS = 60


def _fernet() -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"authserver signing keys")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(settings.SIGNING_KEY_SECRET.encode())))


def generate_private_key(algorithm: str) -> jwk.JWK:
    if algorithm == SigningKey.ES256:
        return jwk.JWK.generate(kty="EC", crv="P-256")
    if algorithm == SigningKey.RS256:
        return jwk.JWK.generate(kty="RSA", size=2048)
    raise ValueError(f"unsupported signing algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")


def algorithm_of(key: jwk.JWK) -> str:
    kty, crv = key.get("kty"), key.get("crv")
    if kty == "EC" and crv == "P-256":
        return SigningKey.ES256
    if kty == "RSA":
        return SigningKey.RS256
    raise ValueError("only EC P-256 (ES256) and RSA (RS256) keys can sign")


def token_lifetime() -> timedelta:
    """How long after its retirement a key may still have live tokens to verify."""
    oauth = settings.OAUTH2_PROVIDER
    longest = max(
        oauth.get("ACCESS_TOKEN_EXPIRE_SECONDS", settings.ACCESS_TOKEN_EXPIRE_SECONDS),
        oauth.get("ID_TOKEN_EXPIRE_SECONDS", settings.ACCESS_TOKEN_EXPIRE_SECONDS),
    )
    return timedelta(seconds=longest) + VERIFICATION_LEEWAY


def state_of(key: SigningKey, now: datetime, active_kids: set[str]) -> str:
    if key.kid in active_kids:
        return "active"
    if key.activates_at > now:
        return "pending"
    if key.retires_at is not None and now < key.retires_at + token_lifetime():
        return "retiring"
    return "expired"


@dataclass
class KeyRing:
    """A snapshot of the keys, valid until ``valid_until`` (the next state change or reload)."""

    published: list[SigningKey]
    active: dict[str, SigningKey]
    valid_until: datetime
    _private: dict[str, jwk.JWK] = field(default_factory=dict)

    def private_key(self, key: SigningKey) -> jwk.JWK:
        private = self._private.get(key.kid)
        if private is None:
            try:
                pem = _fernet().decrypt(key.private_key_encrypted.encode())
            except InvalidToken as error:
                raise ImproperlyConfigured(
                    f"SIGNING_KEY_SECRET cannot decrypt signing key {key.kid}: restore the secret "
                    "the keys were stored with, or run `manage.py rotatekeys --delay 0`."
                ) from error
            private = jwk.JWK.from_pem(pem)
            private["kid"] = key.kid  # jwcrypto builds the JWS header's kid from it
            self._private[key.kid] = private
        return private

    def jwks(self) -> dict:
        return {"keys": [dict(key.public_jwk) for key in self.published]}

    def public_keyset(self) -> jwk.JWKSet:
        keyset = jwk.JWKSet()
        for key in self.published:
            keyset.add(jwk.JWK(**key.public_jwk))
        return keyset


def load_keyring(now: datetime | None = None) -> KeyRing:
    now = now or timezone.now()
    keys = list(SigningKey.objects.all())
    active: dict[str, SigningKey] = {}
    for key in keys:  # ordered by activation: the newest started key of each algorithm wins
        if key.activates_at <= now and (key.retires_at is None or key.retires_at > now):
            current = active.get(key.algorithm)
            if current is None or (key.activates_at, key.kid) > (current.activates_at, current.kid):
                active[key.algorithm] = key
    active_kids = {key.kid for key in active.values()}
    published = [key for key in keys if state_of(key, now, active_kids) != "expired"]
    # The snapshot is good until the next activation, retirement or expiry it knows of.
    transitions = [now + timedelta(seconds=RELOAD_SECONDS)]
    for key in keys:
        transitions += [t for t in (key.activates_at, key.retires_at) if t is not None and t > now]
        if key.retires_at is not None and key.retires_at + token_lifetime() > now:
            transitions.append(key.retires_at + token_lifetime())
    return KeyRing(published=published, active=active, valid_until=min(transitions))


_lock = threading.Lock()
_ring: KeyRing | None = None


def keyring() -> KeyRing:
    global _ring
    ring = _ring
    if ring is None or timezone.now() >= ring.valid_until:
        with _lock:
            ring = _ring
            if ring is None or timezone.now() >= ring.valid_until:
                ring = _ring = load_keyring()
    return ring


def forget(**kwargs) -> None:
    """Drop this process's snapshot (on key changes here; other nodes reload on their own)."""
    global _ring
    _ring = None


post_save.connect(forget, sender=SigningKey, dispatch_uid="signing-keys-save")
post_delete.connect(forget, sender=SigningKey, dispatch_uid="signing-keys-delete")
setting_changed.connect(forget, dispatch_uid="signing-keys-settings")


def signing_key(algorithm: str) -> tuple[SigningKey, jwk.JWK]:
    """The active key for ``algorithm`` and its private JWK; the first one is created here."""
    ring = keyring()
    key = ring.active.get(algorithm)
    if key is None:
        bootstrap(algorithm)
        ring = keyring()
        key = ring.active[algorithm]
    return key, ring.private_key(key)


def id_token_signing_key() -> jwk.JWK:
    """The private key that signs id_tokens now (settings.ID_TOKEN_SIGNING_KEY names this)."""
    return signing_key(ID_TOKEN_ALGORITHM)[1]


def published_keyring() -> KeyRing:
    """The key ring, with a key for every algorithm this deployment signs with."""
    ring = keyring()
    missing = [alg for alg in required_algorithms() if alg not in ring.active]
    for algorithm in missing:
        bootstrap(algorithm)
    return keyring() if missing else ring


def store_key(private: jwk.JWK, *, activates_at: datetime, bootstrap_for: str | None = None) -> SigningKey:
    algorithm = algorithm_of(private)
    kid = private.thumbprint()
    public = json.loads(private.export_public())
    public.update({"kid": kid, "alg": algorithm, "use": "sig"})
    pem = private.export_to_pem(private_key=True, password=None)
    return SigningKey.objects.create(
        kid=kid,
        algorithm=algorithm,
        public_jwk=public,
        private_key_encrypted=_fernet().encrypt(pem).decode(),
        activates_at=activates_at,
        bootstrap_for=bootstrap_for,
    )


def _legacy_rsa_key() -> jwk.JWK | None:
    pem = getattr(settings, "OIDC_RSA_PRIVATE_KEY", "")
    return jwk.JWK.from_pem(pem.encode()) if pem else None


def bootstrap(algorithm: str) -> None:
    """Create the first key of ``algorithm``, active at once (there is no one to warn yet)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}")
    private = _legacy_rsa_key() if algorithm == SigningKey.RS256 else None
    imported = private is not None and not SigningKey.objects.filter(kid=private.thumbprint()).exists()
    if not imported:
        private = generate_private_key(algorithm)
    try:
        with transaction.atomic():
            key = store_key(private, activates_at=timezone.now(), bootstrap_for=algorithm)
    except IntegrityError:
        # Another node won the race, or a first key was bootstrapped and later superseded
        # and pruned by hand; either way only create one more if nothing can sign.
        forget()
        if algorithm in keyring().active:
            return
        key = store_key(generate_private_key(algorithm), activates_at=timezone.now())
    forget()
    source = "imported from OIDC_RSA_PRIVATE_KEY" if imported else "generated"
    logger.info("signing key created", extra={"kid": key.kid, "algorithm": algorithm, "source": source})


def rotate(algorithm: str, delay: timedelta, private: jwk.JWK | None = None) -> SigningKey:
    """Publish a new key now; it signs after ``delay``, when the current one retires."""
    now = timezone.now()
    private = private or generate_private_key(algorithm)
    if algorithm_of(private) != algorithm:
        raise ValueError(f"the key given is not an {algorithm} key")
    with transaction.atomic():
        key = store_key(private, activates_at=now + delay)
        # Every key of the algorithm that would still be signing then hands over to it.
        SigningKey.objects.filter(algorithm=algorithm, activates_at__lt=key.activates_at).filter(
            Q(retires_at__isnull=True) | Q(retires_at__gt=key.activates_at)
        ).update(retires_at=key.activates_at)
    forget()
    logger.info("signing key rotated", extra={"kid": key.kid, "algorithm": algorithm})
    return key


def prune(now: datetime | None = None) -> list[str]:
    """Delete keys no token can need any more; returns their kids."""
    now = now or timezone.now()
    cutoff = now - token_lifetime()
    doomed = list(SigningKey.objects.filter(retires_at__lte=cutoff).values_list("kid", flat=True))
    SigningKey.objects.filter(kid__in=doomed).delete()
    forget()
    return doomed


def required_algorithms() -> list[str]:
    """The algorithms this deployment signs with: access tokens' and id_tokens'."""
    return sorted({settings.ACCESS_TOKEN_SIGNING_ALG, ID_TOKEN_ALGORITHM})


def jwks_max_age() -> int:
    # A relying party must see a pending key before it signs: cache no longer than the delay.
    return max(0, min(300, settings.KEY_ACTIVATION_DELAY))
