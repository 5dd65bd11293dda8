"""System checks: the protocol engine this server was built and tested against.

django-oauth-toolkit 3.4.1 brought the hooks we extend (DCR, CIMD, RFC 8707, the RFC 9700
gates); oauthlib 4 changes the request and grant classes DOT 3.x drives, and breaks it.
"""

import re
from importlib.metadata import PackageNotFoundError, version

from django.core import checks

# Each package: (lowest supported, first unsupported), as release tuples.
SUPPORTED = {
    "django-oauth-toolkit": ((3, 4, 1), (4,)),
    "oauthlib": ((3, 3, 1), (4,)),
}


def _release(text: str) -> tuple[int, ...]:
    """`3.4.1` → (3, 4, 1); a pre-release or local suffix (`3.4.1rc1`, `+deb`) is ignored."""
    match = re.match(r"\d+(?:\.\d+)*", text)
    return tuple(int(part) for part in match.group().split(".")) if match else ()


@checks.register(checks.Tags.compatibility)
def protocol_engine_versions(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    problems = []
    for package, (lowest, first_unsupported) in SUPPORTED.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            problems.append(checks.Error(f"{package} is not installed.", id="oauth.E001"))
            continue
        release = _release(installed)
        if not lowest <= release < first_unsupported:
            wanted = ".".join(map(str, lowest))
            ceiling = ".".join(map(str, first_unsupported))
            problems.append(
                checks.Error(
                    f"{package} {installed} is not supported.",
                    hint=f"Install {package}>={wanted},<{ceiling} (requirements.txt pins the tested one).",
                    id="oauth.E001",
                )
            )
    return problems
