"""Settings for the authorization server. Every environment variable is read here, once.

Each variable is documented in README.md ("Configuration") and .env.example.
"""

from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy, gettext_noop

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# The issuer identifier (RFC 8414 §2). Published byte for byte in both discovery
# documents and in the RFC 9207 `iss` parameter; a trailing slash is dropped so that
# `https://x` and `https://x/` cannot drift apart.
ISSUER = env.str("ISSUER", default="http://127.0.0.1:8000").rstrip("/")
_issuer = urlsplit(ISSUER)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ISSUER_IS_LOOPBACK = _issuer.hostname in LOOPBACK_HOSTS
ISSUER_IS_HTTPS = _issuer.scheme == "https"
if _issuer.scheme not in ("http", "https") or not _issuer.hostname:
    raise ImproperlyConfigured(f"ISSUER must be an absolute http(s) URL, got {ISSUER!r}")
if not DEBUG and not ISSUER_IS_HTTPS and not ISSUER_IS_LOOPBACK:
    raise ImproperlyConfigured(
        "ISSUER must use https outside loopback when DEBUG is off (run behind a TLS proxy)."
    )

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnop"  # noqa: S105 (DEBUG only)
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[_issuer.hostname, "127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = [f"{_issuer.scheme}://{_issuer.netloc}"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "corsheaders",
    # Lowest first; each imports only the ones above it in this list (ops below all).
    "ops",
    "audit",
    "oauth_clients",
    "oauth",
    "userinfo",
    "accounts",
    "axes",
]

# API endpoints (ops/stacks.py: /oauth/… but the authorization page, /.well-known/…) go
# through API_MIDDLEWARE only; pages through MIDDLEWARE.
# A database outage raised by the view is turned into the 503 by ops/stacks.py itself.
API_MIDDLEWARE = [
    "ops.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",  # HSTS, nosniff, Referrer-Policy, https
    "corsheaders.middleware.CorsMiddleware",
    "ops.input_guard.InputGuardMiddleware",
    "ops.ratelimits.RateLimitMiddleware",
]
MIDDLEWARE = [
    "ops.stacks.APIStackMiddleware",
    "ops.request_log.RequestLogMiddleware",
    "ops.health.HealthCheckMiddleware",
    # A database outage answers 503 + Retry-After instead of 500.
    "ops.outage.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "ops.input_guard.InputGuardMiddleware",  # NUL bytes, oversized bodies: spec errors
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # After the session, language and user are known (its 429 page shows them) and after
    # CORS (browser clients can read the 429); before any view.
    "ops.ratelimits.RateLimitMiddleware",
    # django-axes: turns a sign-in refused for a locked-out username + address into the
    # lockout page. Last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "authserver.urls"
WSGI_APPLICATION = "authserver.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that polls the socket instead of a SELECT 1
    # round trip before every request's first query (ops/db/base.py).
    DATABASES["default"]["ENGINE"] = "ops.db"
    # Server-side binding lets psycopg prepare the statements every token request repeats,
    # so PostgreSQL plans them once per connection instead of once per query.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env.bool(
        "DB_SERVER_SIDE_BINDING", default=True
    )
# client_credentials tokens are committed without waiting for the WAL flush (PostgreSQL
# only): a crash may lose the last fraction of a second of them, and the service simply
# fetches another. Every other write (codes, refresh rotation, revocation) stays durable.
CLIENT_CREDENTIALS_ASYNC_COMMIT = env.bool("CLIENT_CREDENTIALS_ASYNC_COMMIT", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Users' passwords use Django's first hasher (PBKDF2); the last one is for client secrets
# only (see oauth_clients/hashers.py and CLIENT_SECRET_HASHER below).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "oauth_clients.hashers.HMACSHA256ClientSecretHasher",
]
# django-axes refuses sign-in for a locked-out username + address before any password is
# checked; ModelBackend hashes the password of an unknown username too, so its answer takes
# as long as a wrong password for a real one.
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Key of the client-secret HMAC. Rotating it invalidates every stored client secret.
CLIENT_SECRET_HMAC_KEY = env.str("CLIENT_SECRET_HMAC_KEY", default=SECRET_KEY)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English and Russian, chosen from the language cookie (the switcher) or Accept-Language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", gettext_lazy("English")), ("ru", gettext_lazy("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves collected files (admin included) with far-future caching of the
# hashed names that `collectstatic` writes; the Dockerfile runs it at build time.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = None  # show registration/logged_out.html

