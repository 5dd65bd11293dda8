"""Sign-in lockout with django-axes: too many failures for one username from one address.

The backend refuses a locked-out username + address before any password is checked; the
page then says so plainly, with how long it lasts and that an admin can lift it sooner.
"""

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a sign-in tried, as axes records it: no longer than a username can be
    (the attempt table holds 255 characters; anything longer is no one's name) and without
    NUL, which PostgreSQL text cannot store. Without this a 300-character name was a 500."""
    if credentials:
        value = credentials.get("username")
    else:
        value = getattr(request, "POST", {}).get("username")
    if value is None:
        return None
    return str(value).replace("\x00", "")[:150]


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check on every sign-in made through a request (the sign-in page, the admin's).

    `authenticate()` without a request (the test client's `login()`, scripts) has no address
    to count against: axes would raise; it is left to the next backend instead."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else settings.LOGIN_LOCKOUT_MINUTES
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked_out": True,
        "lockout_minutes": minutes,
        "next": request.POST.get("next", request.GET.get("next", "")),
    }
    response = TemplateResponse(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response.render()
