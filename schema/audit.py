"""Read audit: resolvers note which families they return; one insert after execution."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension

from schema.context import Info
from schema.errors import PublicError
from schema.paging import Before, Last, cursor_parts, keyset_page, window
from schema.permissions import AUDITORS
from schema.types import Connection, connection, encode_cursor
from service.access import access_log


def reads(info: Info, family_ids: Iterable[UUID]) -> None:
    """Note that this answer carries personal data of these families."""
    info.context.read_families.update(family_ids)


NEWEST = 2**63 - 1  # past every access_log id (a bigint)
MAX_LABEL = 200  # characters of an access-log row's operation, whatever the request


def operation_label(document: DocumentNode | None, operation_name: str | None) -> str:
    """What was executed, never the client's name for it: 'query:family,timeline'.

    The root fields of the operation run, fragments resolved, aliases ignored, sorted."""
    operation = get_operation_ast(document, operation_name) if document else None
    if document is None or operation is None:
        return "-"
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fields = sorted(set(_root_fields(operation.selection_set, fragments, set())))
    label = f"{operation.operation.value}:{','.join(fields)}"
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _root_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    spread: set[str],
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, spread)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
            spread.add(selection.name.value)
            if (fragment := fragments.get(selection.name.value)) is not None:
                yield from _root_fields(fragment.selection_set, fragments, spread)


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
    """One answer that carried families' personal data: who, when, how, and which families."""

    id: int
    read_at: datetime
    subject: str
    role: str
    operation: str
    family_ids: list[UUID]

    @strawberry.field(deprecation_reason="a record names every family its answer read: familyIds")
    def family_id(self) -> UUID | None:
        """The first family the answer read (none for the log's own records)."""
        return self.family_ids[0] if self.family_ids else None


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
        last: Last = None,
        before: Before = None,
    ) -> Connection[AccessRecord]:
        """Who read which families, newest first, across the months kept in the database;
        accessLogArchivedMonths names those archived out of it, which this does not search."""
        asked = window(info, first, after, last, before)
        pool = info.context.container.database.pool

        async def fetch(cursor: str | None, backward: bool, limit: int) -> list[Any]:
            parts = cursor_parts(cursor, 1)
            if parts and not (parts[0].isdigit() and int(parts[0]) < NEWEST):
                raise PublicError(f"invalid cursor {cursor!r}", "BAD_CURSOR")
            since = int(parts[0]) if parts else (0 if backward else NEWEST)
            return await access_log.page(pool, family_id, subject, since, limit, backward)

        page = await keyset_page(asked, fetch, lambda r: encode_cursor(r["id"]))
        return connection(
            [AccessRecord(**{**dict(r), "family_ids": list(r["family_ids"])}) for r in page.rows],
            page.cursors,
            page.has_next,
            has_previous=page.has_previous,
        )

    @strawberry.field(permission_classes=[AUDITORS])
    async def access_log_archived_months(self, info: Info) -> list[str]:
        """Months of the access log archived out of the database ('2026-01'), oldest first:
        accessLog does not search them; `reunite access-log search` searches their files."""
        return await access_log.archived_months(info.context.container.database.pool)
