"""A family whose child's personal data is recorded through the command path, then erased."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import asyncpg

from domain.family import Member
from domain.values import (
    ANumber,
    Country,
    DischargeReason,
    Evidence,
    FieldChange,
    MemberRole,
    PersonName,
    RelationshipKind,
    SeparationReason,
    Sex,
)
from service.application.commands import FamilyCommands
from service.eventstore.provenance import Provenance
from tests.faults.postgres import _bin
from tests.scenarios.family import SAN_YSIDRO, T0, at, ctx

# Every personal value of the child, as it would appear in clear anywhere: none may remain.
CHILD_NAME = "Xiomara Quetzaltepec"
CORRECTED_NAME = "Ixchel Xiomara Quetzaltepec"  # her name as a correction gives it
BIRTH_DATE = date(2011, 9, 27)
A_NUMBER = "A087654321"
NOTE = "hiding with aunt Rosalbina on Calle Verdemar"
REASON_TEXT = "Zorbastian paperwork doubt"
DISCHARGE_NOTE = "released to Tiburcia Ondarreta"
SECRETS = (
    "Ixchel",
    "Xiomara",
    "Quetzaltepec",
    "2011-09-27",
    A_NUMBER,
    "Rosalbina",
    "Verdemar",
    "Zorbastian",
    "Tiburcia",
    "Ondarreta",
)
MOTHER_NAME = "Ana Maricruz"  # not erased: still reads
AUTHORITY = "Order of the U.S. District Court, S.D. Cal., No. 18-cv-0428, para. 3"
ORDERED_BY = "judge.sabraw"
ADMIN = Provenance(actor="ops.admin", role="admin", source="test", reason=AUTHORITY)


@dataclass(frozen=True)
class Recorded:
    """The family, the mother (kept) and the child (to be erased)."""

    family_id: UUID
    mother: UUID
    child: UUID


async def record_family(commands: FamilyCommands) -> Recorded:
    """A mother and her child, every personal field of the child given."""
    family_id, mother, child = uuid4(), uuid4(), uuid4()
    await commands.open_case(family_id, ctx(), occurred_at=T0, case_number="C-22", source="test")
    adult = Member(mother, MemberRole.PARENT, PersonName(MOTHER_NAME), Sex.FEMALE)
    kid = Member(
        child,
        MemberRole.CHILD,
        PersonName(CHILD_NAME),
        Sex.FEMALE,
        BIRTH_DATE,
        None,
        Country("GT"),
        ANumber(A_NUMBER),
    )
    steps = [
        lambda f: f.add_member(adult, T0),
        lambda f: f.add_member(kid, T0),
        lambda f: f.record_relationship(
            mother, child, RelationshipKind.MOTHER, Evidence.DOCUMENTS, T0
        ),
        lambda f: f.separate(
            mother,
            child,
            SAN_YSIDRO,
            SeparationReason.OTHER,
            NOTE,
            False,
            at(1),
            reason_text=REASON_TEXT,
        ),
        lambda f: f.discharge_child(child, DischargeReason.SPONSOR, DISCHARGE_NOTE, at(30)),
        lambda f: f.correct_entry(
            3, (FieldChange("name", PersonName(CORRECTED_NAME)),), "as on her birth record", at(31)
        ),
    ]
    for step in steps:
        await commands.execute(family_id, step, ctx())
    return Recorded(family_id, mother, child)


HEX = re.compile(r"\\x((?:[0-9a-f]{2})+)")


def secrets_in(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """The secrets a text holds in clear, bytea columns (hex, as \\x...) read as UTF-8 too."""
    decoded = "\n".join(bytes.fromhex(run).decode("utf-8", "replace") for run in HEX.findall(text))
    return [s for s in secrets if s in text or s in decoded]


async def clear_text_found(pool: asyncpg.Pool) -> list[str]:
    """Each 'table: secret' where a row of a table of the database holds a secret in clear
    (every table of every schema but the catalogs, each row as its text)."""
    found = []
    tables = await pool.fetch(
        "SELECT schemaname, tablename FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    )
    for t in tables:
        name = f'"{t["schemaname"]}"."{t["tablename"]}"'
        rows = await pool.fetch(f"SELECT t::text AS row FROM {name} t")
        found += [f"{name}: {s}" for s in secrets_in("\n".join(r["row"] for r in rows))]
    return found


def pg_dump(url: str) -> str:
    """The whole database as pg_dump writes it (schema and data): the embedded wheel's
    pg_dump, as new as either server the tests use (an older one refuses a newer server)."""
    done = subprocess.run([_bin("pg_dump"), "--dbname", url], capture_output=True, check=True)
    return done.stdout.decode("utf-8", "replace")
