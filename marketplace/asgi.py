"""The ASGI application (`marketplace.asgi:application`): HTTP and websockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

http_application = get_asgi_application()

application = ProtocolTypeRouter({"http": http_application})
