"""Output shapes shared by the API and the realtime layer, importable without the views
(`marketplace.notifications` builds its websocket frames with them)."""

from rest_framework import serializers

from .models import Notification


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    title = serializers.CharField()
    body = serializers.CharField()
    link = serializers.CharField(help_text='A path in the site, e.g. "/conversations/12/"; may be empty.')
    data = serializers.JSONField(help_text='Ids of what it is about, e.g. {"proposal_id": 7}.')
    read = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_read(self, notification) -> bool:
        return notification.read_at is not None
