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
- What is written must read back: a value its field cannot hold (a float for an int, a
  datetime for a date) is refused when encoded, since a chained row is never edited. A
  moment whose UTC offset has seconds is written in UTC (msgspec keeps offsets to the
  minute), so its instant is exact.
- Value objects are built without __post_init__, as the tagged format builds them: a rule
  made stricter later must not make history unreadable. A field with a default may be
  absent (rows written before it existed).
- Upcasting: a payload of the class's current version decodes in one step. An older one is
  read as plain JSON, upcast there (so an upcaster of a typed payload sees JSON values:
  None, strings, numbers, dicts for value objects), then typed as strictly as a current
  one. Fields the class does not declare are dropped, where the tagged format keeps them.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from types import NoneType, UnionType
from typing import Any, NotRequired
from uuid import UUID

import msgspec

TYPED = b'{"_typed_":1,'
# Fields the mapper takes from the row, never from the payload.
FROM_ROW = frozenset({"originator_id", "originator_version"})
SCALARS = (UUID, datetime, date, str, int, bool, NoneType)
ZERO, MINUTE = timedelta(0), timedelta(minutes=1)
_new, _set = object.__new__, object.__setattr__
SHARED_VALUES = 4096  # distinct values kept per value-object class

Build = Callable[[Any], Any]
# Types built at run time from annotations, which a type checker cannot follow.
Union: Any = typing.Union
TypedDict: Any = typing.TypedDict


class NotTyped(TypeError):
    """A field whose type the typed format cannot carry: the class stays tagged."""


class Fields:
    """A dataclass's fields as msgspec decodes them: the TypedDict fields, the defaults of
    those that may be absent, and what turns decoded values into the domain's."""

    def __init__(self, cls: type[Any]) -> None:
        hints = typing.get_type_hints(cls)
        self.shape: dict[str, Any] = {}
        self.defaults: list[tuple[str, Any]] = []
        self.builds: list[tuple[str, Build]] = []
        self.moments: list[str] = []
        for f in dataclasses.fields(cls):
            if f.name in FROM_ROW:
                continue
            shape, build = _plan(hints[f.name])
            self.shape[f.name] = shape
            if f.default is not dataclasses.MISSING:
                # Absent from rows written before the field existed: the class's default.
                self.shape[f.name] = NotRequired[shape]
                self.defaults.append((f.name, f.default))
            if build is not None:
                self.builds.append((f.name, build))
            if datetime in (hints[f.name], *typing.get_args(hints[f.name])):
                self.moments.append(f.name)

    def fill(self, data: dict[str, Any]) -> dict[str, Any]:
        """Decoded values made the domain's, in place."""
        for name, default in self.defaults:
            data.setdefault(name, default)
        for name, build in self.builds:
            data[name] = build(data[name])
        return data


def _value_object(cls: type[Any]) -> tuple[Any, Build]:
    """A TypedDict of the value object's fields, and what builds the object from one."""
    fields = Fields(cls)
    if fields.moments:
        raise NotTyped(f"{cls.__name__}: a value object's moments are not kept exact")
    shape = TypedDict(cls.__name__, fields.shape)

    def build(data: dict[str, Any]) -> Any:
        obj = _new(cls)
        _set(obj, "__dict__", fields.fill(data))
        return obj

    if fields.builds or any(typing.get_origin(s) is list for s in fields.shape.values()):
        return shape, build
    # Scalars only, each field of one type: equal field values make an equal (frozen)
    # object, so one is shared. A long history names the same few facilities hundreds of
    # times, and building and freeing each was most of decoding its events.
    key = operator.itemgetter(*fields.shape)
    shared: dict[Any, Any] = {}

    def build_shared(data: dict[str, Any]) -> Any:
        for name, default in fields.defaults:
            data.setdefault(name, default)
        values = key(data)
        obj = shared.get(values)
        if obj is None:
            if len(shared) >= SHARED_VALUES:
                shared.clear()
            obj = shared[values] = build(data)
        return obj

    return shape, build_shared


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
        self.fields = Fields(cls)
        self.defaults, self.builds = tuple(self.fields.defaults), tuple(self.fields.builds)
        self.shape = TypedDict(
            f"{cls.__name__}Payload", {**self.fields.shape, "class_version": NotRequired[int]}
        )
        self.decoder = msgspec.json.Decoder(self.shape)

    def encode(self, state: dict[str, Any]) -> bytes:
        """The payload of an event's state (without originator id and version); refused
        (ValueError) when a value is not of its field's type, so what is written reads."""
        for name in self.fields.moments:
            # msgspec writes offsets to the minute: keep the instant exact, in UTC.
            moment = state[name]
            if moment is not None and (moment.utcoffset() or ZERO) % MINUTE:
                state[name] = moment.astimezone(UTC)
        if self.version > 1:
            state["class_version"] = self.version
        payload = self.encoder.encode({"_typed_": 1, **state})
        try:
            self.event(payload, None, 0)
        except ValueError as e:
            raise ValueError(f"{self.cls.__qualname__} cannot be stored: {e}") from e
        return payload

    def event(self, payload: bytes, originator_id: Any, originator_version: int) -> Any:
        """The domain event of a payload (of the class's current version once upcast, every
        value of its domain type) and the row's stream id and version. One call per event,
        every step inline: a replay makes a thousand in a row."""
        try:
            state: dict[str, Any] = self.decoder.decode(payload)
            old = state.pop("class_version", 1) != self.version
        except msgspec.ValidationError:
            old = True  # an older version may lack or rename fields: _upcast tells
        if old:
            state = self._upcast(payload)
        for name, default in self.defaults:
            state.setdefault(name, default)
        for name, build in self.builds:
            state[name] = build(state[name])
        state["originator_id"] = originator_id
        state["originator_version"] = originator_version
        event = _new(self.cls)
        _set(event, "__dict__", state)
        return event

    def _upcast(self, payload: bytes) -> dict[str, Any]:
        raw: dict[str, Any] = msgspec.json.decode(payload)
        del raw["_typed_"]
        version = raw.pop("class_version", 1)
        if type(version) is not int or version < 1:
            raise ValueError(f"class_version {version!r} is no version")
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
        # Strict: an old row's values are converted only as a current one's are decoded.
        converted: dict[str, Any] = msgspec.convert(raw, self.shape, strict=True)
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
