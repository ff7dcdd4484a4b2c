"""Mutations are commands: validated input in, a success or a typed error out."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

import strawberry

from domain.family import Family, Member
from schema import inputs as i
from schema.context import Info
from schema.errors import CommandError, to_error
from schema.permissions import RECORDERS
from service.application.commands import CommandContext, command_digest, new_id
from service.eventstore.provenance import Provenance
from service.eventstore.records import AppendResult


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


def _actor(info: Info) -> str:
    identity = info.context.identity
    assert identity is not None, "permission classes admit only authenticated callers"
    return identity.subject


def _context(
    info: Info,
    name: str,
    data: Any,
    key: str | None,
    expected: int | None,
    provenance: i.ProvenanceInput | None,
) -> CommandContext:
    """Provenance from the verified identity; the input can only add source and reason."""
    identity = info.context.identity
    assert identity is not None, "permission classes admit only authenticated callers"
    given = provenance or i.ProvenanceInput()
    encode = info.context.container.store.mapper.transcoder.encode
    return CommandContext(
        Provenance(
            actor=identity.subject,
            role=identity.role.value,
            source=i.maybe_text(given.source, "provenance.source") or f"graphql:{name}",
            reason=i.maybe_text(given.reason, "provenance.reason"),
            correlation_id=given.correlation_id,
            causation_id=given.causation_id,
        ),
        idempotency_key=i.maybe_text(key, "idempotencyKey"),
        expected_version=expected,
        digest=command_digest(name, identity.subject, dataclasses.asdict(data), encode),
    )


async def _run(
    info: Info,
    name: str,
    data: Any,
    family_id: UUID,
    key: str | None,
    expected: int | None,
    provenance: i.ProvenanceInput | None,
    command: Callable[[CommandContext], Awaitable[AppendResult]],
    created: UUID | None = None,
) -> CommandResult:
    try:
        result = await command(_context(info, name, data, key, expected, provenance))
    except Exception as e:
        return to_error(e, str(family_id), expected)
    return CommandSuccess(
        family_id=result.stream_id,
        version=result.version,
        position=result.last_position,
        duplicate=result.duplicate,
        created_id=created,
    )


def command(
    name: str, input_type: type[Any], build: Callable[[Any], Decide], description: str
) -> Any:
    """A mutation field: validate the input by building the decision, then run it.

    Every command shares the arguments input, idempotencyKey, expectedVersion and
    provenance, and the CommandResult union.
    """

    async def resolve(
        self: Any,
        info: Info,
        input: Any,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        return await execute(
            info,
            name,
            input,
            input.family_id,
            idempotency_key,
            expected_version,
            provenance,
            lambda: build(input),
        )

    resolve.__annotations__["input"] = input_type
    return strawberry.mutation(
        resolver=resolve, permission_classes=[RECORDERS], description=description
    )


async def execute(
    info: Info,
    name: str,
    data: Any,
    family_id: UUID,
    key: str | None,
    expected: int | None,
    provenance: i.ProvenanceInput | None,
    build: Callable[[], Decide],
    created: UUID | None = None,
) -> CommandResult:
    """Validate by building the decision first, then load -> decide -> append."""
    commands = info.context.container.commands

    async def command(ctx: CommandContext) -> AppendResult:
        return await commands.execute(family_id, build(), ctx)

    return await _run(info, name, data, family_id, key, expected, provenance, command, created)


def relate(input: i.RecordRelationshipInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.record_relationship(
        input.parent_id, input.child_id, input.kind, input.evidence, occurred
    )


def separate(input: i.RecordSeparationInput) -> Decide:
    place, occurred = input.place.to_place("place"), i.when(input.occurred_at)
    note = i.maybe_text(input.note, "note")
    return lambda f: f.separate(
        input.parent_id,
        input.child_id,
        place,
        input.reason,
        note,
        input.parent_notified,
        occurred,
    )


def place(input: i.RecordPlacementInput) -> Decide:
    facility, occurred = input.facility.to_facility(), i.when(input.occurred_at)
    return lambda f: f.place_child(input.child_id, facility, input.program_type, occurred)


def reunify(input: i.RecordReunificationInput) -> Decide:
    place = input.place.to_place("place") if input.place else None
    occurred = i.when(input.occurred_at)
    return lambda f: f.reunify(input.child_id, input.parent_id, place, occurred)


@strawberry.type
class FamilyMutations:
    """Open a case, add its members, link them, separate, place and reunify."""

    @strawberry.mutation(permission_classes=[RECORDERS])
    async def open_case(
        self,
        info: Info,
        input: i.OpenCaseInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        family_id = input.family_id or new_id("openCase", _actor(info), idempotency_key)
        commands = info.context.container.commands

        async def command(ctx: CommandContext) -> AppendResult:
            fields = {
                "occurred_at": i.when(input.occurred_at),
                "case_number": i.text(input.case_number, "caseNumber"),
                "source": i.text(input.source, "source"),
            }
            return await commands.open_case(family_id, ctx, **fields)

        return await _run(
            info,
            "openCase",
            input,
            family_id,
            idempotency_key,
            expected_version,
            provenance,
            command,
            family_id,
        )

    @strawberry.mutation(permission_classes=[RECORDERS])
    async def add_member(
        self,
        info: Info,
        input: i.AddMemberInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        person_id = input.person_id or new_id("addMember", _actor(info), idempotency_key)

        def build() -> Decide:
            member = Member(
                person_id,
                input.role,
                i.person_name(input.name),
                input.sex,
                input.birth_date,
                input.check_age(),
                i.country(input.country),
                i.a_number(input.a_number),
            )
            occurred = i.when(input.occurred_at)
            return lambda f: f.add_member(member, occurred)

        return await execute(
            info,
            "addMember",
            input,
            input.family_id,
            idempotency_key,
            expected_version,
            provenance,
            build,
            person_id,
        )

    record_relationship = command(
        "recordRelationship", i.RecordRelationshipInput, relate, "Link an adult to a child."
    )
    record_separation = command(
        "recordSeparation", i.RecordSeparationInput, separate, "A child was taken from a parent."
    )
    record_placement = command(
        "recordPlacement", i.RecordPlacementInput, place, "A child was placed in ORR care."
    )
    record_reunification = command(
        "recordReunification",
        i.RecordReunificationInput,
        reunify,
        "A child was reunified with a linked parent.",
    )
