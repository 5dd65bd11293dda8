"""Two middleware stacks: a lean one for the API endpoints, the full one for pages.

Programs calling /oauth/token, /oauth/introspect, /oauth/userinfo, /oauth/revoke,
/oauth/jwks, /oauth/register… and /.well-known/… carry no cookies and read JSON: sessions,
language, CSRF, messages, framing, CSP and WhiteNoise do nothing for them but cost CPU on
every call (about 0.65 ms a request on this stack's 17 middlewares). APIStackMiddleware
stands first in MIDDLEWARE: an API request goes through API_MIDDLEWARE (each one a plain
Django middleware factory, in that order) and then straight to its view; every other
request, the authorization endpoint included, goes on down MIDDLEWARE.

The API stack has no process_view/process_exception phase (Django's handler runs those
for MIDDLEWARE only), so the view is called here, and what it raises becomes the JSON
answer an API client expects: 404, 400, the database outage's 503, or a logged 500.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver
from django.utils.module_loading import import_string

from ops.errors import oauth_error
from ops.outage import DATABASE_ERRORS, is_api_request, outage_response

logger = logging.getLogger("django.request")


class APIStackMiddleware:
    def __init__(self, get_response):
        self.pages = get_response
        handler = _call_view
        for path in reversed(settings.API_MIDDLEWARE):
            handler = import_string(path)(handler)
        self.api = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            # Programs authenticate with their credentials, never a session cookie: no user
            # is signed in here (and so there is nothing for CSRF to protect).
            request.user = AnonymousUser()
            return self.api(request)
        return self.pages(request)


def _call_view(request: HttpRequest) -> HttpResponse:
    resolver = get_resolver(getattr(request, "urlconf", None))
    try:
        match = resolver.resolve(request.path_info)
    except Resolver404:
        return oauth_error("not_found", "No such endpoint.", status=404)
    request.resolver_match = match
    try:
        response = match.func(request, *match.args, **match.kwargs)
    except DATABASE_ERRORS as error:
        return outage_response(request, error)
    except Http404:
        return oauth_error("not_found", "No such endpoint.", status=404)
    except PermissionDenied:
        return oauth_error("access_denied", status=403)
    except (BadRequest, SuspiciousOperation):
        return oauth_error("invalid_request", "The request could not be read.")
    except Exception:
        # What Django's handler does for an unhandled exception, with a JSON body.
        got_request_exception.send(sender=None, request=request)
        logger.exception("Internal Server Error: %s", request.path, extra={"status_code": 500})
        return oauth_error("server_error", "The server could not answer this request.", status=500)
    if response is None:
        raise ValueError(f"The view {match.view_name} returned None.")
    if hasattr(response, "render") and callable(response.render):
        response = response.render()
    return response
