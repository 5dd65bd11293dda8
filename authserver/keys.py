"""The RSA key that signs OIDC id_tokens.

Every process of a deployment must sign with the same key, so the key comes from the
environment (``OIDC_RSA_PRIVATE_KEY``) or from one file shared by all workers. For a
development checkout the file is created on first use; the creation is race-free, so two
workers starting together still end up reading the same key.
"""

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_or_create_rsa_pem(path: Path) -> str:
    """Return the PEM stored at ``path``, creating it (mode 0600) if it does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(fd, "w") as tmp:
                tmp.write(generate_rsa_pem())
            # link() fails if another process won the race: then we read its key.
            try:
                os.link(tmp_name, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp_name)
    return path.read_text()
