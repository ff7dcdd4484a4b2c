"""Handlers keyed by event class, each typed by the class it handles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from eventsourcing.domain import Aggregate

from domain import events

E = TypeVar("E")
P = ParamSpec("P")
R = TypeVar("R")

_DECLARED = frozenset(
    cls
    for cls in vars(events).values()
    if isinstance(cls, type) and issubclass(cls, Aggregate.Event)
)


class _Declared(dict[type, type]):
    """Each event class as domain.events declares it, by the class an event is decoded as."""

    def __missing__(self, cls: type) -> type:
        # Decoded events are of Family's nested subclasses (a Family.Separated is a
        # Separated): each is traced back along its MRO once, then looked up.
        declared = self[cls] = next((c for c in cls.__mro__ if c in _DECLARED), cls)
        return declared


DECLARED = _Declared()


def declared(event: object) -> type:
    """The domain.events class of an event, the key of every handler table."""
    return DECLARED[type(event)]


# Any: the table holds each class's handler; `on` checks each against its class.
class Handlers(dict[type, Callable[Concatenate[Any, P], R]], Generic[P, R]):
    """Handlers by declared event class, each taking its event first."""

    def on(
        self, cls: type[E]
    ) -> Callable[[Callable[Concatenate[E, P], R]], Callable[Concatenate[E, P], R]]:
        """Register the decorated function as the handler of events of `cls`."""

        def register(handler: Callable[Concatenate[E, P], R]) -> Callable[Concatenate[E, P], R]:
            self[cls] = handler
            return handler

        return register