# --- Transport security -------------------------------------------------------------
# TLS terminates at the reverse proxy (nginx, Caddy); it tells us the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if not DEBUG else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = ISSUER_IS_HTTPS and not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000) if SESSION_COOKIE_SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SESSION_COOKIE_SECURE
SECURE_HSTS_PRELOAD = SESSION_COOKIE_SECURE and env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Pages with a form keep `same-origin`: under `no-referrer` Chromium sends `Origin: null` with
# the form's POST, which the CSRF check must refuse. Authorization redirects (the ones that
# carry a code or an error to the client) say `no-referrer` (oauth/views.py).
SECURE_REFERRER_POLICY = "same-origin"
# django-csp: no inline script or style anywhere, no framing, no plugins. No `form-action`:
# the consent form's answer is a redirect to the client's own callback, which Chromium
# would hold to it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- OAuth 2.1 ---------------------------------------------------------------------
# English here (discovery and the admin); pages translate them (oauth/scope_descriptions.py).
DEFAULT_SCOPES_DESCRIPTIONS = {
    "openid": gettext_noop("Sign you in with your account"),
    "profile": gettext_noop("See your name and username"),
    "email": gettext_noop("See your email address"),
    "groups": gettext_noop("See the groups you belong to"),
    "offline_access": gettext_noop("Stay connected when you are not using the app"),
    "mcp:tools": gettext_noop("Use the tools of the MCP servers"),
    "mcp:resources": gettext_noop("Read the resources of the MCP servers"),
    "mcp:write": gettext_noop("Change data through the tools of the MCP servers"),
    "introspection": gettext_noop("Check access tokens (for resource servers)"),
}
SCOPES = env.json("SCOPES", default=DEFAULT_SCOPES_DESCRIPTIONS)
if not isinstance(SCOPES, dict) or not all(isinstance(v, str) for v in SCOPES.values()):
    raise ImproperlyConfigured('SCOPES must be a JSON object {"scope": "description", ...}')
# Scopes for services, not people: granted only to clients an admin allows them to, never
# advertised in scopes_supported nor given to self-registered clients.
SERVICE_SCOPES = ("introspection",)
DEFAULT_SCOPES = env.list("DEFAULT_SCOPES", default=["openid", "profile", "email", "mcp:tools"])
if unknown_default_scopes := set(DEFAULT_SCOPES) - set(SCOPES):
    raise ImproperlyConfigured(f"DEFAULT_SCOPES not in SCOPES: {sorted(unknown_default_scopes)}")

ACCESS_TOKEN_EXPIRE_SECONDS = env.int("ACCESS_TOKEN_EXPIRE_SECONDS", default=3600)
AUTHORIZATION_CODE_EXPIRE_SECONDS = env.int("AUTHORIZATION_CODE_EXPIRE_SECONDS", default=600)
REFRESH_TOKEN_EXPIRE_SECONDS = env.int("REFRESH_TOKEN_EXPIRE_SECONDS", default=30 * 24 * 3600)
# Claude refreshes one grant from several workers at once: a repeat of the same refresh
# inside this window gets the same new pair instead of tripping reuse detection.
REFRESH_TOKEN_GRACE_SECONDS = env.int("REFRESH_TOKEN_GRACE_SECONDS", default=30)

# --- Signed tokens (RFC 9068 access tokens, id_tokens) and their keys (oauth/keys.py) ---
ACCESS_TOKEN_FORMAT = env.str("ACCESS_TOKEN_FORMAT", default="jwt")
if ACCESS_TOKEN_FORMAT not in ("jwt", "opaque"):
    raise ImproperlyConfigured("ACCESS_TOKEN_FORMAT must be 'jwt' or 'opaque'")
ACCESS_TOKEN_SIGNING_ALG = env.str("ACCESS_TOKEN_SIGNING_ALG", default="ES256")
if ACCESS_TOKEN_SIGNING_ALG not in ("ES256", "RS256"):
    raise ImproperlyConfigured("ACCESS_TOKEN_SIGNING_ALG must be 'ES256' or 'RS256'")
# Private keys are stored encrypted with a key derived from this secret.
SIGNING_KEY_SECRET = env.str("SIGNING_KEY_SECRET", default=SECRET_KEY)
# A rotated-in key is published this long before it signs, so every resource server has
# fetched it by then.
KEY_ACTIVATION_DELAY = env.int("KEY_ACTIVATION_DELAY", default=3600)
if KEY_ACTIVATION_DELAY < 0:
    raise ImproperlyConfigured("KEY_ACTIVATION_DELAY must be 0 or more seconds")
