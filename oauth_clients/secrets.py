"""Client secrets: generated from `secrets`, 256 bits, shown once, stored as an HMAC."""

import secrets

from oauth2_provider.generators import BaseHashGenerator

SECRET_BYTES = 32  # 256 bits


def new_client_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


class ClientSecretGenerator(BaseHashGenerator):
    """DOT's hook: every secret DOT generates itself (DCR, createapplication) is ours too."""

    def hash(self) -> str:
        return new_client_secret()
