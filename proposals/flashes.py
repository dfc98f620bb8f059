"""Flash messages shown where the person is looking: at the proposal card they acted on,
or at the "new proposal" form, instead of at the top of a long chat page. One message
per session, taken by the next render of the proposal panel."""

from django.contrib import messages

KEY = "proposal_flash"


def flash_at(request, anchor: str, level: int, text: str, *, add_funds: bool = False) -> None:
    """Show `text` at `anchor` ("proposal-12" or "new-proposal") on the next panel."""
    request.session[KEY] = {
        "anchor": anchor,
        "tag": messages.DEFAULT_TAGS[level],
        "alert": level >= messages.ERROR,
        "text": text,
        "add_funds": add_funds,
    }


def take_flash(request) -> dict | None:
    return request.session.pop(KEY, None)


FORM_KEY = "proposal_form"


def keep_form(request, conversation_id: int, data: dict, errors: list[str]) -> None:
    """Keep what was typed into a refused "new proposal" form, for the page to show it
    again with the errors at their fields."""
    request.session[FORM_KEY] = {"conversation": conversation_id, "data": data, "errors": errors}


def take_form(request, conversation_id: int) -> dict | None:
    kept = request.session.get(FORM_KEY)
    if kept is None or kept["conversation"] != conversation_id:
        return None
    del request.session[FORM_KEY]
    return kept
