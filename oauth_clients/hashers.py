"""A fast keyed hash for client secrets.

Client secrets are ≥ 256-bit random strings, not passwords: nobody can guess them, so a
deliberately slow hash (PBKDF2, ≈0.5 s of CPU per check) only buys a denial-of-service
lever. HMAC-SHA-256 under a server-side key keeps a stolen table useless without the key
and costs microseconds. Registered as a Django password hasher so that DOT stores and
checks secrets through its CLIENT_SECRET_HASHER setting unchanged; user passwords keep
Django's first (slow) hasher.
"""

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop as _


def _key() -> bytes:
    return hashlib.sha256(b"client-secret-hmac:" + settings.CLIENT_SECRET_HMAC_KEY.encode()).digest()


class HMACSHA256ClientSecretHasher(BasePasswordHasher):
    algorithm = "hmac_sha256"

    def salt(self) -> str:
        # The key is the secret ingredient; a salt adds nothing for random secrets.
        return ""

    def encode(self, password: str, salt: str = "") -> str:
        digest = hmac.new(_key(), password.encode(), hashlib.sha256).hexdigest()
        return f"{self.algorithm}${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, digest = encoded.split("$", 1)
        if algorithm != self.algorithm:
            raise ValueError(f"not a {self.algorithm} hash")
        return {"algorithm": algorithm, "hash": digest, "salt": ""}

    def verify(self, password: str, encoded: str) -> bool:
        return constant_time_compare(self.encode(password), encoded)

    def safe_summary(self, encoded: str) -> dict:
        return {_("algorithm"): self.algorithm, _("hash"): mask_hash(self.decode(encoded)["hash"])}

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
