"""ASGI middleware, challenges, RFC 9728 metadata and the compatibility redirects."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from resource_server import (
    AuthServerRedirects,
    BearerAuthMiddleware,
    InsufficientScope,
    InvalidToken,
    TemporarilyUnavailable,
    bearer_challenge,
    error_response,
    metadata_path,
    protected_resource_metadata,
    require_scopes,
)

PRM_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    info = scope.get("auth")
    body = json.dumps(
        {
            "path": scope["path"],
            "sub": getattr(info, "subject", None),
            "state_sub": getattr(scope.get("state", {}).get("auth"), "subject", None),
        }
    ).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def call(
    app: Any, method: str, path: str, token: str | None = None, headers: Any = (), **kwargs: Any
) -> httpx.Response:
    headers = list(headers.items() if isinstance(headers, dict) else headers)  # keep duplicates
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://mcp.example.com") as client:
            return await client.request(method, path, headers=headers, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def protected(make_verifier):
    def build(**kwargs: Any) -> BearerAuthMiddleware:
        kwargs.setdefault("required_scopes", ["mcp:tools"])
        return BearerAuthMiddleware(echo_app, make_verifier("auto"), **kwargs)

    return build


def test_missing_token_gets_401_with_resource_metadata(protected):
    response = call(protected(), "POST", "/mcp", json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{PRM_URL}"'
    assert response.json()["error"] == "unauthorized"
    other_scheme = call(protected(), "POST", "/mcp", headers={"Authorization": "Basic dTpw"})
    assert other_scheme.status_code == 401
    assert "error=" not in other_scheme.headers["www-authenticate"]


def test_invalid_token_gets_401_invalid_token(fake_as, protected):
    for token in ("not-a-real-token", fake_as.mint(aud="https://other.example.com"), "bad token!"):
        response = call(protected(), "POST", "/mcp", token=token)
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="')
        assert challenge.endswith(f'resource_metadata="{PRM_URL}"')
        assert response.json()["error"] == "invalid_token"


def test_valid_token_reaches_the_app_with_token_info(fake_as, protected):
    response = call(protected(), "POST", "/mcp", token=fake_as.mint())
    assert response.status_code == 200
    assert response.json() == {"path": "/mcp", "sub": "user-42", "state_sub": "user-42"}


def test_insufficient_scope_gets_403_listing_every_needed_scope(fake_as, protected):
    app = protected(required_scopes=["a", "b"])
    response = call(app, "POST", "/mcp", token=fake_as.mint(scope="a"))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The access token lacks a required scope", '
        f'scope="a b", resource_metadata="{PRM_URL}"'
    )
    assert response.json()["scope"] == "a b"
    assert call(app, "POST", "/mcp", token=fake_as.mint(scope="b a c")).status_code == 200


def test_protected_resource_metadata_is_served_at_the_well_known_paths(fake_as, protected):
    app = protected()
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        response = call(app, "GET", path)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.json() == {
            "resource": "https://mcp.example.com/mcp",
            "authorization_servers": ["https://auth.example.com"],
            "bearer_methods_supported": ["header"],
        }
    assert call(app, "OPTIONS", "/.well-known/oauth-protected-resource/mcp").status_code == 204
    assert call(app, "POST", "/.well-known/oauth-protected-resource/mcp").status_code == 405
    assert sum(fake_as.hits.values()) == 0  # serving metadata needs no AS round trip


def test_as_outage_gives_503_temporarily_unavailable(fake_as, protected, clock):
    app = protected()
    fake_as.down.add("/oauth/jwks")
    response = call(app, "POST", "/mcp", token=fake_as.mint())
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["retry-after"]) >= 1
    fake_as.down.clear()
    clock.advance(2)
    assert call(app, "POST", "/mcp", token=fake_as.mint()).status_code == 200


def test_missing_introspection_credentials_give_500_not_a_crash(fake_as, make_verifier):
    app = BearerAuthMiddleware(echo_app, make_verifier("auto", client_id=None, client_secret=None))
    response = call(app, "POST", "/mcp", token="opaque-token")  # noqa: S106
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"


def test_public_paths_and_multiple_authorization_headers(fake_as, protected):
    app = protected(public_paths=["/health", "/static/"])
    assert call(app, "GET", "/health").status_code == 200
    assert call(app, "GET", "/static/app.js").status_code == 200
    assert call(app, "GET", "/healthz").status_code == 401
    dotted = {"type": "http", "method": "GET", "path": "/static/../mcp", "headers": []}
    sent: list[dict[str, Any]] = []

    async def collect(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(dotted, None, collect))  # httpx would normalise the path, so call directly
    assert sent[0]["status"] == 401
    response = call(
        app, "POST", "/mcp", headers=[("Authorization", "Bearer a"), ("Authorization", "Bearer b")]
    )
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_websocket_without_token_is_refused(protected):
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "headers": [], "extensions": {"websocket.http.response": {}}}
    asyncio.run(protected()(scope, receive, send))
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 401
    sent.clear()
    asyncio.run(protected()({"type": "websocket", "path": "/ws", "headers": []}, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_bearer_challenge_quoting():
    header = bearer_challenge(
        resource_metadata='https://x.example/a"b\\c\r\nX-Evil: 1',
        error="invalid_token",
        error_description='bad "token" \\ here\n',
        scope=["a", "b", "a"],
    )
    assert "\r" not in header and "\n" not in header
    assert "error_description=\"bad 'token' / here?\"" in header
    assert 'scope="a b"' in header
    assert header.endswith('resource_metadata="https://x.example/a\\"b\\\\cX-Evil: 1"')
    with pytest.raises(ValueError, match="invalid scope"):
        bearer_challenge(scope=['a"b'])
    assert bearer_challenge() == "Bearer"


def test_error_response_mapping():
    assert error_response(InvalidToken("x"), None).status == 401
    assert error_response(InsufficientScope(["a"]), None).status == 403
    unavailable = error_response(TemporarilyUnavailable("down", retry_after=7), None)
    assert unavailable.status == 503 and ("retry-after", "7") in unavailable.headers
    assert error_response(RuntimeError("bug"), None).status == 500


def test_require_scopes_lists_every_needed_scope(fake_as, make_verifier):
    info = make_verifier().verify(fake_as.mint(scope="a"))
    require_scopes(info, ["a"])
    with pytest.raises(InsufficientScope) as exc:
        require_scopes(info, ["a", "b", "c"])
    assert exc.value.required == ("a", "b", "c")


def test_metadata_document_and_paths(make_verifier):
    config = make_verifier().config
    doc = protected_resource_metadata(config, scopes_supported=["mcp:tools"], resource_name="Demo")
    assert doc["scopes_supported"] == ["mcp:tools"]
    assert doc["resource_name"] == "Demo"
    assert metadata_path("https://mcp.example.com") == "/.well-known/oauth-protected-resource"
    assert metadata_path("https://mcp.example.com/") == "/.well-known/oauth-protected-resource"
    assert metadata_path("https://mcp.example.com/a/b") == "/.well-known/oauth-protected-resource/a/b"


def test_compat_redirects_to_the_authorization_server(fake_as, make_verifier):
    verifier = make_verifier()
    app = AuthServerRedirects(BearerAuthMiddleware(echo_app, verifier), verifier)
    authorize = call(app, "GET", "/authorize?response_type=code&state=x%20y")
    assert authorize.status_code == 302
    assert (
        authorize.headers["location"]
        == "https://auth.example.com/oauth/authorize?response_type=code&state=x%20y"
    )
    token = call(app, "POST", "/token", data={"grant_type": "authorization_code"})
    assert (token.status_code, token.headers["location"]) == (307, "https://auth.example.com/oauth/token")
    register = call(app, "POST", "/register", json={})
    assert (register.status_code, register.headers["location"]) == (
        307,
        "https://auth.example.com/oauth/register",
    )
    metadata = call(app, "GET", "/.well-known/oauth-authorization-server")
    assert metadata.status_code == 302
    assert metadata.headers["location"] == "https://auth.example.com/.well-known/oauth-authorization-server"
    assert call(app, "POST", "/mcp").status_code == 401  # everything else still protected
    standalone = AuthServerRedirects(None, verifier)
    assert call(standalone, "GET", "/elsewhere").status_code == 404


def test_compat_redirects_fail_closed_when_metadata_is_unavailable(fake_as, make_verifier):
    fake_as.down.add("/.well-known/oauth-authorization-server")
    response = call(AuthServerRedirects(None, make_verifier()), "GET", "/authorize")
    assert response.status_code == 503


async def body_echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def tools_call(name: str, request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": {}},
    }


def test_tool_scopes_challenge_names_every_scope_the_call_needs(fake_as, make_verifier):
    app = BearerAuthMiddleware(
        body_echo_app,
        make_verifier("jwt"),
        required_scopes=["mcp:tools"],
        tool_scopes={"write_note": ["mcp:write"]},
    )
    reader = fake_as.mint(scope="mcp:tools")
    refused = call(app, "POST", "/mcp", token=reader, json=tools_call("write_note"))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert 'scope="mcp:tools mcp:write"' in refused.headers["www-authenticate"]
    assert f'resource_metadata="{PRM_URL}"' in refused.headers["www-authenticate"]
    # A batch is refused if any call in it needs more.
    batch = [tools_call("read_note", 1), tools_call("write_note", 2)]
    assert call(app, "POST", "/mcp", token=reader, json=batch).status_code == 403
    # Other calls pass, and the app receives the body the middleware read.
    allowed = call(app, "POST", "/mcp", token=reader, json=tools_call("read_note"))
    assert allowed.status_code == 200 and allowed.json() == tools_call("read_note")
    assert call(app, "POST", "/mcp", token=reader, content=b"{not json").status_code == 200
    writer = fake_as.mint(scope="mcp:tools mcp:write")
    assert call(app, "POST", "/mcp", token=writer, json=tools_call("write_note")).json()["id"] == 1


def test_tool_scopes_bound_the_body_they_read(fake_as, make_verifier):
    app = BearerAuthMiddleware(
        body_echo_app, make_verifier("jwt"), tool_scopes={"write_note": ["mcp:write"]}, max_body_bytes=100
    )
    response = call(app, "POST", "/mcp", token=fake_as.mint(), content=b"x" * 101)
    assert response.status_code == 413
