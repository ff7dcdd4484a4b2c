"""`reunite replay FAMILY`: a family's timeline with who is where after each step, as text.

For an auditor without a GraphQL client. The steps and states are service.history.replay's, the
ones familyAsOf answers with; nothing is read from the read models.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from projections.case_rows import CaseRows, ChildRow, ParentRow
from service.history.replay import Point, Step, amended_by, labels, replay, steps, timeline_entry
from service.history.time_travel import TimeTravel

CHILD_WHERE = {
    "with_family": "with family",
    "separated": "separated",
    "referred": "referred to ORR",
    "in_care": "in care",
    "reunified": "reunified",
    "discharged": "discharged",
}


def moment(text: str) -> datetime:
    """An ISO 8601 moment with its offset (a bare one is refused rather than guessed)."""
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text} has no time zone; add Z or +00:00")
    return value


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `replay` on the `reunite` parser."""
    replay_parser = subparsers.add_parser(
        "replay", help="print a family's timeline and who is where after each step"
    )
    replay_parser.add_argument("family", type=UUID, metavar="FAMILY")
    replay_parser.add_argument(
        "--as-of-recorded",
        type=moment,
        metavar="T",
        help="only the events recorded by T (ISO 8601 with offset): the case as known then",
    )
    replay_parser.add_argument(
        "--as-of-occurred",
        type=date.fromisoformat,
        metavar="D",
        help="the world at the end of day D (YYYY-MM-DD), as known now or at T: corrections "
        "applied, events that occurred later left out",
    )


async def replay_family(travel: TimeTravel, family_id: UUID, point: Point) -> list[str] | None:
    """The printed replay, or None when nothing of the family was recorded by the point."""
    history = await travel.history(family_id, point.known_at)
    final = replay(history, point)
    if final is None:
        return None
    names, amending = labels(history), amended_by(history)
    s = final.summary
    lines = [
        f"family {family_id}, case {s.case_number}: {point}; "
        f"{len(final.known)} events recorded, {len(final.counted)} counted",
        "",
    ]
    for step in steps(history, point):
        lines += step_lines(step, names, amending)
    lines += ["", f"who is where ({s.status}, version {s.version}):"]
    lines += [f"  {line}" for line in where(final.rows, names, table=True)]
    lines += [f"  flag on version {f.version}: {f.rule} ({f.detail})" for f in final.rows.flags]
    return lines


def step_lines(step: Step, names: dict[UUID, str], amending: dict[int, list[int]]) -> list[str]:
    """An event and the case after it, in three lines."""
    entry = timeline_entry(step.envelope, names, amending)
    occurred = entry["occurred_at"]
    when = occurred.strftime("%Y-%m-%d %H:%M %Z") if occurred else "date unknown"
    marks = "".join(f" [amended by v{v}]" for v in entry["amended_by"])
    by = f"{entry['actor']} ({entry['role']}), source {entry['source']}"
    reason = f", reason: {entry['reason']}" if entry["reason"] else ""
    recorded = entry["recorded_at"].strftime("%Y-%m-%d %H:%M:%S %Z")
    now = " | ".join(where(step.rows, names)) or "no members yet"
    return [
        f"v{entry['version']:<4} {when:<20}  {entry['summary']}{marks}",
        f"{'':6}recorded {recorded} by {by}{reason}",
        f"{'':6}-> {now}",
    ]


def where(rows: CaseRows, names: dict[UUID, str], table: bool = False) -> list[str]:
    """Each member and where they stand, in the order they were added."""
    found: list[tuple[int, str, str]] = []
    for child in rows.children.values():
        found.append(
            (rows.ordinals[child.child_id.int], names[child.child_id], _child(child, names))
        )
    for adult in rows.parents.values():
        found.append((rows.ordinals[adult.parent_id.int], names[adult.parent_id], _adult(adult)))
    width = max((len(name) for _, name, _ in found), default=0) if table else 0
    return [f"{name:<{width}}: {place}" for _, name, place in sorted(found)]


def _child(child: ChildRow, names: dict[UUID, str]) -> str:
    status = CHILD_WHERE.get(child.status, child.status)
    if child.status == "in_care" and child.facility_name:
        return f"{status} at {child.facility_name}"
    if child.status == "reunified" and child.reunified_with:
        return f"{status} with {names.get(child.reunified_with, 'a parent')}"
    if child.status == "discharged" and child.discharge_kind:
        return f"{status} ({child.discharge_kind.replace('_', ' ')})"
    return status


def _adult(adult: ParentRow) -> str:
    if adult.custody is not None:
        custody = adult.custody.replace("_", " ").replace("ice", "ICE").replace("us ", "US ")
        return f"{custody} custody at {adult.facility_name}"
    if adult.removed_at is not None and adult.returned_at is None:
        return f"removed to {adult.removed_to}"
    if adult.released_at is not None:
        return f"released to {adult.released_to}"
    return "nothing recorded" if adult.situation == "location_unknown" else adult.situation


async def run_replay(travel: TimeTravel, args: argparse.Namespace) -> tuple[int, Sequence[str]]:
    """Exit status and lines for `reunite replay`."""
    point = Point(args.as_of_recorded, args.as_of_occurred)
    lines = await replay_family(travel, args.family, point)
    if lines is None:
        return 2, [f"no event of family {args.family} in the log ({point})"]
    return 0, lines
