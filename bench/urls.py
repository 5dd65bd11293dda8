from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def null_view(request: HttpRequest) -> JsonResponse:
    """The framework ceiling: the same middleware stack, no work."""
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/null", null_view),
    path("", include("authserver.urls")),
]
