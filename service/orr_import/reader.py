"""Read the ORR list of separated children: every record after the header, accepted or rejected.

Records are numbered as a person reading the sheet would cite them: ``row_number`` is the
CSV record number with the header as row 1, so the first data record is row 2 and a record
whose quoted fields hold line breaks is still one row. ``line_number`` is the physical
line of the file on which the record starts.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import ascii_uppercase

from service.orr_import.normalise import COLUMNS, Unreadable, normalise
from service.orr_import.row import OrrRow, Rejected
from service.orr_import.summary import ReadSummary, summarise

LETTER_ROW = "spreadsheet column-letter row, not data"
BLANK_ROW = "blank row, not data"
_BOM = "\ufeff"


class OrrFileError(ValueError):
    """The file as a whole cannot be read: not UTF-8, no header, or quoting that never closes."""


@dataclass(frozen=True)
class OrrFile:
    """One read of the file: its SHA-256, every record's result in file order, the counts."""

    name: str
    sha256: str
    results: tuple[OrrRow | Rejected, ...]
    summary: ReadSummary

    @property
    def accepted(self) -> tuple[OrrRow, ...]:
        """The readable data rows."""
        return tuple(result for result in self.results if isinstance(result, OrrRow))

    @property
    def rejected(self) -> tuple[Rejected, ...]:
        """The records that are not readable data rows."""
        return tuple(result for result in self.results if isinstance(result, Rejected))


def file_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes, in lower-case hex."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def read_file(path: Path) -> OrrFile:
    """Read and count the whole file; the digest is of the very bytes that were parsed."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise OrrFileError(f"{path.name}: not UTF-8 text at byte {error.start}") from None
    results = tuple(read_records(io.StringIO(text, newline="")))
    return OrrFile(
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        results=results,
        summary=summarise(results),
    )


def read_records(lines: Iterable[str]) -> Iterator[OrrRow | Rejected]:
    """An OrrRow or a Rejected for every record after the header, in file order.

    ``lines`` is text as the csv module wants it: opened with ``newline=""`` so that line
    breaks inside quoted fields stay in the field.
    """
    records = _records(lines)
    try:
        _, header = next(records)
    except StopIteration:
        raise OrrFileError("the file is empty: no header") from None
    columns = _column_index(header)
    for row_number, (line_number, record) in enumerate(records, start=2):
        yield _read(record, columns, width=len(header), row_number=row_number, line=line_number)


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on; quoting that never closes stops the read."""
    # strict: without it an unclosed quote swallows the rest of the file into one field.
    reader = csv.reader(lines, strict=True)
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise OrrFileError(f"record starting on line {start}: {error}") from None
        yield start, record
        start = reader.line_num + 1


def _column_index(header: list[str]) -> dict[str, int]:
    """Where each expected column is, matched without case, a BOM or extra spaces."""
    found = {" ".join(name.lstrip(_BOM).split()).casefold(): i for i, name in enumerate(header)}
    missing = [column for column in COLUMNS if column.casefold() not in found]
    if missing:
        raise OrrFileError(f"the header lacks {', '.join(map(repr, missing))}; it has {header!r}")
    return {column: found[column.casefold()] for column in COLUMNS}


def _is_letter_row(cells: list[str]) -> bool:
    """A spreadsheet's column headings pasted as data: A, B, C, ... in order."""
    return 1 < len(cells) <= len(ascii_uppercase) and cells == list(ascii_uppercase[: len(cells)])


def _read(
    record: list[str], columns: Mapping[str, int], *, width: int, row_number: int, line: int
) -> OrrRow | Rejected:
    """The row a record holds, or why it holds none."""
    raw = tuple(record)
    cells = [cell.strip() for cell in record]

    def rejected(reason: str) -> Rejected:
        return Rejected(row_number=row_number, line_number=line, reason=reason, raw=raw)

    if not any(cells):
        return rejected(BLANK_ROW)
    if _is_letter_row(cells):
        return rejected(LETTER_ROW)
    if len(record) != width:
        return rejected(f"expected {width} fields as in the header, found {len(record)}")
    try:
        return normalise(
            {column: record[i] for column, i in columns.items()},
            row_number=row_number,
            line_number=line,
            raw=raw,
        )
    except Unreadable as error:
        return rejected(str(error))
