"""Turn a correction's JSON values into the typed values the amended event's field takes."""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any

from domain.corrections import field_types
from schema.errors import InputInvalid


def coerce_field(event: Any, field: str, raw: object) -> object:
    """The value for `field` of `event`'s class, built from a JSON value."""
    hint = field_types(type(event)).get(field)  # type: ignore[arg-type]
    if hint is None:
        raise InputInvalid("changes", f"{type(event).__name__} has no field {field!r}")
    try:
        return _coerce(hint, raw)
    except (TypeError, ValueError, KeyError) as e:
        raise InputInvalid("changes", f"{field}: {raw!r} does not fit ({e})") from None


def snake_case(name: str) -> str:
    """A GraphQL field name in the domain's spelling: facilityName -> facility_name."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _coerce(hint: Any, raw: object) -> object:
    options = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
    if raw is None:
        if NoneType in options:
            return None
        raise ValueError("a value is required")
    last: Exception = ValueError("no matching type")
    for option in (o for o in options if o is not NoneType):
        try:
            return _one(option, raw)
        except (TypeError, ValueError, KeyError) as e:
            last = e
    raise last


def _one(option: Any, raw: object) -> object:
    if isinstance(option, type) and issubclass(option, Enum):
        return option[raw] if isinstance(raw, str) and raw in option.__members__ else option(raw)
    if dataclasses.is_dataclass(option) and isinstance(raw, dict):
        hints = typing.get_type_hints(option)
        values = {snake_case(k): v for k, v in raw.items()}
        build: Any = option
        return build(**{k: _coerce(hints[k], v) for k, v in values.items()})
    if option is datetime and isinstance(raw, str):
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("a moment needs a time zone")
        return moment
    if option is date and isinstance(raw, str):
        return date.fromisoformat(raw)
    if (
        isinstance(option, type)
        and isinstance(raw, option)
        and not (isinstance(raw, bool) and option is not bool)
    ):
        return raw
    raise TypeError(f"expected {getattr(option, '__name__', option)}")
