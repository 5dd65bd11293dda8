"""The TokenVerifier adapter for the MCP Python SDK (skipped when the SDK is not installed)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

mcp = pytest.importorskip("mcp")

from mcp.server.auth.middleware.auth_context import get_access_token  # noqa: E402
from mcp.server.auth.provider import AccessToken  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

from resource_server import (  # noqa: E402
    ConfigurationError,
    MCPTokenVerifier,
    TemporarilyUnavailable,
    mcp_auth_settings,
)

PRM_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


def test_verify_token_returns_the_sdk_access_token(fake_as, make_verifier):
    adapter = MCPTokenVerifier(make_verifier("auto"))
    token = fake_as.mint()
    access = asyncio.run(adapter.verify_token(token))
    assert isinstance(access, AccessToken)
    assert access.token == token
    assert access.client_id == "client-7"
    assert access.scopes == ["mcp:read", "mcp:tools"]
    assert access.expires_at == fake_as.claims()["exp"]
    assert access.resource == fake_as.resource
    assert access.subject == "user-42"
    assert access.claims["iss"] == fake_as.issuer


def test_verify_token_returns_none_for_bad_tokens_and_outages(fake_as, make_verifier):
    verifier = make_verifier("auto")
    adapter = MCPTokenVerifier(verifier)
    assert asyncio.run(adapter.verify_token(fake_as.mint(aud="https://other.example.com"))) is None
    assert asyncio.run(adapter.verify_token("opaque-but-unknown")) is None
    fake_as.down.add("/oauth/jwks")
    cold = make_verifier("auto")  # no keys cached yet, and the AS cannot serve them
    assert asyncio.run(MCPTokenVerifier(cold).verify_token(fake_as.mint())) is None  # fail closed
    with pytest.raises(TemporarilyUnavailable):
        asyncio.run(MCPTokenVerifier(cold, raise_on_unavailable=True).verify_token(fake_as.mint()))


def test_introspected_token_maps_to_access_token(fake_as, make_verifier):
    fake_as.active("opaque-1")
    access = asyncio.run(MCPTokenVerifier(make_verifier("introspection")).verify_token("opaque-1"))
    assert (access.client_id, access.subject, access.resource) == ("client-7", "user-42", fake_as.resource)


def test_configuration_errors_propagate(make_verifier):
    adapter = MCPTokenVerifier(make_verifier("auto", client_id=None, client_secret=None))
    with pytest.raises(ConfigurationError):
        asyncio.run(adapter.verify_token("opaque-1"))


def test_mcp_server_end_to_end(fake_as, make_verifier):
    verifier = make_verifier("auto")
    server = MCPServer(
        "kit-demo",
        token_verifier=MCPTokenVerifier(verifier),
        auth=mcp_auth_settings(verifier.config, required_scopes=["mcp:tools"]),
    )

    @server.tool()
    def whoami() -> str:
        access = get_access_token()
        return access.subject if access else "nobody"

    app = server.streamable_http_app(stateless_http=True, json_response=True, host="mcp.example.com")
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}

    async def scenario() -> dict[str, Any]:
        results: dict[str, Any] = {}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://mcp.example.com") as client:
                results["anonymous"] = await client.post("/mcp", json=initialize, headers=headers)
                results["prm"] = await client.get("/.well-known/oauth-protected-resource/mcp")
                auth = {**headers, "Authorization": f"Bearer {fake_as.mint()}"}
                results["init"] = await client.post("/mcp", json=initialize, headers=auth)
                results["call"] = await client.post("/mcp", json=call, headers=auth)
                narrow = {**headers, "Authorization": f"Bearer {fake_as.mint(scope='mcp:read')}"}
                results["narrow"] = await client.post("/mcp", json=initialize, headers=narrow)
        return results

    results = asyncio.run(scenario())
    assert results["anonymous"].status_code == 401
    assert f'resource_metadata="{PRM_URL}"' in results["anonymous"].headers["www-authenticate"]
    assert results["prm"].json()["authorization_servers"] == [fake_as.issuer]
    assert results["init"].status_code == 200, results["init"].text
    assert results["call"].status_code == 200, results["call"].text
    assert results["call"].json()["result"]["content"][0]["text"] == "user-42"
    assert results["narrow"].status_code == 403
