"""Redirect URI and scope rules for clients registered by admins."""

import pytest
from django.core.exceptions import ValidationError

from oauth_clients.policy import (
    redirect_uri_problem,
    validate_redirect_uris,
    validate_resources,
    validate_scopes,
)


@pytest.mark.parametrize(
    "uri",
    [
        "https://claude.ai/api/mcp/auth_callback",
        "https://chatgpt.com/connector/oauth/abc123",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:33418/",
        "http://localhost:6274/oauth/callback",
        "http://[::1]:8080/cb",
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "vscode://vscode.github-authentication/did-authenticate",
    ],
)
def test_accepted_redirect_uris(uri):
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("http://example.com/callback", "loopback"),
        ("https://example.com/cb#frag", "fragment"),
        ("https://*.example.com/cb", "wildcard"),
        ("https://user:pw@example.com/cb", "credentials"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/html,hi", "data"),
        ("myapp://callback", "CUSTOM_REDIRECT_SCHEMES"),
        ("/relative/path", "absolute"),
        ("https://exa mple.com/cb", "spaces"),
        ("https://example.com:99999/cb", "not a valid URI"),
    ],
)
def test_refused_redirect_uris_say_why(uri, reason):
    assert reason in redirect_uri_problem(uri)


def test_validate_lists_every_bad_uri():
    with pytest.raises(ValidationError) as error:
        validate_redirect_uris(["https://ok.example/cb", "http://bad.example/cb", "https://x/#f"])
    assert len(error.value.messages) == 2


def test_unknown_scopes_are_refused():
    with pytest.raises(ValidationError, match="Unknown scopes: nope"):
        validate_scopes(["mcp:tools", "nope"])


def test_resources_must_be_absolute_https():
    validate_resources(["https://mcp.example.com/mcp", "http://127.0.0.1:9000/mcp"])
    with pytest.raises(ValidationError):
        validate_resources(["mcp.example.com"])
    with pytest.raises(ValidationError):
        validate_resources(["http://mcp.example.com/mcp"])
