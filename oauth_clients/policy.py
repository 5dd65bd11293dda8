"""Decisions about clients, as plain functions: testable without HTTP, shared by the admin
form, the management commands and (later) dynamic registration."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` may not be registered as a redirect URI, or None if it may.

    https anywhere; http only on loopback (RFC 8252 §7.3, any port at runtime); a
    private-use scheme (RFC 8252 §7.1) only if the deployment allows it; never a fragment
    (RFC 6749 §3.1.2), a wildcard, or credentials in the authority.
    """
    if not uri or any(ch.isspace() for ch in uri):
        return "must be a single URI without spaces"
    if "#" in uri:
        return "must not contain a fragment (#)"
    if "*" in uri:
        return "must not contain wildcards"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return "is not a valid URI"
    scheme = parts.scheme.lower()
    if scheme in ("javascript", "data", "file", "vbscript"):
        return f"must not use the {scheme}: scheme"
    if "@" in parts.netloc:
        return "must not contain user credentials"
    if scheme == "https":
        return None if parts.hostname else "must name a host"
    if scheme == "http":
        if parts.hostname in LOOPBACK_HOSTS:
            return None
        return "may use http only on a loopback host (127.0.0.1, [::1], localhost); use https"
    if scheme and scheme in settings.CUSTOM_REDIRECT_SCHEMES:
        return None
    if not scheme:
        return "must be an absolute URI"
    return f"uses the scheme {scheme!r}, which is not in CUSTOM_REDIRECT_SCHEMES"


def redirects_are_loopback_only(uris: list[str]) -> bool:
    """Any app on the user's machine can listen on loopback: consent warns about such clients."""
    return bool(uris) and all(urlsplit(uri).hostname in LOOPBACK_HOSTS for uri in uris)


def validate_redirect_uris(uris: list[str]) -> None:
    problems = [f"{uri}: {problem}" for uri in uris if (problem := redirect_uri_problem(uri))]
    if problems:
        raise ValidationError(problems)


def validate_scopes(scopes: list[str]) -> None:
    unknown = sorted(set(scopes) - set(settings.SCOPES))
    if unknown:
        raise ValidationError(
            f"Unknown scopes: {', '.join(unknown)}. Configured: {', '.join(settings.SCOPES)}."
        )


def resource_problem(uri: str) -> str | None:
    """RFC 8707 §2: an absolute URI without a fragment."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:  # e.g. a malformed IPv6 host: http://[::1
        return "must be an absolute http(s) URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute http(s) URL"
    if "#" in uri:
        return "must not contain a fragment"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return "must use https outside loopback"
    return None


def validate_resources(uris: list[str]) -> None:
    problems = [f"{uri}: {problem}" for uri in uris if (problem := resource_problem(uri))]
    if problems:
        raise ValidationError(problems)


def normalize_resource(uri: str) -> str:
    """An origin-only URL names the same resource with or without its trailing slash."""
    parts = urlsplit(uri)
    if parts.path in ("", "/") and not parts.query:
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
    return uri


def resource_target_problem(client, resources: list[str]) -> str | None:
    """RFC 8707 §2: why this client may not have a token for these resources, if it may not."""
    if not resources and settings.RESOURCE_REQUIRED:
        return "This server requires a resource parameter naming the MCP server (RFC 8707)."
    allowed = {normalize_resource(uri) for uri in (client.allowed_resources or "").split()}
    for uri in resources:
        if problem := resource_problem(uri):
            return f"The resource {uri!r} {problem}."
        if allowed and normalize_resource(uri) not in allowed:
            return f"This client may not request tokens for {uri!r}."
    return None
