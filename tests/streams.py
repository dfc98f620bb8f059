"""Listening on the real channel layer from a sync test: `listen(*streams)` subscribes a
new channel to the streams and returns `drain()`, the frames that arrived (call it once
per test: channels-redis binds the channel's queue to the first event loop that reads)."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def listen(*streams: str, quiet_seconds: float = 0.3):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for stream in streams:
        async_to_sync(layer.group_add)(stream, channel)

    async def drain() -> list[dict]:
        frames = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), quiet_seconds)
            except TimeoutError:
                return frames
            frames.append(message["frame"])

    return async_to_sync(drain)
