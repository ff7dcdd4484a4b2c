"""Personal data: which event fields hold it, whose it is, and the marker of erased data.

Each event class declares, once, the fields that hold personal data (names, birth dates,
A-numbers, contact details, free-text notes, confidential asylum facts) and the field that
names the person they are about (``personal``), and the text-like fields it has decided
hold none (``impersonal``). The service stores personal fields encrypted under that
person's key; once the key is destroyed they read as ERASED, at every point of history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from uuid import UUID


class Erased:
    """A personal value whose key was destroyed: known to have existed, never guessed."""

    _instance: Erased | None = None

    def __new__(cls) -> Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False  # `x.note if x.note else ...` reads an erased note as absent

    def __repr__(self) -> str:
        return "ERASED"

    def __str__(self) -> str:
        return "[erased]"

    def __reduce__(self) -> str:
        return "ERASED"


ERASED: Final = Erased()


def erased(value: object) -> bool:
    """Whether a field's value is the erased marker."""
    return value is ERASED


def clear(value: Any) -> Any:
    """The value, or None where it was erased (a column holds no marker; a flag says)."""
    return None if value is ERASED else value


def personal_fields(cls: type[Any]) -> Mapping[str, str]:
    """An event class's personal fields, each to the field naming the person it is about."""
    found: Mapping[str, str] = getattr(cls, "personal", {})
    return found


def subjects(event: Any) -> set[UUID]:
    """The people whose personal data an event holds (a field holding None holds none)."""
    state = vars(event)
    return {
        state[subject]
        for name, subject in personal_fields(type(event)).items()
        if state[name] is not None and state[subject] is not None
    }
