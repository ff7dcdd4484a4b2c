"""The 2018 ORR list of separated children: read and normalised here (no database, no events);
imported as family cases by service.orr_import.importer, run by `reunite import orr` (command)."""

from __future__ import annotations

from service.orr_import.normalise import COLUMNS, Unreadable, normalise
from service.orr_import.reader import (
    BLANK_ROW,
    LETTER_ROW,
    OrrFile,
    OrrFileError,
    file_digest,
    read_file,
    read_records,
)
from service.orr_import.row import Flag, Office, OrrRow, Rejected, ReunificationStatus
from service.orr_import.summary import ReadSummary, summarise

__all__ = [
    "BLANK_ROW",
    "COLUMNS",
    "LETTER_ROW",
    "Flag",
    "Office",
    "OrrFile",
    "OrrFileError",
    "OrrRow",
    "ReadSummary",
    "Rejected",
    "ReunificationStatus",
    "Unreadable",
    "file_digest",
    "normalise",
    "read_file",
    "read_records",
    "summarise",
]
