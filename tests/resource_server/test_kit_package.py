"""The package surface: small public API, no hard dependency on Django or the MCP SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import resource_server

ROOT = Path(__file__).resolve().parents[2]


def test_public_api_names_exist():
    for name in resource_server.__all__:
        assert hasattr(resource_server, name), name


def test_imports_without_the_mcp_sdk_or_django():
    code = (
        "import sys; sys.modules['mcp'] = None; sys.modules['django'] = None\n"
        "import resource_server\n"
        "from resource_server import ResourceServerConfig, build_verifier\n"
        "build_verifier(ResourceServerConfig(issuer='https://a.example', resource='https://r.example'))\n"
    )
    command = [sys.executable, "-c", code]  # fixed code, run by this interpreter
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)  # noqa: S603
    assert result.returncode == 0, result.stderr


def test_module_docstring_shows_the_five_line_setup():
    doc = resource_server.__doc__ or ""
    assert "BearerAuthMiddleware(" in doc and "build_verifier(config)" in doc
