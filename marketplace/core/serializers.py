"""Output shapes shared by the REST API and the websockets (frames carry the very same
JSON as the API's responses), importable without the views or the services."""

from rest_framework import serializers

from .models import Notification


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sender = UserRefSerializer(allow_null=True, help_text="null for a system message.")
    body = serializers.CharField()
    metadata = serializers.JSONField()
    created_at = serializers.DateTimeField()


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    title = serializers.CharField()
    body = serializers.CharField()
    link = serializers.CharField(
        help_text='A path in the site, e.g. "/conversations/12/"; may be empty.'
    )
    data = serializers.JSONField(help_text='Ids of what it is about, e.g. {"proposal_id": 7}.')
    read = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_read(self, notification) -> bool:
        return notification.read_at is not None
