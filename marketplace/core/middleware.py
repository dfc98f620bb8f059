"""A request that cannot reach the database fails well: 503 with `Retry-After`, in the
contract's JSON under /api/ (`service_unavailable`) and as a short page elsewhere, never
a 500. Nothing was written (the transaction could not commit), so the client may retry,
with the same `Idempotency-Key` for money."""

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from .api_errors import error_body

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        message = "The service is briefly unavailable: try again in a few seconds."
        if request.path.startswith("/api/"):
            response = JsonResponse(error_body("service_unavailable", message), status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
