"""The free-text reason for a separation, read as one of the domain's reason codes.

The file spells the reason 63 ways, often naming several grounds at once ("Parent has
Criminal history ...; sent for immigration prosecution"). One code is kept per row and
the text is kept verbatim beside it, so the rules rank the grounds: a named ground about
the parent (gang, criminal history, health, doubt about the relationship) outranks the
referral for prosecution, the zero-tolerance ground most rows give alone; and gang
affiliation, the narrower claim, outranks criminal history.
"""

from __future__ import annotations

import re

from domain.values import SeparationReason

# Misspellings found in the file, fixed before the rules look for words.
_TYPOS = {
    "proseuction": "prosecution",
    "immigraiton": "immigration",
    "affilatiion": "affiliation",
}

# Highest-ranked first; the first rule with a match decides.
RULES: tuple[tuple[SeparationReason, re.Pattern[str]], ...] = (
    (SeparationReason.GANG_AFFILIATION, re.compile(r"\bgang|\bcartel|\bms-?13\b")),
    (SeparationReason.CRIMINAL_HISTORY, re.compile(r"\bcriminal|\bconvict|\bwarrant")),
    (SeparationReason.HEALTH, re.compile(r"\bhealth|\bhospital|\bmedical|\billness")),
    (
        SeparationReason.UNVERIFIED_RELATIONSHIP,
        re.compile(r"\bfraud|not the parent|\brelationship|parenthood not|unable to verify"),
    ),
    (
        SeparationReason.ZERO_TOLERANCE,
        # 8 U.S.C. 1325 (illegal entry) and 1326 (illegal re-entry) were the prosecutions
        # the zero-tolerance policy referred parents for.
        re.compile(r"zero tolerance|\bprosecution|\b132[56]\b"),
    ),
)

_WORD = re.compile(r"[a-z]+")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


def _plain(text: str) -> str:
    """Lower-case, one space between words, ASCII dashes, known typos fixed."""
    lowered = _DASHES.sub("-", " ".join(text.split()).casefold())
    return _WORD.sub(lambda word: _TYPOS.get(word[0], word[0]), lowered)


def separation_reason(text: str) -> SeparationReason:
    """The code for a reason as written; a ground the rules do not know is OTHER."""
    plain = _plain(text)
    if not plain:
        # A separation with no stated reason stays unread rather than become OTHER.
        raise ValueError("blank")
    for reason, pattern in RULES:
        if pattern.search(plain):
            return reason
    return SeparationReason.OTHER
