"""The Starlette application: /graphql (HTTP and websockets), health, and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from cross_web import AsyncHTTPRequestAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from schema.build import create_schema
from schema.context import Context
from schema.loaders import Loaders
from schema.response_cache import ResponseCache
from service.access.auth import AuthenticationFailed, Authenticator
from service.application.container import Container
from service.entrypoints.health import livez, readyz
from service.entrypoints.request_limits import RequestLimits, RequestRefused, decode_json
from service.entrypoints.sessions import SessionHandler, Sessions
from service.ledger.checkpoints import checkpoint_periodically
from service.postgres.database import open_database
from service.settings import Settings

log = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with Reunite's context and token checks."""

    graphql_transport_ws_handler_class = SessionHandler

    def __init__(self, settings: Settings, authenticator: Authenticator) -> None:
        super().__init__(
            create_schema(dev=settings.dev),
            graphql_ide="graphiql" if settings.dev else None,
            allow_queries_via_get=False,
            # Only the protocol whose sessions end with their token (sessions.py).
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.authenticator = authenticator
        self.sessions = Sessions(settings.max_connections_per_subject)
        self.max_subscriptions_per_connection = settings.max_subscriptions_per_connection
        self.limits = RequestLimits.of(settings)
        self.cache_size = settings.response_cache_size
        self.container: Container | None = None
        self.response_cache: ResponseCache | None = None

    def serve(self, container: Container) -> None:
        """Answer requests with this container's database and notifications."""
        self.container = container
        self.response_cache = ResponseCache(container.notifications, self.cache_size)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert self.container is not None, "the lifespan has not started"
        # HTTP requests were verified in __call__; websockets identify in connection_init.
        identity = getattr(request.state, "identity", None)
        return Context(
            self.container,
            request,
            response,
            identity,
            Loaders.create(self.container.database.pool),
            # Websocket operations (subscriptions) are executed, never kept.
            response_cache=self.response_cache if isinstance(request, Request) else None,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Websocket clients authenticate in connection_init: {"authorization": "Bearer …"}."""
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        try:
            identity = self.authenticator.verify_header(header if isinstance(header, str) else None)
        except AuthenticationFailed as e:
            raise ConnectionRejectionError({"message": str(e)}) from None
        self.sessions.admit(identity)  # released by the SessionHandler when it ends
        context.identity = identity
        return await super().on_ws_connect(context)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 before GraphQL runs when an HTTP request's token is missing or bad."""
        if scope["type"] == "http" and not self._is_ide_page(scope):
            try:
                identity = self.authenticator.verify_header(
                    Request(scope).headers.get("authorization")
                )
                scope.setdefault("state", {})["identity"] = identity
            except AuthenticationFailed as e:
                body = {"errors": [{"message": str(e), "extensions": {"code": "UNAUTHENTICATED"}}]}
                response = JSONResponse(
                    body, status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
            try:
                await super().__call__(scope, self.limits.capped(scope, receive), send)
            except RequestRefused as refused:
                await refused.response()(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's parts, refused when one is over its limit, before parsing GraphQL."""
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):
            self.limits.check(data)
        return data

    def decode_json(self, data: str | bytes) -> object:
        """JSON too deeply nested to decode is a bad request, not a server error."""
        return decode_json(data)

    def _is_ide_page(self, scope: Scope) -> bool:
        return bool(self.graphql_ide) and scope["method"] == "GET"


def configure_logging() -> None:
    """Root at INFO, one line a record; uvicorn's own loggers keep their handlers."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def create_app(settings: Settings) -> Starlette:
    """The one composition root for HTTP: database, container, runner, routes."""
    graphql = GraphQLApp(settings, Authenticator(settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each resource is released even when a later one fails to start or stop.
        async with contextlib.AsyncExitStack() as resources:
            # A database still starting (or restarting) is waited for, for a bounded time.
            database = await open_database(
                settings, bounded=True, wait=settings.database_wait, role=settings.database_role
            )
            resources.push_async_callback(database.close)
            container = await Container.build(settings, database)
            app.state.container = container
            graphql.serve(container)
            await container.notifications.start()
            resources.push_async_callback(container.notifications.stop)
            resources.push_async_callback(container.store.announcements.drain)
            resources.push_async_callback(container.access_log.drain)
            if settings.run_projections:
                # Before the first request: a read model built by other code is replayed.
                async with database.as_owner() as owner:
                    await container.runner.renew_changed(owner)
            stop = asyncio.Event()
            tasks = [
                asyncio.create_task(
                    checkpoint_periodically(
                        container.database.pool, settings.checkpoint_interval, stop
                    )
                )
            ]
            if settings.run_projections:
                tasks.append(asyncio.create_task(container.runner.run(stop)))
            try:
                yield
            finally:
                stop.set()
                for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                    if isinstance(outcome, Exception):
                        log.error("background task ended with %r", outcome)

    return Starlette(
        routes=[
            Route("/livez", livez),
            Route("/readyz", readyz),
            Route("/health", readyz),  # the older name
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """For `uvicorn --factory service.entrypoints.app:app_from_env` (workers, server flags)."""
    configure_logging()
    return create_app(Settings.from_env())