# Earlier deployments signed id_tokens with this RSA key; if present it becomes the first
# RS256 signing key (same kid), so id_tokens already issued keep verifying.
OIDC_RSA_PRIVATE_KEY = env.str("OIDC_RSA_PRIVATE_KEY", default="").replace("\\n", "\n")
_legacy_rsa_file = Path(env.str("OIDC_RSA_PRIVATE_KEY_FILE", default=str(BASE_DIR / "var" / "oidc-rsa.pem")))
if not OIDC_RSA_PRIVATE_KEY and _legacy_rsa_file.is_file():
    OIDC_RSA_PRIVATE_KEY = _legacy_rsa_file.read_text()

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth_clients.Client"
# What the client model hands DOT to sign an id_token with (the registry never imports oauth).
ID_TOKEN_SIGNING_KEY = "oauth.keys.id_token_signing_key"  # noqa: S105 (a function name)
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
# RFC 8252 §7.1 private-use schemes native clients may register (e.g. cursor, vscode).
CUSTOM_REDIRECT_SCHEMES = [
    s.lower() for s in env.list("CUSTOM_REDIRECT_SCHEMES", default=["cursor", "vscode"])
]
# --- Resource indicators (RFC 8707) ---
# The audience of tokens requested without `resource`: never an unrestricted token.
DEFAULT_AUDIENCE = env.str("DEFAULT_AUDIENCE", default=ISSUER)
RESOURCE_REQUIRED = env.bool("RESOURCE_REQUIRED", default=False)

# --- Dynamic Client Registration (RFC 7591) ---
DCR_MODE = env.str("DCR_MODE", default="open")
if DCR_MODE not in ("open", "token", "off"):
    raise ImproperlyConfigured("DCR_MODE must be 'open', 'token' or 'off'")
DCR_ALLOWED_CUSTOM_SCHEMES = [
    s.lower() for s in env.list("DCR_ALLOWED_CUSTOM_SCHEMES", default=CUSTOM_REDIRECT_SCHEMES)
]
DCR_TRUSTED_REDIRECT_HOSTS = [h.lower() for h in env.list("DCR_TRUSTED_REDIRECT_HOSTS", default=[])]
DCR_ALLOW_CLIENT_CREDENTIALS = env.bool("DCR_ALLOW_CLIENT_CREDENTIALS", default=False)
DCR_UNUSED_CLIENT_TTL = env.int("DCR_UNUSED_CLIENT_TTL", default=7 * 24 * 3600)
DCR_REGISTRATION_TOKEN_EXPIRE_SECONDS = env.int(
    "DCR_REGISTRATION_TOKEN_EXPIRE_SECONDS", default=30 * 24 * 3600
)

# --- Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document) ---
# An https URL as client_id: DOT fetches the document (SSRF-hardened: public IPs only, no
# redirects, bounded time and size); oauth_clients/cimd.py adds our document policy.
CIMD_ENABLED = env.bool("CIMD_ENABLED", default=True)
# Empty: any public host may serve a document. Otherwise Django ALLOWED_HOSTS syntax
# (`claude.ai,.chatgpt.com`).
CIMD_ALLOWED_HOSTS = [h.lower() for h in env.list("CIMD_ALLOWED_HOSTS", default=[])]
CIMD_FETCH_TIMEOUT_SECONDS = env.int("CIMD_FETCH_TIMEOUT_SECONDS", default=5)
CIMD_MAX_DOCUMENT_BYTES = env.int("CIMD_MAX_DOCUMENT_BYTES", default=16 * 1024)
# Tests only, never from the environment: {"host:port": "CA bundle path"} that the
# document fetcher may reach although they resolve to private addresses.
CIMD_TEST_FETCH_HOSTS: dict[str, str] = {}

# --- Consent ---
# A remembered consent skips the consent page for the same or fewer scopes and resources;
# self-registered clients whose callback is not on DCR_TRUSTED_REDIRECT_HOSTS always ask.
CONSENT_ALWAYS_FOR_DYNAMIC_CLIENTS = env.bool("CONSENT_ALWAYS_FOR_DYNAMIC_CLIENTS", default=True)

# --- Audit trail ---
# `cleanupaudit` deletes audit events older than this many days.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=90)
if AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be 1 or more days")

