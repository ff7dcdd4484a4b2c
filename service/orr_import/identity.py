"""Who an import is, and what each row's case is called: ids, keys, digests, provenance.

A row's case is identified by the file's name and the row's number, not by the file's
hash: importing the same list again finds the same cases (and appends nothing), while a
row whose content changed under the same name and number is a conflict, reported instead
of overwriting. The content is the row's cells exactly as read, so the digest tells the
two apart; the file's SHA-256 goes into every event's provenance, citing the very bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from service.access.auth import Role
from service.eventstore.provenance import Provenance

# Fixed forever: changing it would give every imported row a new case.
NAMESPACE = UUID("de22b3b2-989b-4e3a-bde9-0e01062cf843")
# Importing legacy records is an administrator's task; the role is one the system knows.
ROLE = Role.ADMIN.value
REASON = "ORR 2018 separated-children list"
DIGEST_VERSION = b"orr-row-v1\0"


@dataclass(frozen=True)
class CaseIds:
    """The stable ids of one row's case and of the two people in it."""

    family: UUID
    child: UUID
    parent: UUID

    @classmethod
    def of(cls, file_name: str, row_number: int) -> CaseIds:
        """The ids a row of a file always gets."""
        family = uuid5(NAMESPACE, f"orr:{file_name}:row:{row_number}")
        return cls(family, uuid5(family, "child"), uuid5(family, "parent"))


def idempotency_key(file_name: str, row_number: int) -> str:
    """The key under which a row's case is appended, once."""
    return f"import:orr:{file_name}:row:{row_number}"


def row_digest(raw: tuple[str, ...]) -> bytes:
    """A fingerprint of the row's cells exactly as read; any change to one changes it."""
    return hashlib.sha256(DIGEST_VERSION + json.dumps(list(raw)).encode()).digest()


@dataclass(frozen=True)
class ImportRun:
    """One run of the importer over one file: the file, who ran it, when, and its id."""

    file_name: str
    sha256: str
    actor: str
    started_at: datetime
    correlation_id: UUID

    def source(self, row_number: int) -> str:
        """The citation every event of a row carries."""
        return f"import:{self.file_name} sha256:{self.sha256} row {row_number}"

    def provenance(self, row_number: int) -> Provenance:
        """Who recorded a row's events, on what authority, as part of this run."""
        return Provenance(
            actor=self.actor,
            role=ROLE,
            source=self.source(row_number),
            reason=REASON,
            correlation_id=self.correlation_id,
        )
