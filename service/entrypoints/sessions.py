"""Websocket sessions: each ends when its token does, a caller holds only so many, and a
message is only so large.

graphql-transport-ws has no message to re-authenticate: when the token expires the server
closes the connection with 4403 Forbidden, which graphql-ws clients retry, asking their
connectionParams again (a fresh token) and subscribing again; `familyEvents(afterVersion:)`
resumes where the last event left off. (4401 Unauthorized is the protocol's code for a
subscribe before connection_ack, and clients give up on it.)
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import Counter
from uuid import uuid4

from graphql import GraphQLError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from schema.context import Context
from service.access.auth import Identity
from service.entrypoints.request_limits import (
    MESSAGE_TOO_BIG,
    MessageTooBig,
    RequestLimits,
    RequestRefused,
)
from service.eventstore.provenance import REQUEST_ID

TOKEN_EXPIRED = 4403
BAD_REQUEST = 4400  # graphql-transport-ws: a message the server cannot take
# Characters of a subscribe's id: every answer to it repeats it, as does a close reason
# naming it (which may hold at most 123 bytes).
MAX_OPERATION_ID = 64


class Sessions:
    """The websocket sessions one process holds, counted per subject."""

    def __init__(self, max_per_subject: int) -> None:
        self.max_per_subject = max_per_subject
        self.held: Counter[str] = Counter()
        # The open sessions themselves: their operations are counted (metrics), and they
        # are closed with 1001 when the server goes away (graphql_app.py).
        self.handlers: weakref.WeakSet[SessionHandler] = weakref.WeakSet()

    def admit(self, identity: Identity) -> None:
        """Count one more session of this subject, or refuse it (4403) over the cap."""
        if self.held[identity.subject] >= self.max_per_subject:
            raise ConnectionRejectionError(
                {"message": f"at most {self.max_per_subject} connections per caller"}
            )
        self.held[identity.subject] += 1

    def release(self, identity: Identity) -> None:
        """One session of this subject has ended."""
        self.held[identity.subject] -= 1
        if self.held[identity.subject] <= 0:
            del self.held[identity.subject]


class SessionHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, for as long as the token of connection_init lasts."""

    expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        identity = self.context.identity
        expires_at = identity.expires_at if identity else None
        if self.connection_acknowledged:
            _sessions(self).handlers.add(self)
        if self.connection_acknowledged and self.expiry is None and expires_at is not None:
            self.expiry = asyncio.create_task(self._end_at(expires_at))

    async def handle(self) -> None:
        """strawberry's loop; a message over the size limit ends it with 1009."""
        # Closed after super().handle() has stopped every operation: none sends after it.
        try:
            await super().handle()
        except MessageTooBig as e:
            await self.websocket.close(code=MESSAGE_TOO_BIG, reason=str(e))

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Refuse an operation over a size limit or the connection's cap, with a code."""
        # The refusal repeats nothing of what was sent but the operation's id.
        if self.connection_acknowledged and await self._oversized(message):
            return
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and len(self.operations) >= limit
            and message["id"] not in self.operations
        ):
            error = GraphQLError(
                f"at most {limit} subscriptions per connection",
                extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
            )
            payload = [error.formatted]
            await self.send_message({"id": message["id"], "type": "error", "payload": payload})
            return
        # Each operation is a request of its own: an id for its log records and for its
        # command's events, carried into the task strawberry starts for it.
        REQUEST_ID.set(uuid4())
        await super().handle_subscribe(message)

    async def _oversized(self, message: SubscribeMessage) -> bool:
        key, payload = message.get("id"), message.get("payload")
        if isinstance(key, str) and len(key) > MAX_OPERATION_ID:
            await self.websocket.close(
                BAD_REQUEST, f"ids are at most {MAX_OPERATION_ID} characters"
            )
            return True
        if not isinstance(payload, dict):
            return False  # strawberry refuses it as malformed (4400)
        try:
            _limits(self).check_parts(
                payload.get("query"), payload.get("variables"), payload.get("operationName")
            )
        except RequestRefused as refused:
            error = GraphQLError(str(refused), extensions={"code": refused.code})
            await self.send_message({"id": key, "type": "error", "payload": [error.formatted]})
            return True
        return False

    async def shutdown(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        await super().shutdown()
        _sessions(self).handlers.discard(self)
        if self.context.identity is not None:  # admitted by the view's on_ws_connect
            _sessions(self).release(self.context.identity)

    async def _end_at(self, expires_at: float) -> None:
        """Stop every operation (nothing more is read or sent), then close the connection."""
        try:
            await asyncio.sleep(max(0.0, expires_at - time.time()))
            for operation_id in list(self.operations):
                await self.cleanup_operation(operation_id)
            await self.websocket.close(code=TOKEN_EXPIRED, reason="token expired")
        except Exception as error:
            await self.handle_task_exception(error)


def _limits(handler: SessionHandler) -> RequestLimits:
    limits = getattr(handler.view, "limits", None)
    assert isinstance(limits, RequestLimits), "the view keeps its RequestLimits"
    return limits


def _sessions(handler: SessionHandler) -> Sessions:
    sessions = getattr(handler.view, "sessions", None)
    assert isinstance(sessions, Sessions), "the view keeps the process's Sessions"
    return sessions
