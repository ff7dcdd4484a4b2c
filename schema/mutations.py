"""What every mutation shares: the call, the result union, and the one way a command runs."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar
from uuid import UUID

import strawberry
from strawberry.types.field import StrawberryField

from domain.family import Family
from schema import inputs as i
from schema.context import Info
from schema.errors import CommandError, to_error
from schema.permissions import RECORDERS
from service.application.commands import CommandContext, command_digest
from service.eventstore.provenance import REQUEST_ID, Provenance
from service.eventstore.records import AppendResult

log = logging.getLogger(__name__)


@strawberry.type
class CommandSuccess:
    """The command was recorded (or had been, for a retried idempotency key)."""

    family_id: UUID
    version: int
    position: int = strawberry.field(
        description="Global position of the last event written; pass it as minPosition "
        "to read your own write."
    )
    duplicate: bool
    created_id: UUID | None = None


CommandResult = Annotated[CommandSuccess | CommandError, strawberry.union("CommandResult")]

Decide = Callable[[Family], None]
Append = Callable[[CommandContext], Awaitable[AppendResult]]
Resolver = Callable[..., Awaitable[CommandResult]]


class OnFamily(Protocol):
    """An input naming the family its command is recorded on."""

    @property
    def family_id(self) -> UUID: ...


In = TypeVar("In")
FamilyIn = TypeVar("FamilyIn", bound=OnFamily)


@dataclass(frozen=True)
class Call(Generic[In]):
    """One mutation call: the command's name, its input, and the arguments all commands share."""

    name: str
    input: In
    idempotency_key: str | None = None
    expected_version: int | None = None
    provenance: i.ProvenanceInput | None = None


def mutation(description: str | None = None) -> Callable[[Resolver], StrawberryField]:
    """A command's field, open to recorders only."""
    field: Callable[[Resolver], StrawberryField] = strawberry.mutation(
        permission_classes=[RECORDERS], description=description
    )
    return field


def actor(info: Info) -> str:
    """The verified caller's subject."""
    identity = info.context.identity
    assert identity is not None, "permission classes admit only authenticated callers"
    return identity.subject


def _context(info: Info, call: Call[Any]) -> CommandContext:
    """Provenance from the verified identity; the input can only add source and reason."""
    identity = info.context.identity
    assert identity is not None, "permission classes admit only authenticated callers"
    given = call.provenance or i.ProvenanceInput()
    i.check_texts(call.input)  # before the digest encodes the input as UTF-8
    encode = info.context.container.store.mapper.transcoder.encode
    return CommandContext(
        Provenance(
            actor=identity.subject,
            role=identity.role.value,
            source=i.maybe_text(given.source, "provenance.source") or f"graphql:{call.name}",
            reason=i.maybe_text(given.reason, "provenance.reason"),
            correlation_id=given.correlation_id or REQUEST_ID.get(),
            causation_id=given.causation_id,
        ),
        idempotency_key=i.maybe_text(call.idempotency_key, "idempotencyKey"),
        expected_version=call.expected_version,
        digest=command_digest(call.name, identity.subject, dataclasses.asdict(call.input), encode),
    )


async def run(
    info: Info, call: Call[Any], family_id: UUID, append: Append, created: UUID | None = None
) -> CommandResult:
    """Append under the call's context; a known failure becomes its error member."""
    try:
        result = await append(_context(info, call))
    except Exception as e:
        return to_error(e, str(family_id), call.expected_version)
    # One line a command, with the request id (the events' correlation id) the log carries.
    log.info(
        "command %s on family %s: version %d, positions %d-%d%s",
        call.name, result.stream_id, result.version, result.first_position,
        result.last_position, " (a retry: the first result)" if result.duplicate else "",
    )  # fmt: skip
    return CommandSuccess(
        family_id=result.stream_id,
        version=result.version,
        position=result.last_position,
        duplicate=result.duplicate,
        created_id=created,
    )


async def execute(
    info: Info,
    call: Call[FamilyIn],
    build: Callable[[FamilyIn], Decide],
    created: UUID | None = None,
) -> CommandResult:
    """Validate the input by building the decision, then load -> decide -> append."""
    family_id = call.input.family_id
    commands = info.context.container.commands

    async def append(ctx: CommandContext) -> AppendResult:
        return await commands.execute(family_id, build(call.input), ctx)

    return await run(info, call, family_id, append, created)
