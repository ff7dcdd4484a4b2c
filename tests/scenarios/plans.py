"""Running one request through both paths: executed field by field, and by its compiled
plan (schema/read_plans.py), as the same caller, and what each answered and audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from schema.read_plans import PlanCache
from service.access.auth import Identity, Role
from service.application.container import Container
from tests.scenarios.counsel import World

PLANS = PlanCache()
SCHEMA = create_schema(dev=True, plans=PLANS)
ROLES = tuple(Role)


@dataclass(frozen=True)
class Answer:
    """One request's answer as the service encodes it (data, errors, in GraphQL's key
    order; a plan's JSON left raw, as over HTTP) and the families it recorded in the read
    audit."""

    text: str
    families: frozenset[UUID]
    planned: bool


async def run(
    container: Container, identity: Identity, query: str, planned: bool, **variables: Any
) -> Answer:
    context = Context(
        container,
        None,
        None,
        identity,
        Loaders.create(container.database.pool),
        read_plans=planned,
        raw_json=True,
    )
    before = PLANS.answered
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    return Answer(
        msgspec.json.encode(body).decode(),
        frozenset(context.read_families),
        PLANS.answered > before,
    )


async def both(
    container: Container, identity: Identity, query: str, **variables: Any
) -> tuple[Answer, Answer]:
    """The executed answer and the planned one (which may have fallen back)."""
    executed = await run(container, identity, query, False, **variables)
    planned = await run(container, identity, query, True, **variables)
    return executed, planned


async def same(container: Container, identity: Identity, query: str, **variables: Any) -> bool:
    """Assert both paths answer byte for byte alike and audit alike; whether a plan
    answered."""
    executed, planned = await both(container, identity, query, **variables)
    assert not executed.planned
    assert planned.text == executed.text, (identity.role, query, variables)
    assert planned.families == executed.families, (identity.role, query)
    return planned.planned


def everyone(world: World) -> list[Identity]:
    """Each viewer of the world, and an analyst and an admin, whom the lists refuse."""
    found = [Identity(v.subject, v.role) for v in world.viewers.values()]
    return [*found, Identity("an.analyst", Role.ANALYST), Identity("ad.admin", Role.ADMIN)]
