"""Dynamic Client Registration (RFC 7591) policy: what an anonymous registrant may get.

DOT's view does the protocol (parsing, storing, the registration access token, RFC 7592
management). Here we decide, as plain functions, how a body MCP clients really send is
read: defaults for missing fields, redirect URIs by `application_type`, which grants an
anonymous caller may have, size limits, and which scopes the new client may ask for.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from oauth_clients import assertions, policy

MAX_BODY_BYTES = 64 * 1024
MAX_REDIRECT_URIS = 20
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 200
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
AUTH_METHODS = ("none", *SECRET_METHODS, assertions.PRIVATE_KEY_JWT)


class RegistrationError(Exception):
    """An RFC 7591 §3.2.2 error: `invalid_redirect_uri` or `invalid_client_metadata`."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class Registration:
    """What DOT should store, and what we echo back beyond DOT's response."""

    body: dict  # the metadata handed to DOT's view
    auth_method: str
    allowed_scopes: list[str]
    application_type: str | None
    jwks: dict | None = None  # private_key_jwt: RFC 7523 assertions verified with these keys
    jwks_uri: str = ""


def _bad(description: str) -> RegistrationError:
    return RegistrationError("invalid_client_metadata", description)


def _string_list(data: dict, field: str) -> list[str]:
    value = data.get(field, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(f"{field} must be an array of strings")
    return value


def redirect_uri_problem(uri: str, application_type: str | None) -> str | None:
    if len(uri) > MAX_URI_LENGTH:
        return f"is longer than {MAX_URI_LENGTH} characters"
    try:
        scheme = urlsplit(uri).scheme.lower()
    except ValueError:  # e.g. a malformed IPv6 host: http://[::1
        return "is not a valid URI"
    if scheme not in ("http", "https") and scheme not in settings.DCR_ALLOWED_CUSTOM_SCHEMES:
        return f"uses the scheme {scheme!r}, which this server does not accept for registration"
    problem = policy.redirect_uri_problem(uri)
    if problem:
        return problem
    # OpenID Connect Dynamic Client Registration §2: web clients use https; native clients
    # loopback or a private-use scheme (RFC 8252 §7.2 claimed https is allowed as well:
    # Cursor registers one next to its cursor:// and loopback URIs).
    if application_type == "web" and scheme != "https":
        return "must use https for a web application (declare application_type native for loopback)"
    return None


def read_registration(data: dict) -> Registration:
    """Turn a client's metadata into what we register, or raise RegistrationError."""
    application_type = data.get("application_type")
    if application_type not in (None, "web", "native"):
        raise _bad("application_type must be 'web' or 'native'")

    name = data.get("client_name") or ""
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
        raise _bad(f"client_name must be a string of at most {MAX_NAME_LENGTH} characters")

    redirect_uris = _string_list(data, "redirect_uris")
    if len(redirect_uris) > MAX_REDIRECT_URIS:
        raise _bad(f"at most {MAX_REDIRECT_URIS} redirect_uris may be registered")
    problems = [
        f"{uri[:100]}: {p}" for uri in redirect_uris if (p := redirect_uri_problem(uri, application_type))
    ]
    if problems:
        raise RegistrationError("invalid_redirect_uri", "; ".join(problems))

    grant_types = _string_list(data, "grant_types")
    if not grant_types:
        # RFC 7591 §2 defaults to authorization_code; a body with no redirect URI at all
        # (seed 004: only client_name) can only mean a service client.
        wants_service = not redirect_uris and settings.DCR_ALLOW_CLIENT_CREDENTIALS
        grant_types = ["client_credentials"] if wants_service else ["authorization_code", "refresh_token"]
    unknown = sorted(set(grant_types) - {"authorization_code", "refresh_token", "client_credentials"})
    if unknown:
        raise _bad(f"unsupported grant_types: {', '.join(unknown)}")
    main_grants = [grant for grant in grant_types if grant != "refresh_token"]
    if not main_grants:
        raise _bad("grant_types must include authorization_code or client_credentials")
    if len(set(main_grants)) > 1:
        raise _bad("register authorization_code and client_credentials as two clients")
    grant = main_grants[0]
    if grant == "client_credentials" and not settings.DCR_ALLOW_CLIENT_CREDENTIALS:
        raise _bad(
            "client_credentials is not available to dynamically registered clients; "
            "register redirect_uris for the authorization code flow, or ask an admin for a client"
        )
    if grant == "authorization_code" and not redirect_uris:
        raise RegistrationError("invalid_redirect_uri", "redirect_uris is required for authorization_code")

    response_types = _string_list(data, "response_types") or ["code"]
    if grant == "authorization_code" and response_types != ["code"]:
        raise _bad("only the 'code' response type is supported")

    auth_method = data.get("token_endpoint_auth_method")
    if auth_method is None:
        # Public + PKCE for code-flow clients unless they ask for a secret (RFC 7591
        # §3.2.1 lets the server choose; we echo what was registered).
        auth_method = "none" if grant == "authorization_code" else "client_secret_basic"
    if auth_method not in AUTH_METHODS:
        raise _bad(
            f"unsupported token_endpoint_auth_method {auth_method!r}; supported: {', '.join(AUTH_METHODS)}"
        )
    if grant == "client_credentials" and auth_method == "none":
        raise _bad(
            "a client_credentials client must authenticate (client_secret_basic or client_secret_post)"
        )

    jwks, jwks_uri = None, ""
    if auth_method == assertions.PRIVATE_KEY_JWT:
        try:
            jwks, jwks_uri = assertions.read_client_keys(data)
        except ValueError as error:
            raise _bad(str(error)) from error

    scope = data.get("scope") or ""
    if not isinstance(scope, str):
        raise _bad("scope must be a space-separated string")
    # Every advertised scope is grantable: Claude asks for the whole scopes_supported
    # list, and the user still consents to what the token carries. Service scopes
    # (introspection) are for clients an admin registers.
    advertised = [s for s in settings.SCOPES if s not in settings.SERVICE_SCOPES]
    requested = [s for s in scope.split() if s in advertised]
    allowed = requested or advertised

    body = {
        "client_name": name,
        "redirect_uris": redirect_uris,
        "grant_types": [grant],
        # DOT stores every authenticating client as client_secret_basic; an assertion
        # client's generated secret is never returned and never accepted (validator).
        "token_endpoint_auth_method": "client_secret_basic" if jwks or jwks_uri else auth_method,
    }
    return Registration(body, auth_method, allowed, application_type, jwks, jwks_uri)


def is_trusted_redirect(uri: str) -> bool:
    """Consent shows clients whose callbacks live on DCR_TRUSTED_REDIRECT_HOSTS as known."""
    host = (urlsplit(uri).hostname or "").lower()
    return any(
        host == trusted or host.endswith("." + trusted) for trusted in settings.DCR_TRUSTED_REDIRECT_HOSTS
    )
