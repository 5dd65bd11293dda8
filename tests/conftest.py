"""Shared fixtures: users, clients, a real code + PKCE flow through the Django test client, and a
local https server publishing client metadata documents."""

import base64
import hashlib
import json
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import trustme
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from oauth2_provider.models import get_application_model

Application = get_application_model()

REDIRECT_URI = "http://127.0.0.1:53682/callback"


@pytest.fixture(autouse=True)
def _test_settings(settings, monkeypatch):
    # Rate-limit counters of their own for each test: within a test the limits are real,
    # but requests of earlier tests in the same window do not count.
    monkeypatch.setattr("ops.ratelimits.KEY_PREFIX", "rl-" + secrets.token_hex(6))
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
    # Users' passwords: PBKDF2's cost only slows the suite down.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "oauth_clients.hashers.HMACSHA256ClientSecretHasher",
    ]
    # Production names static files through collectstatic's manifest; tests read the
    # source files (tests/authserver/test_static.py checks the production storage).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_signing_keys():
    # Each test starts from its own database: never sign with a key an earlier test made.
    from oauth import keys

    keys.forget()
    yield
    keys.forget()


def make_user(username: str = "alice", password: str = "correct horse battery", **fields):
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username=username, password=password, **fields)


def make_public_client(**fields):
    fields.setdefault("name", "Test MCP client")
    fields.setdefault("redirect_uris", REDIRECT_URI)
    fields.setdefault("allowed_scopes", " ".join(settings.SCOPES))
    return Application.objects.create(
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret="",
        hash_client_secret=False,
        **fields,
    )


def make_confidential_client(secret: str = "s3cret-" + "x" * 40, **fields):
    fields.setdefault("name", "Backend service")
    fields.setdefault("authorization_grant_type", Application.GRANT_CLIENT_CREDENTIALS)
    fields.setdefault("redirect_uris", "")
    fields.setdefault("allowed_scopes", " ".join(settings.SCOPES))
    client = Application.objects.create(
        client_type=Application.CLIENT_CONFIDENTIAL, client_secret=secret, **fields
    )
    client.plain_secret = secret
    return client


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> "Pkce":
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def public_client(db):
    return make_public_client()


@pytest.fixture
def confidential_client(db):
    return make_confidential_client()


def authorize_params(app, pkce: Pkce, **overrides) -> dict:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email mcp:tools",
        "state": "st-" + secrets.token_hex(4),
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def consent(client, params: dict, allow: bool = True):
    """GET the consent page as a logged-in user, then submit it. Returns the redirect.

    A consent remembered from an earlier call answers the GET with the redirect itself."""
    page = client.get("/oauth/authorize?" + urlencode(params, doseq=True))
    if page.status_code == 302 and allow:
        return page
    if page.status_code == 302:
        params = {**params, "prompt": "consent"}
        page = client.get("/oauth/authorize?" + urlencode(params, doseq=True))
    assert page.status_code == 200, page.content[:500]
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    if allow:
        form["allow"] = "true"
    return client.post("/oauth/authorize?" + urlencode(params, doseq=True), form)


def redirect_query(response) -> dict:
    assert response.status_code == 302, response.content[:500]
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


@pytest.fixture
def issue_code(client, user):
    """Run authorize + consent for `user` and return (code, pkce, params)."""

    def _issue(app, **overrides):
        client.force_login(user)
        pkce = Pkce.new()
        params = authorize_params(app, pkce, **overrides)
        query = redirect_query(consent(client, params))
        assert query["state"] == params["state"]
        return query["code"], pkce, params

    return _issue


@pytest.fixture
def exchange(client):
    def _exchange(app, code, pkce, **extra):
        body = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": app.client_id,
            "code_verifier": pkce.verifier,
            **extra,
        }
        return client.post("/oauth/token", urlencode(body), content_type="application/x-www-form-urlencoded")

    return _exchange


@pytest.fixture
def tokens(issue_code, exchange):
    """A fresh token response (access + refresh) for `public_client` and `user`."""

    def _tokens(app, **overrides):
        code, pkce, _ = issue_code(app, **overrides)
        response = exchange(app, code, pkce)
        assert response.status_code == 200, response.content
        return response.json()

    return _tokens


def form_post(client, path: str, body: dict, **headers):
    return client.post(path, urlencode(body), content_type="application/x-www-form-urlencoded", **headers)


def django_transport(client):
    """An httpx transport that answers from this Django app through the test client, so the
    resource-server kit can talk to the real authorization server without a live server."""
    import httpx

    def handle(request: httpx.Request) -> httpx.Response:
        headers = {
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in request.headers.items()
            if name.lower() not in ("content-type", "content-length", "host")
        }
        headers["HTTP_HOST"] = request.url.netloc.decode()
        response = client.generic(
            request.method,
            request.url.raw_path.decode(),
            request.content,
            content_type=request.headers.get("content-type", ""),
            **headers,
        )
        return httpx.Response(response.status_code, headers=dict(response.items()), content=response.content)

    return httpx.MockTransport(handle)


# --- A local https server publishing client metadata documents and JWK Sets ---------


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


class DocumentServer:
    def __init__(self, port: int, ca_file: str):
        self.port = port
        self.ca_file = ca_file
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []

    @property
    def netloc(self) -> str:
        return f"localhost:{self.port}"

    def url(self, path: str) -> str:
        return f"https://{self.netloc}{path}"

    def publish(self, path: str, document, **route) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = Route(body, **route)
        return self.url(path)

    def hits(self, path: str) -> int:
        return self.requests.count(path)


def _handler(server: DocumentServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            server.requests.append(self.path)
            route = server.routes.get(self.path)
            if route is None:
                route = Route(b'{"error": "not found"}', status=404)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="session")
def _document_server(tmp_path_factory):
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), None)
    server = DocumentServer(httpd.server_address[1], str(ca_file))
    httpd.RequestHandlerClass = _handler(server)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def documents(_document_server, settings):
    """The document server, reachable by the fetcher through the test-only setting."""
    settings.CIMD_TEST_FETCH_HOSTS = {_document_server.netloc: _document_server.ca_file}
    _document_server.routes.clear()
    _document_server.requests.clear()
    cache.clear()  # DOT's per-URL failure backoff, cached JWK Sets, assertion jtis
    yield _document_server
    cache.clear()
