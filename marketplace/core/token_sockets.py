"""Websockets opened with an API token close when that token goes.

Every way a token ends deletes its row: sign-out and revocation, the expiry sweep, too
many tokens, the user's deletion (`marketplace.core.api_tokens`). Each deletion, once
committed, tells the token's stream, and the sockets opened with it close with 4401
(`marketplace.core.consumers`). Connected in `MarketplaceConfig.ready()`, so every
process (web, admin, management commands) announces the deletions it makes.
"""

from django.db.models.signals import post_delete
from knox.models import get_token_model

from . import events


def _token_deleted(sender, instance, **kwargs) -> None:
    events.token_revoked(digest=instance.digest)


def connect_token_revocation() -> None:
    post_delete.connect(
        _token_deleted, sender=get_token_model(), dispatch_uid="token-sockets-close"
    )