_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
# RFC 7523 §2.2 client assertions, for metadata-document clients that publish keys.
CLIENT_ASSERTION_SIGNING_ALGS = ["ES256", "PS256", "RS256"]
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "oauth.validator.OAuth2Validator",
    "OAUTH2_SERVER_CLASS": "oauth.server.Server",
    "SCOPES_BACKEND_CLASS": "oauth_clients.scopes.ClientScopes",
    "APPLICATION_ADMIN_CLASS": "oauth_clients.admin.ClientAdmin",
    "CLIENT_SECRET_HASHER": "hmac_sha256",
    "CLIENT_SECRET_GENERATOR_CLASS": "oauth_clients.secrets.ClientSecretGenerator",
    "SCOPES": SCOPES,
    "DEFAULT_SCOPES": DEFAULT_SCOPES,
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_EXPIRE_SECONDS,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": AUTHORIZATION_CODE_EXPIRE_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": REFRESH_TOKEN_EXPIRE_SECONDS,
    "ID_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_EXPIRE_SECONDS,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # DOT's own grace period needs plaintext tokens at rest; ours lives in the cache.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https", *CUSTOM_REDIRECT_SCHEMES],
    "ALLOW_URI_WILDCARDS": False,
    # RFC 8252 §7.3 / §8.3: Claude Code calls back on http://localhost:<any port>.
    "ALLOW_LOCALHOST_LOOPBACK": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # Stays False: loopback http redirects are required by RFC 8252 (see
    # SILENCED_SYSTEM_CHECKS below).
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": ISSUER,
    "OIDC_USERINFO_ENDPOINT": f"{ISSUER}/oauth/userinfo",
    # DOT offers RS256 and jwks_uri only when this is non-empty; our keys live in the
    # database instead, and every place DOT would read a PEM from here is overridden
    # (oauth_clients.models.Client.jwk_key, the validator, the JWKS view).
    "OIDC_RSA_PRIVATE_KEY": "keys are in the database: oauth/keys.py",
    # JWT access tokens; refresh tokens stay random strings.
    "ACCESS_TOKEN_GENERATOR": "oauth.tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": _AUTH_METHODS,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token", "client_credentials"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": _AUTH_METHODS,
    "REQUEST_APPROVAL_PROMPT": "force",
    "DCR_ENABLED": DCR_MODE != "off",
    # Anonymous registration (MCP clients hold no credential); the policy lives in
    # oauth_clients/dcr.py and the rate limit on the view.
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "DCR_REGISTRATION_TOKEN_EXPIRE_SECONDS": DCR_REGISTRATION_TOKEN_EXPIRE_SECONDS,
    "CIMD_ENABLED": CIMD_ENABLED,
    "CIMD_METADATA_FETCHER": "oauth_clients.cimd.MetadataDocumentFetcher",
    "CIMD_REGISTRATION_PERMISSION_CLASSES": (
        ("oauth2_provider.cimd.HostAllowlistCIMDPermission",)
        if CIMD_ALLOWED_HOSTS
        else ("oauth2_provider.cimd.AllowAllCIMDPermission",)
    ),
    "CIMD_ALLOWED_HOSTS": CIMD_ALLOWED_HOSTS,
    "CIMD_FETCH_TIMEOUT_SECONDS": CIMD_FETCH_TIMEOUT_SECONDS,
    "CIMD_MAX_DOCUMENT_SIZE": CIMD_MAX_DOCUMENT_BYTES,
}

SILENCED_SYSTEM_CHECKS = [
    # RFC 9700 §2.1 would drop `http` redirect URIs, but RFC 8252 §7.3 requires loopback
    # http callbacks for native MCP clients (Claude Code, VS Code, Cursor). Every other
    # http redirect is refused by our redirect URI policy.
    "oauth2_provider.W008",
]

# --- CORS: browser-based MCP clients (MCP Inspector) on the API endpoints only ---
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = (
    r"^/(\.well-known/(oauth-authorization-server|openid-configuration)(/.*)?"
    r"|oauth/(register|token|revoke|userinfo|jwks)(/.*)?)$"
)
CORS_ALLOW_HEADERS = ["authorization", "content-type", "mcp-protocol-version", "accept"]
CORS_EXPOSE_HEADERS = ["WWW-Authenticate"]
CORS_PREFLIGHT_MAX_AGE = 86400

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "authserver",
    }
}
# How long a client read by client_id may be served from the cache (0 disables it).
CLIENT_CACHE_SECONDS = env.int("CLIENT_CACHE_SECONDS", default=60)
if REDIS_URL := env.str("REDIS_URL", default=""):
    CACHES["default"] = {"BACKEND": "ops.redis_cache.RedisCache", "LOCATION": REDIS_URL}

