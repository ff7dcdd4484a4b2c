"""The eventsourcing Mapper with transcodings for the domain's enums and value objects."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    Transcoding,
    UUIDAsHex,
)

from domain import family, values


class DateAsISO(Transcoding):
    """Calendar dates as ISO strings (the library covers datetimes only)."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """One domain enumeration, stored as its value."""

    def __init__(self, enum: type[Enum]) -> None:
        self.type = enum
        self.name = enum.__name__

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        enum: type[Enum] = self.type
        return enum(data)


class ValueObjectAsDict(Transcoding):
    """One frozen dataclass value object, stored as a dict of its fields."""

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = cls.__name__

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        # Stored facts are not re-validated: a rule made stricter later must not make
        # history unreadable (schema changes go through upcasters instead).
        obj: Any = object.__new__(self.type)
        for name, value in data.items():
            object.__setattr__(obj, name, value)
        return obj


def _domain_types() -> tuple[list[type[Enum]], list[type[Any]]]:
    enums, objects = [], []
    for module in (values, family):
        for obj in vars(module).values():
            if not isinstance(obj, type) or obj.__module__ != module.__name__:
                continue
            if issubclass(obj, Enum):
                enums.append(obj)
            elif module is values and dataclasses.is_dataclass(obj):
                objects.append(obj)
    return enums, objects


def create_transcoder() -> JSONTranscoder:
    """A JSON transcoder that knows every type a family event may carry."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    enums, objects = _domain_types()
    for enum in enums:
        transcoder.register(EnumAsValue(enum))
    for cls in objects:
        transcoder.register(ValueObjectAsDict(cls))
    return transcoder


def create_mapper() -> Mapper[Any]:
    """The one mapper between family events and stored bytes."""
    return Mapper(transcoder=create_transcoder())
