"""Logging: plain lines, or JSON lines (REUNITE_LOG_JSON) that carry the request id.

A request's id is its X-Request-Id when that is a UUID, else a new one; it is answered in
the X-Request-Id header, carried by every record logged while the request is served, and
given to the events a command appends as their correlation id (unless the caller gave
one), so a log line, an answer and an event can be joined.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from uuid import UUID, uuid4

from opentelemetry import trace

from service.eventstore.provenance import REQUEST_ID

HEADER = "x-request-id"
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object a record: time, level, logger, message, request id, the trace
    and span it was logged in (when tracing is on), error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = str(request_id)
        # Inside a span (tracing on, service/entrypoints/tracing.py): where it is in its trace.
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def json_wanted() -> bool:
    return os.environ.get("REUNITE_LOG_JSON", "").strip().lower() in ("1", "true", "yes", "on")


def configure_logging(json_lines: bool | None = None) -> None:
    """Root at INFO, one line a record (JSON with REUNITE_LOG_JSON). In JSON, uvicorn's
    loggers are left to propagate to the root (serve passes it no logging config)."""
    handler = logging.StreamHandler()
    wanted = json_wanted() if json_lines is None else json_lines
    handler.setFormatter(JsonLines() if wanted else logging.Formatter(PLAIN))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def request_id(header: str | None) -> UUID:
    """The caller's X-Request-Id when it is a UUID, else a new one."""
    if header:
        try:
            return UUID(header.strip()[:64])
        except ValueError:
            pass
    return uuid4()