# --- Rate limits (ops/ratelimits.py) ---------------------------------------------
# Counted in the cache above: set REDIS_URL when more than one process serves, or each
# process counts on its own.
RATELIMIT_ENABLED = env.bool("RATELIMIT_ENABLED", default=True)


def _networks(name: str) -> list:
    try:
        return [ip_network(entry, strict=False) for entry in env.list(name, default=[])]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from error


def _rate(name: str, default: str) -> tuple[int, int] | None:
    """`N/s`, `N/m`, `N/h`, `N/d` or `N/<k><unit>` (`60/10s`): N requests per window. `0`
    or empty turns the limit off."""
    value = env.str(name, default=default).strip()
    if value in ("", "0"):
        return None
    count, _, period = value.partition("/")
    number, unit = period[:-1], period[-1:]
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(unit)
    if not count.isdigit() or int(count) < 1 or seconds is None or not (number or "1").isdigit():
        raise ImproperlyConfigured(f"{name} must look like 60/10s or 120/m, got {value!r}")
    return int(count), int(number or "1") * seconds


# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks): the client
# is the rightmost address in it that is not one of them. Empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = _networks("TRUSTED_PROXIES")
# Client addresses whose limits are multiplied (hosted MCP clients: one egress range for all
# of their users), e.g. Anthropic's published outbound range.
RATELIMIT_TRUSTED_RANGES = _networks("RATELIMIT_TRUSTED_RANGES")
RATELIMIT_TRUSTED_FACTOR = env.int("RATELIMIT_TRUSTED_FACTOR", default=10)
if RATELIMIT_TRUSTED_FACTOR < 1:
    raise ImproperlyConfigured("RATELIMIT_TRUSTED_FACTOR must be 1 or more")
# Per endpoint: requests per client address, and per client_id where the request names one.
# A window of N requests per P seconds allows a burst of N and N/P per second on average.
RATELIMITS = {
    "token": (_rate("RATELIMIT_TOKEN", "300/10s"), _rate("RATELIMIT_TOKEN_CLIENT", "60/10s")),
    "introspect": (_rate("RATELIMIT_INTROSPECT", "600/10s"), _rate("RATELIMIT_INTROSPECT_CLIENT", "300/10s")),
    "revoke": (_rate("RATELIMIT_REVOKE", "120/10s"), _rate("RATELIMIT_REVOKE_CLIENT", "60/10s")),
    "userinfo": (_rate("RATELIMIT_USERINFO", "600/10s"), None),
    # DCR_RATE_LIMIT is the name this limit had before; still read when the new one is unset.
    "register": (_rate("RATELIMIT_REGISTER", env.str("DCR_RATE_LIMIT", default="60/10s")), None),
    "authorize": (_rate("RATELIMIT_AUTHORIZE", "300/10s"), None),
    "login": (_rate("RATELIMIT_LOGIN", "30/m"), None),
}

# --- Sign-in lockout (django-axes, accounts/lockout.py) ---
# LOGIN_FAILURE_LIMIT failed sign-ins for one username from one address lock that pair out
# for LOGIN_LOCKOUT_MINUTES; an admin unlocks earlier (Access attempts › delete, or
# `manage.py axes_reset_username`). Other addresses and usernames are not affected.
AXES_ENABLED = env.bool("LOGIN_LOCKOUT_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
if AXES_FAILURE_LIMIT < 1 or LOGIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES must be 1 or more")
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ops.request_log.client_ip"
AXES_USERNAME_CALLABLE = "accounts.lockout.attempted_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# The request log already has one line per sign-in; no row per successful one.
AXES_DISABLE_ACCESS_LOG = True

# --- Operations: /healthz, /readyz, /metrics, logs ---
# /metrics answers a bearer METRICS_TOKEN, or clients in METRICS_ALLOWED_IPS (addresses or
# CIDR networks; behind a proxy every request comes from the proxy: use the token).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
try:
    METRICS_ALLOWED_NETWORKS = [ip_network(entry, strict=False) for entry in METRICS_ALLOWED_IPS]
except ValueError as error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {error}") from error
# Set by the process manager for gunicorn's workers (prometheus-client reads it too).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

# One JSON object per line (request log and every other event); plain text when DEBUG is on.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "ops.request_log.RequestIdFilter"},
        "redact": {"()": "ops.request_log.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if DEBUG else "json",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Our request line replaces Django's and runserver's own.
        "django.server": {"level": "WARNING"},
    },
}
