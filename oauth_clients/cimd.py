"""Client ID Metadata Documents: our policy on top of DOT's CIMD support.

DOT (`oauth2_provider/cimd.py`) owns the protocol: when a `client_id` is an https URL it
checks the permission classes and the failure backoff, fetches the document with its
SSRF-hardened fetcher (public addresses only, pinned IP, no redirects, bounded time and
size), compares the document's `client_id` with the URL and stores a public client.

DOT 3.4.1 refuses the documents Claude and ChatGPT publish (upstream #1855: Claude
declares a `jwt-bearer` grant next to `authorization_code`; #1845: ChatGPT chooses
`private_key_jwt`). The fetcher is DOT's documented place for site policy, so ours reads
the document first and hands DOT a normalised one:

- grant types we do not serve are ignored, not fatal; `authorization_code` must remain;
- `private_key_jwt` with `jwks` or `jwks_uri` makes a confidential client that
  authenticates with RFC 7523 assertions (oauth_clients/assertions.py); another method
  falls back to `none` when the document lists it in `token_endpoint_auth_methods_supported`;
- redirect URIs follow the registration policy (oauth_clients/dcr.py); those it refuses
  are dropped, and a document left with none is refused.

What DOT does not store (auth method, keys, scopes) is applied by `apply_document` once
DOT has saved the client, in the same request (see `capture_document`).
"""

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from oauth2_provider.cimd import CIMDError
from oauth2_provider.models import get_application_model

from oauth_clients import assertions, dcr
from oauth_clients import cache as client_cache
from oauth_clients.document_fetch import JSONDocumentFetcher

logger = logging.getLogger(__name__)

SUPPORTED_GRANTS = ("authorization_code", "refresh_token")
PRIVATE_KEY_JWT = assertions.PRIVATE_KEY_JWT
SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")

_captured = threading.local()


@dataclass
class ClientDocument:
    """What we keep from a metadata document beyond DOT's name, redirects and grant."""

    client_id: str
    auth_method: str = "none"
    jwks: dict | None = None
    jwks_uri: str = ""
    allowed_scopes: list[str] = field(default_factory=list)


def read_document(client_id: str, document: dict) -> tuple[dict, ClientDocument]:
    """Apply our policy to a fetched document: (what DOT stores, what we store), or CIMDError."""
    if document.get("client_id") != client_id:
        # draft §4.1: simple string comparison with the URL it was fetched from.
        raise CIMDError("document client_id does not match the client_id URL")
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise CIMDError("a metadata document must not carry client_secret")

    application_type = document.get("application_type")
    if application_type not in (None, "web", "native"):
        raise CIMDError("application_type must be 'web' or 'native'")

    grant_types = document.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
        raise CIMDError("grant_types must be an array of strings")
    if "authorization_code" not in grant_types:
        raise CIMDError("the document declares no grant this server serves (authorization_code)")
    ignored = sorted(set(grant_types) - set(SUPPORTED_GRANTS))
    if ignored:
        logger.info("CIMD %s: ignoring grant types %s", client_id, ", ".join(ignored))
    response_types = document.get("response_types", ["code"])
    if not isinstance(response_types, list) or "code" not in response_types:
        raise CIMDError("response_types must include 'code'")

    redirect_uris = document.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not all(isinstance(u, str) for u in redirect_uris):
        raise CIMDError("redirect_uris must be a non-empty array of strings")
    accepted = []
    for uri in redirect_uris[: dcr.MAX_REDIRECT_URIS]:
        if problem := dcr.redirect_uri_problem(uri, application_type):
            logger.info("CIMD %s: dropping redirect URI %.100s: %s", client_id, uri, problem)
        else:
            accepted.append(uri)
    if not accepted:
        raise CIMDError("no redirect URI in the document is acceptable")

    name = document.get("client_name")
    if not isinstance(name, str) or not name.strip():
        name = urlsplit(client_id).hostname or ""

    scope = document.get("scope")
    requested = [s for s in scope.split() if s in settings.SCOPES] if isinstance(scope, str) else []
    # As for registered clients, every advertised scope is grantable; consent decides.
    stored = ClientDocument(client_id=client_id, allowed_scopes=requested or list(settings.SCOPES))
    _read_authentication(document, stored)

    for_dot = {
        "client_id": client_id,
        "client_name": name.strip()[: dcr.MAX_NAME_LENGTH],
        "redirect_uris": accepted,
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }
    return for_dot, stored


def _read_authentication(document: dict, stored: ClientDocument) -> None:
    method = document.get("token_endpoint_auth_method", "none")
    supported = document.get("token_endpoint_auth_methods_supported")
    supported = supported if isinstance(supported, list) else []
    if method in SECRET_METHODS:
        # draft §4.1: no shared secret can exist for a client nobody registered.
        raise CIMDError(f"token_endpoint_auth_method {method!r} needs a shared secret")
    has_keys = document.get("jwks") is not None or document.get("jwks_uri") is not None
    if method == PRIVATE_KEY_JWT and (has_keys or "none" not in supported):
        try:
            stored.jwks, stored.jwks_uri = assertions.read_client_keys(document)
        except ValueError as error:
            raise CIMDError(str(error)) from error
        stored.auth_method = PRIVATE_KEY_JWT
        return
    if method != "none" and "none" not in supported:
        raise CIMDError(f"unsupported token_endpoint_auth_method {method!r}")
    stored.auth_method = "none"


class MetadataDocumentFetcher(JSONDocumentFetcher):
    """DOT's SSRF-hardened fetcher, with our document policy applied to what it returns."""

    def fetch(self, client_id):
        document, max_age = self.fetch_json(client_id)
        for_dot, stored = read_document(client_id, document)
        holder = getattr(_captured, "holder", None)
        if holder is not None:
            holder[client_id] = stored
        return for_dot, max_age


@contextlib.contextmanager
def capture_document():
    """Collect the documents our fetcher reads while DOT resolves a client in this thread."""
    previous = getattr(_captured, "holder", None)
    _captured.holder = holder = {}
    try:
        yield holder
    finally:
        _captured.holder = previous


def apply_document(client, stored: ClientDocument):
    """Store what DOT's CIMD upsert leaves out: auth method, keys, allowed scopes."""
    Client = get_application_model()
    confidential = stored.auth_method == PRIVATE_KEY_JWT
    values = {
        "client_type": Client.CLIENT_CONFIDENTIAL if confidential else Client.CLIENT_PUBLIC,
        "token_endpoint_auth_method": stored.auth_method,
        "jwks": stored.jwks,
        "jwks_uri": stored.jwks_uri,
        "allowed_scopes": " ".join(stored.allowed_scopes),
    }
    Client.objects.filter(pk=client.pk).update(**values)
    for name, value in values.items():
        setattr(client, name, value)
    client_cache.forget(client.client_id)
    logger.info("CIMD client %s stored (token_endpoint_auth_method %s)", client.client_id, stored.auth_method)
    return client


def client_id_host(client) -> str | None:
    """The host that vouches for a metadata-document client (shown on the consent page)."""
    if client is None or client.registration_source != "cimd":
        return None
    return urlsplit(client.client_id).hostname
