"""Names people choose and others trust (usernames, group names): normalised before they
are compared, refused when they mix scripts, and compared on a skeleton so that a
look-alike of an existing name cannot be taken (a fullwidth `ALICE`, `alice` spelt
with a Cyrillic a, `aIice` with a capital `I`).

The skeleton follows Unicode's confusable detection (UTS #39) on the data of
`confusable_homoglyphs`: after NFKC, every character is replaced by one fixed member of
its set of look-alikes (`I`, `l` and `1` meet). Like UTS #39 it keeps case (folding
first would part `I` from `l`), so names are also compared case-insensitively. Only
single characters are mapped: `rn` and `m` stay apart.
"""

import unicodedata
from functools import cache

from confusable_homoglyphs import confusables
from django.db.models import QuerySet


def normalize(name: str) -> str:
    """NFKC (fullwidth and other compatibility forms become plain letters), trimmed."""
    return unicodedata.normalize("NFKC", name).strip()


def mixes_scripts(name: str) -> bool:
    """Letters from more than one script (digits, spaces and punctuation are common to
    all)."""
    return bool(confusables.is_mixed_script(normalize(name)))


def _look_alikes(char: str) -> set[str]:
    return {
        entry["c"] for entry in confusables.confusables_data.get(char, ()) if len(entry["c"]) == 1
    }


@cache
def _representative(char: str) -> str:
    # The data lists, for a prototype, all its look-alikes, and for each of those the
    # prototype: two steps reach the whole set, whose smallest code point stands for it.
    family = {char} | _look_alikes(char)
    for alike in list(family):
        family |= _look_alikes(alike)
    return min(family)


def skeleton(name: str) -> str:
    """Equal for names a reader cannot tell apart (in the same case)."""
    return "".join(_representative(char) for char in normalize(name))


def lookalike_refusal(
    name: str, *, noun: str, existing: QuerySet, name_field: str, skeleton_field: str
) -> str | None:
    """Why `name` cannot be taken (it mixes scripts, an `existing` row has it in any
    case, or one has its skeleton), or None. `existing` excludes the row being renamed;
    `noun` names the name in the message ("username")."""
    if mixes_scripts(name):
        return f"Use the letters of one alphabet only: this {noun} mixes scripts."
    if existing.filter(**{f"{name_field}__iexact": normalize(name)}).exists():
        return f"This {noun} is taken."
    if existing.filter(**{skeleton_field: skeleton(name)}).exists():
        return f"This {noun} looks too much like one that is taken."
    return None
