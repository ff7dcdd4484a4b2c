"""The admin's command that erases a person's personal data, by order (crypto-shredding)."""

from __future__ import annotations

from uuid import UUID

import strawberry

from schema import inputs as i
from schema.context import Info
from schema.errors import NotFound, ValidationError, to_error
from schema.mutations import CommandResult, CommandSuccess, actor
from schema.permissions import gate
from schema.policy import Fact, Use
from service.application.erasure import UnknownPerson
from service.eventstore.provenance import REQUEST_ID, Provenance

# Who may order the service to destroy a person's data key (schema/policy.py).
ERASERS = gate(Fact.OPERATIONS, Use.RECORD)


@strawberry.input
class ErasePersonalDataInput:
    """Erase every personal field of a person, by an order that is recorded."""

    person_id: UUID
    authority: str = strawberry.field(
        description="The order or schedule the erasure rests on (a court order, a retention "
        "schedule); recorded, at most 500 characters."
    )
    ordered_by: str | None = strawberry.field(
        default=None, description="Who ordered it; the caller when not given."
    )


@strawberry.type
class ErasureMutations:
    """Erasure: the order recorded, the person's data key destroyed, every read model
    re-folded so their personal fields read as erased."""

    @strawberry.mutation(
        permission_classes=[ERASERS],
        description="Erase a person's personal data: their data key is destroyed, and their "
        "names, birth dates, A-numbers and notes read as erased everywhere, history included.",
    )
    async def erase_personal_data(self, info: Info, input: ErasePersonalDataInput) -> CommandResult:
        identity = info.context.identity
        assert identity is not None, "permission classes admit only authenticated callers"
        try:
            i.check_texts(input)
            authority = input.authority
            provenance = Provenance(
                actor=actor(info),
                role=identity.role.value,
                source="graphql:erasePersonalData",
                reason=authority,
                correlation_id=REQUEST_ID.get(),
            )
            ordered_by = input.ordered_by if input.ordered_by is not None else actor(info)
            result = await info.context.container.erasure.erase(
                input.person_id, authority, ordered_by, provenance
            )
        except UnknownPerson as e:
            return NotFound(message=str(e), id=strawberry.ID(str(input.person_id)))
        except Exception as e:
            error = to_error(e, str(input.person_id), None)
            if isinstance(error, ValidationError) and error.field == "ordered_by":
                error.field = "orderedBy"  # the input's name for it
            return error
        return CommandSuccess(
            family_id=result.stream_id,
            version=result.version,
            position=result.last_position,
            duplicate=False,
        )
