"""RFC 6750 §3: the `WWW-Authenticate` challenge of bearer-token endpoints. The JSON error
bodies themselves are built by ops.errors.oauth_error."""


def bearer_challenge(error: str = "", description: str = "", scope: str = "") -> str:
    """RFC 6750 §3 `WWW-Authenticate` value; without `error` when no token was sent."""
    params = []
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{description}"')
    if scope:
        params.append(f'scope="{scope}"')
    return "Bearer" + (" " + ", ".join(params) if params else "")
