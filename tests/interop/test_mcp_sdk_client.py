"""The MCP Python SDK's own OAuth client, for real, against this server and an MCP server
protected by the resource-server kit: discovery (RFC 9728 → RFC 8414), dynamic client
registration or a Client ID Metadata Document URL as client_id, code + PKCE with `resource`,
token, a tool call, and a refresh.

The user's login and consent happen headlessly: the redirect handler drives our login
and consent pages over HTTP, as a browser would, and hands the code back to the SDK.
"""

import asyncio
import re
import socket
import threading
import time
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

mcp = pytest.importorskip("mcp")

from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.server.auth.middleware.auth_context import get_access_token  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.shared.auth import OAuthClientMetadata, OAuthToken  # noqa: E402

from resource_server import MCPTokenVerifier, ResourceServerConfig, build_verifier, mcp_auth_settings  # noqa: E402
from tests.conftest import make_confidential_client, make_user  # noqa: E402

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CALLBACK = "http://127.0.0.1:47999/callback"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info) -> None:
        self.client_info = client_info


class Browser:
    """Signs in and presses Allow on our pages, like the user would."""

    def __init__(self, username: str, password: str):
        self.username, self.password = username, password
        self.authorize_urls: list[str] = []
        self.result: AuthorizationCodeResult | None = None

    def _hidden_fields(self, html: str) -> dict:
        fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
        return {name: unescape(value) for name, value in fields}

    def visit(self, url: str) -> None:
        self.authorize_urls.append(url)
        with httpx.Client(follow_redirects=False, timeout=30) as http:
            page = http.get(url)
            assert page.status_code == 302 and "/accounts/login/" in page.headers["location"]
            login_url = urljoin(url, page.headers["location"])
            login = http.get(login_url)
            form = self._hidden_fields(login.text)
            form.update(username=self.username, password=self.password)
            signed_in = http.post(login_url, data=form, headers={"Referer": login_url})
            consent_url = urljoin(url, signed_in.headers["location"])
            consent = http.get(consent_url)
            assert consent.status_code == 200, consent.text[:500]
            form = self._hidden_fields(consent.text)
            form["allow"] = "true"
            answer = http.post(consent_url, data=form, headers={"Referer": consent_url})
            callback = urlsplit(answer.headers["location"])
            assert f"{callback.scheme}://{callback.netloc}{callback.path}" == CALLBACK
            query = {k: v[0] for k, v in parse_qs(callback.query).items()}
            self.iss = query.get("iss")
            self.result = AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=self.iss)


def serve_mcp(port: int, issuer: str, rs_client) -> threading.Thread:
    import uvicorn

    resource = f"http://127.0.0.1:{port}/mcp"
    config = ResourceServerConfig(
        issuer=issuer,
        resource=resource,
        mode="introspection",
        client_id=rs_client.client_id,
        client_secret=rs_client.plain_secret,
        scopes_supported=("mcp:tools",),
    )
    verifier = build_verifier(config)
    server = MCPServer(
        "interop",
        token_verifier=MCPTokenVerifier(verifier),
        auth=mcp_auth_settings(config, required_scopes=["mcp:tools"]),
    )

    @server.tool()
    def whoami() -> str:
        access = get_access_token()
        return access.subject if access else "nobody"

    app = server.streamable_http_app(stateless_http=True, json_response=True, host="127.0.0.1")
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    thread.uvicorn = uv
    return thread


@pytest.fixture
def issuer(live_server, settings):
    # The live server's address is the issuer the SDK discovers and validates.
    settings.ISSUER = live_server.url
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": live_server.url,
        "OIDC_USERINFO_ENDPOINT": f"{live_server.url}/oauth/userinfo",
    }
    return live_server.url


@pytest.mark.parametrize("registration", ["dcr", "cimd"])
def test_mcp_sdk_client_full_flow(issuer, request, registration):
    user = make_user("sdk-user", "correct horse battery")
    client_metadata_url = None
    if registration == "cimd":
        # The SDK's Client ID Metadata Document support: its https URL is the client_id.
        documents = request.getfixturevalue("documents")
        client_metadata_url = documents.url("/sdk/client.json")
        documents.publish(
            "/sdk/client.json",
            {
                "client_id": client_metadata_url,
                "client_name": "SDK interop test (CIMD)",
                "redirect_uris": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
        )
    rs_client = make_confidential_client(name="interop MCP server")
    port = free_port()
    mcp_thread = serve_mcp(port, issuer, rs_client)
    mcp_url = f"http://127.0.0.1:{port}/mcp"
    browser = Browser("sdk-user", "correct horse battery")
    storage = MemoryStorage()

    async def redirect_handler(url: str) -> None:
        await asyncio.to_thread(browser.visit, url)

    async def callback_handler() -> AuthorizationCodeResult:
        return browser.result

    provider = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="SDK interop test",
            redirect_uris=[CALLBACK],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )

    async def scenario() -> dict:
        import httpx2

        results = {}
        async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
            async with streamable_http_client(mcp_url, http_client=http) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    results["first"] = await session.call_tool("whoami", {})
                    first_access = storage.tokens.access_token
                    # Let the token lapse: the SDK must refresh it by itself.
                    provider.context.token_expiry_time = time.time() - 1
                    results["second"] = await session.call_tool("whoami", {})
                    results["refreshed"] = storage.tokens.access_token != first_access
        return results

    try:
        results = asyncio.run(scenario())
    finally:
        mcp_thread.uvicorn.should_exit = True
        mcp_thread.join(timeout=5)

    assert results["first"].content[0].text == str(user.pk)
    assert results["second"].content[0].text == str(user.pk)
    assert results["refreshed"] is True
    if registration == "cimd":
        assert storage.client_info.client_id == client_metadata_url  # no registration at all
    else:
        assert storage.client_info.client_id  # registered dynamically
    assert len(browser.authorize_urls) == 1  # one consent, then refresh only
    query = parse_qs(urlsplit(browser.authorize_urls[0]).query)
    assert query["resource"] == [mcp_url]  # RFC 8707 from the SDK
    assert query["code_challenge_method"] == ["S256"]
    assert browser.iss == issuer  # RFC 9207
