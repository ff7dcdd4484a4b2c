"""Request sizes, checked before GraphQL parses anything; refusals never echo the input."""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope
from strawberry.http import GraphQLRequestData

from service.settings import Settings

TOO_LARGE = "REQUEST_TOO_LARGE"


class RequestRefused(Exception):
    """A request refused before execution: answered as a GraphQL error, never echoed."""

    def __init__(self, message: str, status: int = 413, code: str = TOO_LARGE) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def response(self) -> JSONResponse:
        """The refusal as a JSON GraphQL error body."""
        error = {"message": str(self), "extensions": {"code": self.code}}
        return JSONResponse({"errors": [error]}, status_code=self.status)


@dataclass(frozen=True)
class RequestLimits:
    """How large one HTTP request and its parts may be."""

    body_bytes: int
    query_chars: int
    variables_bytes: int
    operation_name_chars: int

    @classmethod
    def of(cls, settings: Settings) -> RequestLimits:
        return cls(
            settings.max_body_bytes,
            settings.max_query_chars,
            settings.max_variables_bytes,
            settings.max_operation_name_chars,
        )

    def capped(self, scope: Scope, receive: Receive) -> Receive:
        """`receive` that refuses a body over the limit as it streams, not once it is read."""
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.body_bytes:
            raise self._body_too_large()
        received = 0

        async def receive_capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.body_bytes:
                    raise self._body_too_large()
            return message

        return receive_capped

    def check(self, request: GraphQLRequestData) -> None:
        """Refuse a query, variables or operation name over its limit."""
        if request.query is not None and len(request.query) > self.query_chars:
            raise RequestRefused(f"query text exceeds {self.query_chars} characters")
        name = request.operation_name
        if name is not None and (
            not isinstance(name, str) or len(name) > self.operation_name_chars
        ):
            raise RequestRefused(
                f"operationName must be a string of at most {self.operation_name_chars} characters"
            )
        if request.variables and _json_bytes(request.variables) > self.variables_bytes:
            raise RequestRefused(f"variables exceed {self.variables_bytes} bytes")

    def _body_too_large(self) -> RequestRefused:
        return RequestRefused(f"request body exceeds {self.body_bytes} bytes")


def _json_bytes(value: object) -> int:
    # A lone surrogate (sent as "\ud800") is the domain's to refuse, not a reason to fail here.
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))


def decode_json(data: str | bytes) -> object:
    """json.loads, with a body nested too deeply to decode refused like any bad JSON."""
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None
