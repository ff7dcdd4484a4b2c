"""Read audit: resolvers note which families they return; one insert after execution."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from uuid import UUID

import strawberry
from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from schema.context import Info
from schema.errors import PublicError
from schema.paging import cursor_parts, page_size
from schema.permissions import AUDITORS
from schema.types import Connection, connection, encode_cursor
from service.access import access_log


def reads(info: Info, family_ids: Iterable[UUID]) -> None:
    """Note that this answer carries personal data of these families."""
    info.context.read_families.update(family_ids)


def operation_label(document: object, name: str | None) -> str:
    """The operation's name and root fields, e.g. 'query CaseView: family, timeline'."""
    for definition in getattr(document, "definitions", ()):
        if isinstance(definition, OperationDefinitionNode):
            fields = ", ".join(
                s.name.value for s in definition.selection_set.selections if hasattr(s, "name")
            )
            kind = definition.operation.value
            return f"{kind} {name or (definition.name.value if definition.name else '-')}: {fields}"
    return name or "-"


class ReadAudit(SchemaExtension):
    """Appends to access_log who read which families, once the answer is computed."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        execution = self.execution_context
        context = execution.context
        if context.read_families and context.identity is not None:
            label = operation_label(execution.graphql_document, execution.operation_name)
            await context.container.access_log.record(
                context.identity, label, context.read_families
            )


@strawberry.type
class AccessRecord:
    """One read of a family's personal data."""

    id: int
    read_at: datetime
    subject: str
    role: str
    operation: str
    family_id: UUID


@strawberry.type
class AuditQueries:
    """What auditors ask of the read audit."""

    @strawberry.field(permission_classes=[AUDITORS])
    async def access_log(
        self,
        info: Info,
        family_id: UUID | None = None,
        subject: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AccessRecord]:
        """Who read which family, newest first."""
        limit = page_size(info, first)
        parts = cursor_parts(after, 1)
        if parts and not parts[0].isdigit():
            raise PublicError(f"invalid cursor {after!r}", "BAD_CURSOR")
        before = int(parts[0]) if parts else 2**63 - 1
        pool = info.context.container.database.pool
        rows = await access_log.page(pool, family_id, subject, before, limit + 1)
        page = rows[:limit]
        return connection(
            [AccessRecord(**dict(r)) for r in page],
            [encode_cursor(r["id"]) for r in page],
            len(rows) > limit,
        )
