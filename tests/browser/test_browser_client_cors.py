"""A browser-based MCP client (the MCP Inspector's origin) calls discovery, registration and
the token endpoint cross-origin from Chromium: every preflight passes, and the headers it
must read are exposed."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class InspectorPage(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"<!doctype html><title>MCP Inspector</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def inspector_origin():
    # A real loopback page (the Inspector runs on http://localhost:6274): Chromium only
    # lets a page on a loopback address call another loopback address.
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), InspectorPage)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


SCRIPT = """
async (issuer) => {
  const headers = {"MCP-Protocol-Version": "2025-11-25", "Accept": "application/json"};
  const metadata = await (await fetch(issuer + "/.well-known/oauth-authorization-server", {headers})).json();
  // The endpoints' paths from the document; the host is the live test server's.
  const here = (url) => issuer + new URL(url).pathname;
  const registration = await fetch(here(metadata.registration_endpoint), {
    method: "POST",
    headers: {...headers, "Content-Type": "application/json"},
    body: JSON.stringify({client_name: "MCP Inspector", redirect_uris: [location.origin + "/oauth/callback"],
                          token_endpoint_auth_method: "none", application_type: "native"}),
  });
  const client = await registration.json();
  const token = await fetch(here(metadata.token_endpoint), {
    method: "POST",
    headers: {...headers, "Content-Type": "application/x-www-form-urlencoded",
              "Authorization": "Basic " + btoa(client.client_id + ":wrong")},
    body: "grant_type=authorization_code&code=nope&code_verifier=" + "v".repeat(43),
  });
  return {
    issuer: metadata.issuer,
    registered: registration.status,
    client_id: client.client_id,
    token_status: token.status,
    token_error: (await token.json()).error,
    challenge: token.headers.get("WWW-Authenticate"),
  };
}
"""


def test_inspector_origin_passes_every_preflight(live_server, page, inspector_origin):
    page.goto(f"{inspector_origin}/")
    result = page.evaluate(SCRIPT, live_server.url)
    assert result["registered"] == 201, json.dumps(result)
    assert result["client_id"]
    assert result["token_status"] == 401
    assert result["token_error"] == "invalid_client"
    assert result["challenge"] and result["challenge"].startswith("Basic")  # exposed to the page
