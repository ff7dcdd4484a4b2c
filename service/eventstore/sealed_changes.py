"""A correction's new personal values, sealed: each a Sealed text inside its tagged payload.

EntryCorrected stays tagged (a corrected value may be of any field's type), so its sealing
is not the typed payloads' (service.eventstore.sealed_payloads): each change to a field
that holds personal data wherever it appears (PERSONAL_NAMES) has its value replaced by a
Sealed text, the tagged JSON of the value under the key of the correction's `subject`,
bound to stream, version and "changes.<field>"; the other changes stay clear.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import msgspec
from eventsourcing.persistence import Transcoder, Transcoding

from domain import events
from domain.personal import ERASED, personal_fields
from domain.values import FieldChange
from service.eventstore.sealed_payloads import Ciphers
from service.eventstore.sealing import field_aad, seal, unseal

# Field names that hold personal data in every event that has them (a unit test keeps it so).
PERSONAL_NAMES = frozenset(
    name
    for _, cls in inspect.getmembers(events, inspect.isclass)
    if issubclass(cls, events.Happened)
    for name in personal_fields(cls)
) - {"changes"}
_new, _set = object.__new__, object.__setattr__


@dataclass(frozen=True)
class Sealed:
    """A sealed value in a tagged payload."""

    token: str


class SealedAsText(Transcoding):
    """A Sealed value, stored as its text."""

    type = Sealed
    name = "sealed"

    def encode(self, obj: Sealed) -> str:
        return obj.token

    def decode(self, data: str) -> Sealed:
        return Sealed(data)


def seals_changes(event: Any) -> bool:
    """Whether an event is a correction whose changed values are someone's personal data."""
    return "changes" in personal_fields(type(event)) and vars(event).get("subject") is not None


def sealed_copy(event: Any, transcoder: Transcoder, keys: Ciphers) -> Any:
    """The correction with each personal value sealed (the event itself is left as it is)."""
    state = vars(event)
    cipher = keys.cipher(state["subject"])
    if cipher is None:
        raise ValueError(f"person {state['subject']}'s personal data is erased")
    changes = []
    for change in state["changes"]:
        if change.field in PERSONAL_NAMES:
            aad = field_aad(state["originator_id"], state["originator_version"], _at(change))
            change = FieldChange(
                change.field, Sealed(seal(cipher, transcoder.encode(change.value), aad))
            )
        changes.append(change)
    copy = _new(type(event))
    _set(copy, "__dict__", {**state, "changes": changes})
    return copy


def opened(event: Any, transcoder: Transcoder, keys: Ciphers) -> Any:
    """The correction with its sealed values opened, or ERASED once its person is."""
    state = vars(event)
    if not any(isinstance(c.value, Sealed) for c in state["changes"]):
        return event
    cipher = keys.cipher(state["subject"])
    changes = []
    for change in state["changes"]:
        if isinstance(change.value, Sealed):
            value: Any = ERASED
            if cipher is not None:
                aad = field_aad(state["originator_id"], state["originator_version"], _at(change))
                value = transcoder.decode(unseal(cipher, change.value.token, aad))
            change = FieldChange(change.field, value)
        changes.append(change)
    state["changes"] = changes
    return event


def subject_of(payload: bytes) -> str | None:
    """A correction's subject as its tagged payload spells it (a UUID's hex), or None."""
    value = msgspec.json.decode(payload).get("subject")
    if isinstance(value, dict):
        found = value.get("_data_")
        return found if isinstance(found, str) else None
    return value if isinstance(value, str) else None


def _at(change: FieldChange) -> str:
    return f"changes.{change.field}"
