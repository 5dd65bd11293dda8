"""Minimal, strict JWS compact verification (RFC 7515) over ``cryptography``.

Why not a general JWT library: the RS needs a closed allow-list of asymmetric algorithms and
a key type bound to each algorithm, all in view here. Measured with ``bench/kit_jwt_validate.py``
it is about 1.6x jwcrypto's JWT path and on par with PyJWT; the ECDSA verification inside
OpenSSL dominates either way. JWK parsing is left to jwcrypto.
"""

from __future__ import annotations

import binascii
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto import jwk

logger = logging.getLogger("resource_server")

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
# RFC 7518 §3.4: ESxxx fixes the curve and the raw R||S signature size.
_EC_PARAMS: dict[str, tuple[str, int]] = {
    "ES256": ("secp256r1", 32),
    "ES384": ("secp384r1", 48),
    "ES512": ("secp521r1", 66),
}
MIN_RSA_BITS = 2048  # RFC 7518 §3.3
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "n", "e", "kid", "alg", "use", "key_ops")


def b64url_decode(data: str) -> bytes:
    """Strict base64url without padding (RFC 7515 §2); raises ValueError."""
    if not _B64URL.fullmatch(data):
        raise ValueError("not base64url")
    return _b64url_decode_checked(data)


_TO_STANDARD_B64 = str.maketrans("-_", "+/")


def _b64url_decode_checked(data: str) -> bytes:
    # Only for input already matched against the base64url alphabet; this is the hot path,
    # so it skips base64.urlsafe_b64decode's generic argument handling.
    try:
        return binascii.a2b_base64(data.translate(_TO_STANDARD_B64) + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))  # UnicodeDecodeError is a ValueError


def looks_like_jws(token: str) -> bool:
    """Three base64url segments: the JWS compact serialization a JWT access token uses."""
    return _COMPACT_JWS.fullmatch(token) is not None


@dataclass(frozen=True)
class CompactJWS:
    header: dict[str, Any]
    payload_b64: str
    signing_input: bytes
    signature: bytes

    @classmethod
    def parse(cls, token: str) -> CompactJWS:
        """Split and decode; raises ValueError for anything that is not a compact JWS."""
        if not looks_like_jws(token):
            raise ValueError("not a compact JWS")
        header_b64, payload_b64, sig_b64 = token.split(".")  # alphabet already checked above
        header = _json(_b64url_decode_checked(header_b64))
        if not isinstance(header, dict):
            raise ValueError("JOSE header is not an object")
        return cls(
            header,
            payload_b64,
            f"{header_b64}.{payload_b64}".encode("ascii"),
            _b64url_decode_checked(sig_b64),
        )

    def payload(self) -> Any:
        return _json(_b64url_decode_checked(self.payload_b64))


@dataclass(frozen=True, eq=False)
class PublicKey:
    """One verification key from the AS's JWKS."""

    kid: str | None
    alg: str | None  # the JWK's own "alg", if it pins one (RFC 7517 §4.4)
    key: Any

    def supports(self, alg: str) -> bool:
        """Whether this key may verify ``alg``: the key type is bound to the algorithm family."""
        if self.alg is not None and self.alg != alg:
            return False
        key = self.key
        if alg in _EC_PARAMS:
            return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _EC_PARAMS[alg][0]
        if alg[:2] in ("RS", "PS"):
            return isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS
        if alg == "EdDSA":
            return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
        return False

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """Check ``signature``; False on any mismatch. Callers must check :meth:`supports` first."""
        key = self.key
        try:
            if alg in _EC_PARAMS:
                size = _EC_PARAMS[alg][1]
                if len(signature) != 2 * size:  # RFC 7518 §3.4: fixed-size R||S, not DER
                    return False
                r = int.from_bytes(signature[:size], "big")
                s = int.from_bytes(signature[size:], "big")
                key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(_HASHES[alg[2:]]()))
            elif alg.startswith("RS"):
                key.verify(signature, signing_input, padding.PKCS1v15(), _HASHES[alg[2:]]())
            elif alg.startswith("PS"):
                digest = _HASHES[alg[2:]]()
                # RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
                pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
                key.verify(signature, signing_input, pss, digest)
            elif alg == "EdDSA":
                key.verify(signature, signing_input)
            else:
                return False
        except (InvalidSignature, UnsupportedAlgorithm, ValueError):
            return False
        return True


class KeySet:
    """Parsed JWKS (RFC 7517 §5): signature keys indexed by ``kid``."""

    def __init__(self, keys: list[PublicKey]) -> None:
        self.keys = tuple(keys)
        self._by_kid: dict[str | None, list[PublicKey]] = {}
        for key in keys:
            self._by_kid.setdefault(key.kid, []).append(key)

    @classmethod
    def from_jwks(cls, document: Any) -> KeySet:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError('JWKS must be an object with a "keys" array')
        keys = []
        for member in document["keys"]:
            key = _parse_jwk(member)
            if key is not None:
                keys.append(key)
        return cls(keys)

    def find(self, kid: str | None, alg: str) -> PublicKey | None:
        if kid is None:
            # No kid in the header: acceptable only when exactly one published key fits the alg.
            candidates = [k for k in self.keys if k.supports(alg)]
            return candidates[0] if len(candidates) == 1 else None
        for key in self._by_kid.get(kid, ()):
            if key.supports(alg):
                return key
        return None


def _parse_jwk(member: Any) -> PublicKey | None:
    if not isinstance(member, dict):
        return None
    if member.get("use", "sig") != "sig":  # RFC 7517 §4.2: encryption keys never verify
        return None
    ops = member.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    kid, alg = member.get("kid"), member.get("alg")
    if (kid is not None and not isinstance(kid, str)) or (alg is not None and not isinstance(alg, str)):
        return None
    # Build from public members only: a private part published by mistake is never used.
    public = {name: member[name] for name in _PUBLIC_MEMBERS if name in member}
    try:
        key = jwk.JWK(**public).get_op_key("verify")
    except Exception as exc:  # jwcrypto raises many types for malformed keys
        logger.warning("ignoring unusable JWK kid=%r: %s", kid, exc)
        return None
    if not isinstance(
        key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
    ):
        return None
    return PublicKey(kid=kid, alg=alg, key=key)
