"""The eventsourcing Mapper for family events: typed payloads where a class can have one,
tagged ones (the library's JSONTranscoder, with transcodings for the domain's enums and value
objects) otherwise; rows of either format read back."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain import family, values
from domain.personal import ERASED, personal_fields
from service.eventstore.sealed_changes import SealedAsText, opened, sealed_copy, seals_changes
from service.eventstore.sealed_payloads import SEALED, Ciphers, SealedEvents, sealed_events
from service.eventstore.typed_payloads import TYPED, TypedEvents, typed_events


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
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DateAsISO(), SealedAsText()):
        transcoder.register(transcoding)
    enums, objects = _domain_types()
    for enum in enums:
        transcoder.register(EnumAsValue(enum))
    for cls in objects:
        transcoder.register(ValueObjectAsDict(cls))
    return transcoder


class StoredRow(Protocol):
    """What decoding needs of a row of the log (service.eventstore.records.RecordedEvent has it)."""

    @property
    def stream_id(self) -> UUID: ...
    @property
    def version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...


class FamilyMapper(Mapper[Any]):
    """Writes typed payloads for the classes that have a format (service.eventstore.typed_payloads)
    and tagged ones for the rest; reads both, each row by its own first bytes."""

    def __init__(
        self,
        transcoder: JSONTranscoder,
        typed: dict[type[Any], TypedEvents],
        keys: Ciphers | None = None,
        seal: bool = True,
    ) -> None:
        super().__init__(transcoder=transcoder)
        self.typed = typed
        # Rows name their class by topic: a replay looks each up here, not by resolving it.
        self.by_topic = {get_topic(cls): format for cls, format in typed.items()}
        # Personal data: sealed on the way in when `seal` (and keys are given), opened on
        # the way out; keys=None reads sealed rows as unreadable (an auditor's tools).
        self.keys = keys
        self.sealing = sealed_events(typed) if keys is not None else {}
        self.seal = seal and keys is not None
        self.sealed_by_topic = {get_topic(c): s for c, s in self.sealing.items()}
        # Clear rows (written before sealing, or with it off) of an erased person read as
        # erased too: the subject field of each class with personal fields.
        self.subject_by_topic = {
            get_topic(c): next(iter(personal_fields(c).values()))
            for c in typed
            if personal_fields(c)
        }

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """The event's stored form: typed when its class has the format."""
        typed = self.typed.get(type(domain_event))
        if typed is None:
            if self.seal and seals_changes(domain_event):
                assert self.keys is not None
                domain_event = sealed_copy(domain_event, self.transcoder, self.keys)
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id, version = state.pop("originator_id"), state.pop("originator_version")
        sealing = self.sealing.get(type(domain_event)) if self.seal else None
        if sealing is not None:
            assert self.keys is not None
            payload = sealing.encode(state, originator_id, version, self.keys)
        else:
            payload = typed.encode(state)
        return StoredEvent(originator_id, version, get_topic(type(domain_event)), payload)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """The domain event of a stored one, of either format, upcast to its class's version."""
        s = stored_event
        return self.event_of(s.topic, s.state, s.originator_id, s.originator_version)

    def decode_row(self, row: StoredRow) -> Any:
        """The domain event of a row of the log (the store's decode: one call per event for
        the commonest rows, typed ones of a known topic)."""
        payload = row.payload
        typed = self.by_topic.get(row.topic) if payload.startswith(TYPED) else None
        if typed is None or payload.startswith(SEALED):
            return self.event_of(row.topic, payload, row.stream_id, row.version)
        try:
            event = typed.event(payload, row.stream_id, row.version)
        except Exception as e:  # whatever it is, the row cannot be read as its class
            raise _unreadable(row.topic, row.stream_id, row.version, repr(e)) from e
        if self.keys is not None and self.keys.erased and row.topic in self.subject_by_topic:
            return self._masked(row.topic, event)
        return event

    def _masked(self, topic: str, event: Any) -> Any:
        """A clear row's event, its personal fields ERASED when its person is erased."""
        assert self.keys is not None
        state = vars(event)
        if state[self.subject_by_topic[topic]] in self.keys.erased:
            for name in personal_fields(type(event)):
                if state[name] is not None:
                    state[name] = ERASED
        return event

    def event_of(self, topic: str, payload: bytes, stream_id: UUID | str, version: int) -> Any:
        """The domain event of a stored row's columns (a replay has no StoredEvent to give)."""
        if not payload.startswith(TYPED):
            event = super().to_domain_event(StoredEvent(stream_id, version, topic, payload))
            if "_typed_" in vars(event):  # typed, but not as this version writes it
                raise _unreadable(topic, stream_id, version, "a typed payload of another form")
            if self.keys is not None and "changes" in personal_fields(type(event)):
                return opened(event, self.transcoder, self.keys)
            return event
        if payload.startswith(SEALED):
            return self._opened(topic, payload, stream_id, version)
        try:
            # A topic renamed since the row was written resolves through the library.
            typed = self.by_topic.get(topic) or self.typed[resolve_topic(topic)]
            return typed.event(payload, stream_id, version)
        except Exception as e:  # whatever it is, the row cannot be read as its class
            raise _unreadable(topic, stream_id, version, repr(e)) from e

    def _opened(self, topic: str, payload: bytes, stream_id: UUID | str, version: int) -> Any:
        """The domain event of a sealed row, opened with its person's key."""
        sealed: SealedEvents | None = self.sealed_by_topic.get(topic)
        if sealed is None or self.keys is None:
            why = "sealed personal data, and no keys to open it" if self.keys is None else ""
            raise _unreadable(topic, stream_id, version, why or "sealed, of no sealed class")
        try:
            return sealed.event(payload, stream_id, version, self.keys)
        except Exception as e:  # whatever it is, the row cannot be read as its class
            raise _unreadable(topic, stream_id, version, repr(e)) from e


def _unreadable(
    topic: str, stream_id: UUID | str, version: int, why: str
) -> MapperDeserialisationError:
    return MapperDeserialisationError(
        f"Failed to deserialise state of stored event with topic '{topic}', "
        f"originator_id '{stream_id}' and originator_version {version}: {why}"
    )


def family_events() -> list[type[Any]]:
    """Every event class declared on Family (the stored topics name these)."""
    return [
        c
        for c in vars(family.Family).values()
        if isinstance(c, type) and issubclass(c, Aggregate.Event)
    ]


def create_mapper(
    typed: bool = True, keys: Ciphers | None = None, seal: bool = True
) -> FamilyMapper:
    """The one mapper between family events and stored bytes; typed=False writes every
    event tagged, as before typed payloads existed (for tests of old rows). With keys,
    personal fields are sealed (seal=False: written clear, as before) and opened."""
    formats = typed_events(family_events()) if typed else {}
    return FamilyMapper(create_transcoder(), formats, keys, seal)
