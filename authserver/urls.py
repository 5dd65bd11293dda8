from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from accounts import views as pages
from oauth import views as oauth_views
from oauth.metadata import server_metadata
from oauth.registration_views import RegistrationManagementView, RegistrationView
from ops import health, metrics
from userinfo.views import userinfo

# DOT resolves its endpoints by these names in the "oauth2_provider" namespace (for the
# discovery documents), so every protocol route lives here. Only what we serve is
# mounted: no application-management or device-flow views (any logged-in user could
# create clients with the former). POST endpoints answer with and without a slash.
oauth_patterns = [
    path(".well-known/oauth-authorization-server", server_metadata, name="oauth-server-metadata"),
    # RFC 8414 §3.1 path-inserted form, e.g. /.well-known/oauth-authorization-server/mcp
    path(
        ".well-known/oauth-authorization-server/<path:issuer_path>",
        server_metadata,
        name="oauth-server-metadata-issuer",
    ),
    re_path(
        r"^\.well-known/openid-configuration(?:/(?P<issuer_path>.+))?$",
        server_metadata,
        name="oidc-connect-discovery-info",
    ),
    re_path(r"^oauth/authorize/?$", oauth_views.AuthorizationView.as_view(), name="authorize"),
    re_path(r"^oauth/token/?$", oauth_views.TokenView.as_view(), name="token"),
    re_path(r"^oauth/revoke/?$", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    re_path(r"^oauth/introspect/?$", oauth_views.IntrospectTokenView.as_view(), name="introspect"),
    re_path(r"^oauth/userinfo/?$", userinfo, name="user-info"),
    re_path(r"^oauth/jwks/?$", oauth_views.jwks, name="jwks-info"),
    re_path(r"^oauth/register/?$", RegistrationView.as_view(), name="dcr-register"),
    path(
        "oauth/register/<str:client_id>",
        RegistrationManagementView.as_view(),
        name="dcr-register-management",
    ),
]

# A database error raised outside a view is a 503 too (ops/outage.py).
handler500 = "ops.outage.server_error"

urlpatterns = [
    path("", include((oauth_patterns, "oauth2_provider"))),
    path("accounts/login/", pages.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/apps/", pages.connected_apps, name="account-apps"),
    path("account/apps/<str:client_id>/revoke", pages.revoke_app, name="account-apps-revoke"),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switcher
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("", pages.home, name="home"),
]
