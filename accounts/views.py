"""The HTML pages a person sees besides consent: sign-in, the landing page, connected apps."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model

from audit import events as audit
from oauth import consent
from oauth.scope_descriptions import describe_scopes


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_required
def connected_apps(request: HttpRequest) -> HttpResponse:
    apps = consent.connected_apps(request.user)
    for app in apps:
        app.scope_rows = describe_scopes(app.scopes)
    return render(request, "account/apps.html", {"apps": apps})


@login_required
@require_POST
def revoke_app(request: HttpRequest, client_id: str) -> HttpResponse:
    application = get_object_or_404(get_application_model(), client_id=client_id)
    consent.revoke_connection(request.user, application)
    audit.record(audit.Event.CONSENT_REVOKED, request=request, client_id=application.client_id)
    messages.success(
        request,
        _("%(name)s can no longer use your account.") % {"name": application.name or client_id},
    )
    return redirect("account-apps")
