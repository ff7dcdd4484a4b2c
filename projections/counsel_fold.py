"""Counsel of record in the case fold: each lawyer's time representing a member, the rows
counsel_clients holds and what a counsel token may read follows from (schema/policy.py)."""

from __future__ import annotations

from domain import events
from projections.case_rows import CaseRows, ChildRow, RepresentationRow, day
from projections.dispatch import Handlers
from service.eventstore.records import RecordedEvent

COUNSEL_HANDLERS: Handlers[[CaseRows, RecordedEvent, ChildRow | None], None] = Handlers()


@COUNSEL_HANDLERS.on(events.RepresentationRecorded)
def _recorded(
    e: events.RepresentationRecorded, rows: CaseRows, r: RecordedEvent, *_: object
) -> None:
    row = RepresentationRow(
        r.stream_id,
        e.counsel,
        e.person_id,
        e.basis.value,
        e.reference,
        e.consent_to_disclosure,
        day(e.occurred_at),
    )
    rows.representations.append(row)
    rows.standing[(e.counsel, e.person_id.int)] = row


@COUNSEL_HANDLERS.on(events.RepresentationEnded)
def _ended(e: events.RepresentationEnded, rows: CaseRows, *_: object) -> None:
    if (row := rows.standing.pop((e.counsel, e.person_id.int), None)) is not None:
        row.ended_at, row.active = day(e.occurred_at), False
