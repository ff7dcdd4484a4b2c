"""Typed payloads: plain JSON whose types come from the event class, decoded by msgspec.

eventsourcing's JSONTranscoder tags every UUID, datetime, enum and value object as
{"_type_": ..., "_data_": ...} and rebuilds each in a Python object hook, which made
decoding most of a replay (9 us an event). A class whose fields all have concrete types
needs no tags: its payload is the fields as plain JSON (UUIDs, datetimes and dates as
strings, enums as their values, value objects as objects), and msgspec decodes it straight
into those types from a TypedDict made from the class's annotations (about 1 us).

- A typed payload starts with TYPED ({"_typed_":1,), so every row says its own format and
  rows written before (tagged) read as they always did. A class with a field of no
  concrete type (EntryCorrected's values) stays tagged.
- Value objects are built without __post_init__, as the tagged format builds them: a rule
  made stricter later must not make history unreadable.
- Upcasting: a payload of the class's current version decodes in one step. An older one is
  read as plain JSON, upcast there (so an upcaster of a typed payload sees JSON values:
  None, strings, numbers), then converted to the current types.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any, NotRequired
from uuid import UUID

import msgspec

TYPED = b'{"_typed_":1,'
# Fields the mapper takes from the row, never from the payload.
FROM_ROW = frozenset({"originator_id", "originator_version"})
SCALARS = (UUID, datetime, date, str, int, bool, NoneType)

Build = Callable[[Any], Any]
# Types built at run time from annotations, which a type checker cannot follow.
Union: Any = typing.Union
TypedDict: Any = typing.TypedDict


class NotTyped(TypeError):
    """A field whose type the typed format cannot carry: the class stays tagged."""


def _field_hints(cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name not in FROM_ROW}


def _value_object(cls: type[Any]) -> tuple[Any, Build]:
    """A TypedDict of the value object's fields, and what builds the object from one."""
    plans = {name: _plan(hint) for name, hint in _field_hints(cls).items()}
    shape = TypedDict(cls.__name__, {n: p[0] for n, p in plans.items()})
    inner = [(n, b) for n, (_, b) in plans.items() if b is not None]

    def build(data: dict[str, Any]) -> Any:
        for name, nested in inner:
            data[name] = nested(data[name])
        obj = object.__new__(cls)
        object.__setattr__(obj, "__dict__", data)
        return obj

    return shape, build


def _plan(hint: Any) -> tuple[Any, Build | None]:
    """The type msgspec decodes a field as, and what makes the domain's value of it (None
    when msgspec's value already is)."""
    if isinstance(hint, type) and issubclass(hint, (Enum, *SCALARS)):
        return hint, None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _value_object(hint)
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        options = [_plan(option) for option in typing.get_args(hint)]
        builds = [b for _, b in options if b is not None]
        shape = Union[tuple(s for s, _ in options)]
        if not builds:
            return shape, None
        if len(options) != 2 or NoneType not in typing.get_args(hint):
            raise NotTyped(f"{hint}: only X | None may hold a value object")
        (build,) = builds
        return shape, lambda v: None if v is None else build(v)
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        shape, build_item = _plan(item)
        if build_item is None:
            return list[shape], None  # type: ignore[valid-type]
        return list[shape], lambda values: [build_item(v) for v in values]  # type: ignore[valid-type]
    raise NotTyped(f"{hint!r} has no concrete type")


class TypedEvents:
    """The typed format of one event class: encode its state, decode and upcast it back."""

    encoder = msgspec.json.Encoder()

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.version: int = getattr(cls, "class_version", 1)
        plans = {name: _plan(hint) for name, hint in _field_hints(cls).items()}
        fields: dict[str, Any] = {name: shape for name, (shape, _) in plans.items()}
        fields["class_version"] = NotRequired[int]
        self.shape = TypedDict(f"{cls.__name__}Payload", fields)
        self.decoder = msgspec.json.Decoder(self.shape)
        self.builds = [(name, build) for name, (_, build) in plans.items() if build]

    def encode(self, state: dict[str, Any]) -> bytes:
        """The payload of an event's state (without originator id and version)."""
        if self.version > 1:
            state["class_version"] = self.version
        return self.encoder.encode({"_typed_": 1, **state})

    def decode(self, payload: bytes) -> dict[str, Any]:
        """The state of the class's current version, every value of its domain type."""
        try:
            state: dict[str, Any] = self.decoder.decode(payload)
            old = state.pop("class_version", 1) != self.version
        except msgspec.ValidationError:
            old = True  # an older version may lack or rename fields: _upcast tells
        if old:
            state = self._upcast(payload)
        for name, build in self.builds:
            state[name] = build(state[name])
        return state

    def _upcast(self, payload: bytes) -> dict[str, Any]:
        raw: dict[str, Any] = msgspec.json.decode(payload)
        del raw["_typed_"]
        version = raw.pop("class_version", 1)
        if version >= self.version:
            # Not an older version: msgspec names what is wrong with it; if nothing is,
            # it was written by a newer version of the class than this one.
            self.decoder.decode(payload)
            raise ValueError(
                f"stored as version {version} of {self.cls.__qualname__}, "
                f"which is at version {self.version}"
            )
        while version < self.version:
            getattr(self.cls, f"upcast_v{version}_v{version + 1}")(raw)
            version += 1
        converted: dict[str, Any] = msgspec.convert(raw, self.shape, strict=False)
        return converted


def typed_events(classes: list[type[Any]]) -> dict[type[Any], TypedEvents]:
    """The typed format of each class that can have one."""
    found = {}
    for cls in classes:
        try:
            found[cls] = TypedEvents(cls)
        except NotTyped:
            continue
    return found
