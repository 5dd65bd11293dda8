"""What an admin does to clients, as functions: the admin, the commands and `make run`
all go through here, so a secret is generated, hashed and shown the same way everywhere."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from audit import events as audit
from oauth_clients import policy
from oauth_clients.secrets import new_client_secret

Client = get_application_model()

GRANTS = {
    "authorization-code": Client.GRANT_AUTHORIZATION_CODE,
    "client-credentials": Client.GRANT_CLIENT_CREDENTIALS,
}


@dataclass
class IssuedClient:
    client: "Client"
    secret: str | None  # plaintext, only here and only once


@transaction.atomic
def create_client(
    *,
    name: str,
    client_type: str = Client.CLIENT_CONFIDENTIAL,
    grant_type: str = Client.GRANT_AUTHORIZATION_CODE,
    redirect_uris: list[str] = (),
    allowed_scopes: list[str] = (),
    allowed_resources: list[str] = (),
    description: str = "",
    client_id: str | None = None,
    source: str = "command",
) -> IssuedClient:
    """Validate and create a client; a confidential one gets a fresh 256-bit secret."""
    if client_type not in (Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC):
        raise policy.ValidationError(f"Unknown client type {client_type!r}.")
    if grant_type not in GRANTS.values():
        raise policy.ValidationError(f"Unsupported grant type {grant_type!r}.")
    if client_type == Client.CLIENT_PUBLIC and grant_type != Client.GRANT_AUTHORIZATION_CODE:
        raise policy.ValidationError("A public client can only use the authorization code flow (with PKCE).")
    if grant_type == Client.GRANT_AUTHORIZATION_CODE and not redirect_uris:
        raise policy.ValidationError("An authorization-code client needs at least one redirect URI.")
    policy.validate_redirect_uris(list(redirect_uris))
    policy.validate_scopes(list(allowed_scopes))
    policy.validate_resources(list(allowed_resources))
    secret = new_client_secret() if client_type == Client.CLIENT_CONFIDENTIAL else None
    client = Client(
        name=name,
        client_type=client_type,
        authorization_grant_type=grant_type,
        redirect_uris=" ".join(redirect_uris),
        allowed_scopes=" ".join(allowed_scopes),
        allowed_resources=" ".join(allowed_resources),
        description=description,
        client_secret=secret or "",
        hash_client_secret=secret is not None,
        algorithm=Client.RS256_ALGORITHM,
    )
    if client_id:
        client.client_id = client_id
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    audit.record(
        audit.Event.CLIENT_REGISTERED,
        client_id=client.client_id,
        source=source,
        client_name=name,
        client_type=client_type,
        grant_types=[grant_type],
    )
    return IssuedClient(client, secret)


@transaction.atomic
def rotate_client_secret(
    client: "Client", grace_period: timedelta = timedelta(0), *, request=None, source: str = "command"
) -> str:
    """Issue a new secret; the old one keeps working for `grace_period` (default: not at all).
    `request`: the admin's, for the audit trail."""
    if client.client_type != Client.CLIENT_CONFIDENTIAL:
        raise policy.ValidationError("Only confidential clients have a secret.")
    secret = new_client_secret()
    if grace_period > timedelta(0):
        client.previous_client_secret = client.client_secret
        client.previous_secret_valid_until = timezone.now() + grace_period
    else:
        client.previous_client_secret = ""
        client.previous_secret_valid_until = None
    client.client_secret = secret
    client.hash_client_secret = True
    client.save()
    audit.record(
        audit.Event.CLIENT_SECRET_ROTATED,
        request=request,
        client_id=client.client_id,
        source=source,
        grace_seconds=int(grace_period.total_seconds()),
    )
    return secret
