"""The ASGI application (`marketplace.asgi:application`): HTTP and websockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

# Django must be set up before the consumers' models are imported.
http_application = get_asgi_application()

from marketplace.core.routing import websocket_urlpatterns  # noqa: E402
from marketplace.core.ws_auth import TokenOrSessionAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
