"""The one rule set for text a caller or an import puts into an event.

Every such text is checked before it becomes an event: the payload is JSON bytes, but the
read models are PostgreSQL ``text``, which holds no NUL, and UTF-8 holds no lone surrogate,
so a text that breaks a rule here would be appended and then fail every projection.

- Refused everywhere: control characters (U+0000-U+001F, U+007F-U+009F) except those a
  kind allows, any code point U+D800-U+DFFF (a lone surrogate), the line and paragraph
  separators U+2028 and U+2029, and the bidirectional embeddings, overrides and isolates
  U+202A-U+202E and U+2066-U+2069 (they make a text read other than it is).
- A NOTE (free text: notes, reasons, details) may hold tab and newline; a CRLF line break
  is stored as a newline, a lone carriage return is refused. A NAME or LABEL is one line:
  no tab, newline or carriage return inside it.
- The text is stored trimmed (surrounding spaces, tabs and line breaks go, in any kind) and
  NFC-normalised; its length, in code points after that, is at most its kind's limit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidText, InvalidValue

# Every control character but tab, newline and carriage return, and the rest refused anywhere.
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_LINE_BREAK = re.compile("[\t\n\r]")  # inside a NAME or a LABEL
_REFUSED_IN_NOTE = re.compile("\r")  # a carriage return that does not end a CRLF
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class TextKind:
    """A kind of text field: its limit, and whether it may hold tabs and line breaks."""

    name: str
    limit: int
    line_breaks: bool = False


NAME = TextKind("name", 200)  # a person's name
LABEL = TextKind("label", 500)  # one line: numbers, ids, places, facilities, sources, keys
NOTE = TextKind("note", 500, line_breaks=True)  # free text: notes, reasons, details

# The fields, by their name in the events, that hold free text; any other text is a LABEL.
FREE_TEXT_FIELDS = frozenset({"note", "reason", "reason_text", "detail", "red_flag", "how_read"})


def kind_of(field: str) -> TextKind:
    """The kind of text an event field holds, by its name (the last part of a dotted path)."""
    return NOTE if field.rpartition(".")[2] in FREE_TEXT_FIELDS else LABEL


def clean(value: str, field: str, kind: TextKind | None = None) -> str:
    """The text as an event holds it (NFC, trimmed), or InvalidText naming the field."""
    kind = kind or kind_of(field)
    _refuse(_REFUSED, value, field, kind)
    value = value.strip()  # after the check, so only spaces, tabs and line breaks go
    if kind.line_breaks:
        value = value.replace("\r\n", "\n")
    _refuse(_REFUSED_IN_NOTE if kind.line_breaks else _LINE_BREAK, value, field, kind)
    value = unicodedata.normalize("NFC", value)
    if len(value) > kind.limit:
        raise InvalidText(field, f"{field} must be at most {kind.limit} characters")
    return value


def check_encodable(value: str, field: str) -> None:
    """Refuse a lone surrogate, the one code point UTF-8 (so no hash or payload) can hold."""
    if (found := _SURROGATE.search(value)) is not None:
        raise InvalidText(field, _refusal(field, NOTE, found.start(), found.group()))


def required(value: str, field: str, kind: TextKind | None = None) -> str:
    """Clean text that must not be blank."""
    found = clean(value, field, kind)
    if not found:
        raise InvalidValue(f"{field} must not be empty", field)
    return found


def optional(value: str | None, field: str, kind: TextKind | None = None) -> str | None:
    """Clean text, where blank means not given (None)."""
    return None if value is None else clean(value, field, kind) or None


def _refuse(pattern: re.Pattern[str], value: str, field: str, kind: TextKind) -> None:
    if (found := pattern.search(value)) is not None:
        raise InvalidText(field, _refusal(field, kind, found.start(), found.group()))


def _refusal(field: str, kind: TextKind, at: int, char: str) -> str:
    # Name the code point, never echo it: the message itself must be valid text.
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        what = "a lone surrogate, which no text may hold"
    elif unicodedata.category(char) == "Cc":
        what = "a control character" + (
            " (only tab and newline are allowed here)" if kind.line_breaks else " (one line only)"
        )
    else:
        what = "a line separator or bidirectional control, which no text may hold"
    return f"{field} holds U+{code:04X} at position {at}, {what}"
