"""Commands on the case as a whole: opening, members, links, apprehension, flags, closing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import strawberry

from domain.family import Member
from domain.values import Agency
from schema import inputs as i
from schema.context import Info
from schema.mutations import Call, CommandResult, Decide, actor, execute, mutation, run
from service.application.commands import CommandContext, new_id
from service.eventstore.records import AppendResult


@strawberry.input
class ApprehendInput:
    """Members of the family were apprehended together."""

    family_id: UUID
    person_ids: list[UUID]
    place: i.PlaceInput
    agency: Agency
    occurred_at: datetime


@strawberry.input
class FlagDataQualityInput:
    """An entry broke a data-quality rule; it is kept and flagged."""

    family_id: UUID
    about_version: int
    rule: str
    detail: str
    occurred_at: datetime


@strawberry.input
class CloseCaseInput:
    """Close the case; nothing is recorded on it afterwards."""

    family_id: UUID
    reason: str
    occurred_at: datetime


def member(person_id: UUID) -> Callable[[i.AddMemberInput], Decide]:
    """The decision to add the input's member under this id (given, or made from the key)."""

    def build(input: i.AddMemberInput) -> Decide:
        added = Member(
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
        return lambda f: f.add_member(added, occurred)

    return build


def relate(input: i.RecordRelationshipInput) -> Decide:
    occurred = i.when(input.occurred_at)
    return lambda f: f.record_relationship(
        input.parent_id, input.child_id, input.kind, input.evidence, occurred
    )


def apprehension(input: ApprehendInput) -> Decide:
    place, occurred = input.place.to_place("place"), i.when(input.occurred_at)
    people = tuple(input.person_ids)
    return lambda f: f.apprehend(people, place, input.agency, occurred)


def flag(input: FlagDataQualityInput) -> Decide:
    rule, detail = i.text(input.rule, "rule"), i.text(input.detail, "detail")
    occurred = i.when(input.occurred_at)
    return lambda f: f.flag_data_quality(rule, input.about_version, detail, occurred)


def closing(input: CloseCaseInput) -> Decide:
    reason, occurred = i.text(input.reason, "reason"), i.when(input.occurred_at)
    return lambda f: f.close_case(reason, occurred)


@strawberry.type
class CaseMutations:
    """Open a case, add its members, link them, and record what concerns the whole case."""

    @mutation()
    async def open_case(
        self,
        info: Info,
        input: i.OpenCaseInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("openCase", input, idempotency_key, expected_version, provenance)
        family_id = input.family_id or new_id("openCase", actor(info), idempotency_key)
        commands = info.context.container.commands

        async def append(ctx: CommandContext) -> AppendResult:
            fields = {
                "occurred_at": i.when(input.occurred_at),
                "case_number": i.text(input.case_number, "caseNumber"),
                "source": i.text(input.source, "source"),
            }
            return await commands.open_case(family_id, ctx, **fields)

        return await run(info, call, family_id, append, family_id)

    @mutation()
    async def add_member(
        self,
        info: Info,
        input: i.AddMemberInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("addMember", input, idempotency_key, expected_version, provenance)
        person_id = input.person_id or new_id("addMember", actor(info), idempotency_key)
        return await execute(info, call, member(person_id), person_id)

    @mutation("Link an adult to a child.")
    async def record_relationship(
        self,
        info: Info,
        input: i.RecordRelationshipInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("recordRelationship", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, relate)

    @mutation("Members of the family were apprehended together.")
    async def record_apprehension(
        self,
        info: Info,
        input: ApprehendInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("recordApprehension", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, apprehension)

    @mutation("An entry broke a data rule.")
    async def flag_data_quality(
        self,
        info: Info,
        input: FlagDataQualityInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("flagDataQuality", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, flag)

    @mutation("Close the case.")
    async def close_case(
        self,
        info: Info,
        input: CloseCaseInput,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        provenance: i.ProvenanceInput | None = None,
    ) -> CommandResult:
        call = Call("closeCase", input, idempotency_key, expected_version, provenance)
        return await execute(info, call, closing)
