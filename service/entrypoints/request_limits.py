"""Request sizes, checked before GraphQL parses anything; refusals never echo the input.

Over HTTP a body streams in against the limit; over the websocket a message (a frame, or
frames put together) longer than the same limit closes the connection with 1009 Message Too
Big before it is decoded, and a `subscribe` whose query, variables or operationName exceeds
its limit is answered with an `error` message carrying the code (sessions.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived

from service.settings import Settings

TOO_LARGE = "REQUEST_TOO_LARGE"
MESSAGE_TOO_BIG = 1009  # RFC 6455; graphql-ws clients give up on it rather than retry


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
        self.check_parts(request.query, request.variables, request.operation_name)

    def check_parts(self, query: object, variables: object, name: object) -> None:
        """The same, of parts as a websocket message gives them, whatever their types."""
        if isinstance(query, str) and len(query) > self.query_chars:
            raise RequestRefused(f"query text exceeds {self.query_chars} characters")
        if name is not None and (
            not isinstance(name, str) or len(name) > self.operation_name_chars
        ):
            raise RequestRefused(
                f"operationName must be a string of at most {self.operation_name_chars} characters"
            )
        if variables and _json_bytes(variables) > self.variables_bytes:
            raise RequestRefused(f"variables exceed {self.variables_bytes} bytes")

    def _body_too_large(self) -> RequestRefused:
        return RequestRefused(f"request body exceeds {self.body_bytes} bytes")


class MessageTooBig(Exception):
    """A websocket message over the body limit: the connection is closed with 1009."""


class CappedWebSocket(ASGIWebSocketAdapter):
    """strawberry's websocket adapter, refusing a message over the body limit undecoded."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        # ASGIWebSocketAdapter.iter_json with the size check before json.loads.
        limit = _limits(self.view).body_bytes
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    text = await self.ws.receive_text()
                    # Characters first: never more than the UTF-8 bytes, and costs nothing.
                    if len(text) > limit or _utf8_bytes(text) > limit:
                        raise MessageTooBig(f"message exceeds {limit} bytes")
                    yield self.view.decode_json(text)
                except json.JSONDecodeError as e:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from e
        except KeyError as e:  # a binary message
            raise NonTextMessageReceived from e
        except WebSocketDisconnect:
            pass


def _limits(view: object) -> RequestLimits:
    limits = getattr(view, "limits", None)
    assert isinstance(limits, RequestLimits), "the view keeps its RequestLimits"
    return limits


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _json_bytes(value: object) -> int:
    # A lone surrogate (sent as "\ud800") is the domain's to refuse, not a reason to fail here.
    return _utf8_bytes(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def decode_json(data: str | bytes) -> object:
    """json.loads, with a body nested too deeply to decode refused like any bad JSON."""
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None
