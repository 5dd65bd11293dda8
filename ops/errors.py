"""One place that builds the JSON error bodies of RFC 6749 §5.2, RFC 7591 §3.2.2 and
RFC 6750 §3."""

from django.http import JsonResponse

# Paths answered to programs, whose errors are JSON; every other path is a page a person
# sees. The authorization endpoint is under /oauth/ but answers people (and redirects).
API_PREFIXES = ("/oauth/", "/.well-known/")


def oauth_error(
    error: str, description: str = "", status: int = 400, headers: dict[str, str] | None = None
) -> JsonResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response
