"""The per-request context: the container, the caller, and this request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from schema.loaders import Loaders
from schema.policy import Scope
from schema.response_cache import ResponseCache
from service.access.auth import Identity
from service.application.container import Container
from service.history.kept_reports import KeptReports


@dataclass
class Context:
    """Everything a resolver may use; built fresh for every request."""

    container: Container
    request: Request | WebSocket | None
    response: Response | WebSocket | None
    identity: Identity | None
    loaders: Loaders
    connection_params: dict[str, Any] | None = field(default=None)
    read_families: set[UUID] = field(default_factory=set)
    # The process's cache of read-model answers (HTTP only; None: every query executes).
    response_cache: ResponseCache | None = None
    # Sealed court reports (schema.cost installs the process's own; None: always replayed).
    reports: KeptReports | None = None
    # What the caller may see of whom (schema.scoping loads it before execution; None: not
    # loaded, so a caller whose reach depends on its clients represents no one).
    scope: Scope | None = None
    # Whether a covered read-model query may be answered by its compiled plan
    # (schema/read_plans.py; also REUNITE_READ_PLANS); False: always executed.
    read_plans: bool = True
    # Whether a plan may leave JSON PostgreSQL built as msgspec.Raw in the answer, for an
    # encoder that writes it out as it is (the service's); False: decoded, as executed.
    raw_json: bool = False


Info = strawberry.Info[Context, None]
