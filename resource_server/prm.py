"""RFC 9728 OAuth 2.0 Protected Resource Metadata for this RS."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .challenges import check_scopes
from .config import ResourceServerConfig

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def protected_resource_metadata(
    config: ResourceServerConfig,
    *,
    scopes_supported: Iterable[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The metadata document (RFC 9728 §2); ``extra`` adds or overrides members."""
    document: dict[str, Any] = {
        # §3.3: must be identical to the resource identifier clients use (RFC 8707 `resource`).
        "resource": config.resource,
        "authorization_servers": [config.issuer],
        "bearer_methods_supported": ["header"],  # RFC 6750 §2.1 only: no query or body tokens
    }
    scopes = check_scopes(config.scopes_supported if scopes_supported is None else scopes_supported)
    if scopes:
        document["scopes_supported"] = list(scopes)
    if config.resource_name:
        document["resource_name"] = config.resource_name
    if config.resource_documentation:
        document["resource_documentation"] = config.resource_documentation
    document.update(extra)
    return document


def metadata_path(resource: str) -> str:
    """The path of the metadata URL (§3.1): the well-known prefix plus the resource's path."""
    path = urlsplit(resource).path
    return WELL_KNOWN + ("" if path in ("", "/") else path)


def metadata_paths(resource: str) -> tuple[str, ...]:
    """Paths to serve the document at: the §3.1 path and, for a resource with a path, the
    bare well-known path too, which older MCP clients probe when no challenge told them."""
    path = metadata_path(resource)
    return (path,) if path == WELL_KNOWN else (path, WELL_KNOWN)
