from django.urls import path, re_path

from .consumers import ConversationConsumer, NotificationConsumer, UnknownPathConsumer

websocket_urlpatterns = [
    path("ws/conversations/<int:conversation_id>/", ConversationConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    # Last: any other path is refused at the handshake instead of failing in the router.
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
