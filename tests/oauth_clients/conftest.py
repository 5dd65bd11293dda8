"""A local https server that publishes client metadata documents and JWK Sets."""

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from django.core.cache import cache


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
