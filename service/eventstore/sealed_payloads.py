"""Sealed typed payloads: a typed payload whose personal fields are encrypted per person.

A sealed payload starts with SEALED and the id of the person whose data key seals it, so a
reader learns which keys a batch needs from the rows' first bytes, before decoding any:
``{"_typed_":1,"_sealed_":"<person uuid>",...}``. Each personal field that holds a value
is the sealed text of that value's JSON (service.eventstore.sealing); a field that holds
None stays null. The hash chain hashes these bytes, so verifying needs no key.
An erased person's fields (key destroyed) decode as domain.personal.ERASED.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, NotRequired, Protocol
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.personal import ERASED, personal_fields
from service.eventstore.sealing import event_aad, field_aad, seal, unseal
from service.eventstore.typed_payloads import TypedDict, TypedEvents

SEALED = b'{"_typed_":1,"_sealed_":"'
_ID = slice(len(SEALED), len(SEALED) + 36)
_new, _set = object.__new__, object.__setattr__


class Ciphers(Protocol):
    """Where a person's data key is found: None once erased (service.eventstore.keyring)."""

    erased: set[UUID]

    def cipher(self, person_id: UUID) -> AESGCM | None: ...


def sealed_for(payload: bytes) -> UUID | None:
    """The person whose key seals a payload, from its first bytes; None when not sealed."""
    return UUID(payload[_ID].decode("ascii")) if payload.startswith(SEALED) else None


def _bare(shape: Any) -> Any:
    """A field's decoding type without NotRequired."""
    return typing.get_args(shape)[0] if typing.get_origin(shape) is NotRequired else shape


class SealedEvents:
    """The sealed form of one typed event class with personal fields."""

    encoder = msgspec.json.Encoder()

    def __init__(self, typed: TypedEvents) -> None:
        self.typed = typed
        self.personal = dict(personal_fields(typed.cls))
        (self.subject,) = set(self.personal.values())  # one person's key per event
        shape = dict(typed.fields.shape)
        for name in self.personal:
            shape[name] = str | None  # the sealed text
        self.decoder = msgspec.json.Decoder(
            TypedDict(
                f"{typed.cls.__name__}Sealed",
                {**shape, "_sealed_": str, "class_version": NotRequired[int]},
            )
        )
        builds = dict(typed.builds)
        self.fields: list[
            tuple[str, bytes, msgspec.json.Decoder[Any], Callable[[Any], Any] | None]
        ] = [
            (
                name,
                name.encode(),
                msgspec.json.Decoder(_bare(typed.fields.shape[name])),
                builds.get(name),
            )
            for name in self.personal
        ]
        self.builds = tuple((n, b) for n, b in typed.builds if n not in self.personal)

    def encode(self, state: dict[str, Any], stream_id: Any, version: int, keys: Ciphers) -> bytes:
        """The payload: typed as ever (so checked the same way), its personal values sealed.
        Without any personal value it stays a plain typed payload."""
        plain = self.typed.encode(dict(state))
        present = [name for name in self.personal if state.get(name) is not None]
        if not present:
            return plain
        person = state[self.subject]
        cipher = keys.cipher(person)
        if cipher is None:
            raise ValueError(f"person {person}'s personal data is erased; none can be recorded")
        raw: dict[str, Any] = msgspec.json.decode(plain)
        del raw["_typed_"]
        for name in present:
            value = self.encoder.encode(raw[name])
            raw[name] = seal(cipher, value, field_aad(stream_id, version, name))
        return self.encoder.encode({"_typed_": 1, "_sealed_": str(person), **raw})

    def event(self, payload: bytes, stream_id: Any, version: int, keys: Ciphers) -> Any:
        """The domain event of a sealed payload, its erased person's fields ERASED."""
        try:
            state: dict[str, Any] = self.decoder.decode(payload)
            old = state.pop("class_version", 1) != self.typed.version
        except msgspec.ValidationError:
            old = True
        if old:
            return self._upcast(payload, stream_id, version, keys)
        del state["_sealed_"]
        cipher = keys.cipher(state[self.subject])
        place = event_aad(stream_id, version)
        for name, aad, decoder, build in self.fields:
            token = state[name]
            if token is None:
                continue
            if cipher is None:
                state[name] = ERASED
                continue
            value = decoder.decode(unseal(cipher, token, place + aad))
            state[name] = value if build is None else build(value)
        for name, default in self.typed.defaults:
            state.setdefault(name, default)
        for name, build in self.builds:
            state[name] = build(state[name])
        state["originator_id"] = stream_id
        state["originator_version"] = version
        event = _new(self.typed.cls)
        _set(event, "__dict__", state)
        return event

    def _upcast(self, payload: bytes, stream_id: Any, version: int, keys: Ciphers) -> Any:
        """An older version of the class: opened to plain JSON, then typed as ever."""
        raw: dict[str, Any] = msgspec.json.decode(payload)
        person = UUID(raw.pop("_sealed_"))
        del raw["_typed_"]
        cipher, erased = keys.cipher(person), list[str]()
        for name in self.personal:
            token = raw.get(name)
            if token is None:
                continue
            if cipher is None:
                raw[name], erased = None, [*erased, name]
                continue
            raw[name] = msgspec.json.decode(
                unseal(cipher, token, field_aad(stream_id, version, name))
            )
        event = self.typed.event(self.encoder.encode({"_typed_": 1, **raw}), stream_id, version)
        for name in erased:
            vars(event)[name] = ERASED
        return event


def sealed_events(typed: dict[type[Any], TypedEvents]) -> dict[type[Any], SealedEvents]:
    """The sealed form of each typed class that has personal fields."""
    return {cls: SealedEvents(t) for cls, t in typed.items() if personal_fields(cls)}
