"""One exception handler turns every refusal into the contract's error body:
`{"error": {"code": "...", "message": "...", "fields": {...}}}`."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "The request is not valid.", fields)
    else:
        code = _CODES.get(response.status_code, "error")
        if (
            response.status_code == status.HTTP_401_UNAUTHORIZED
            and exc.get_codes() != "not_authenticated"
        ):
            code = "authentication_failed"
        response.data = error_body(code, str(exc.detail))
    return response


# Django's own error pages, answered in the API's shape under /api/ (see marketplace.urls).


def bad_request(request, exception):
    """Django's 400 page (a request it refuses before any view runs, e.g. too many form
    fields): JSON with the error body under /api/, the usual HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return defaults.bad_request(request, exception)


def not_found(request, exception):
    """Django's 404 page (no route matched): JSON under /api/, HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "No such endpoint."), status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request, exception):
    """Django's 403 page (PermissionDenied outside DRF): JSON under /api/, the site's page
    elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("permission_denied", "You are not allowed to do that."), status=403
        )
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """A page's form refused by the CSRF check (CSRF_FAILURE_VIEW), usually one sent from
    a page opened before the user signed in or out: the site's 403 page, saying the form
    expired. The API never gets here: DRF checks CSRF itself and answers in JSON."""
    return render(request, "403.html", {"form_expired": True}, status=403)


def server_error(request):
    """Django's 500 page: JSON under /api/, the site's page elsewhere (rendered without
    the request's context, so a broken context processor cannot break it too)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side."), status=500
        )
    return defaults.server_error(request)
