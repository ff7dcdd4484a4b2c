"""The GraphQL view: /graphql over HTTP and websockets, each request's context, and the
answer's encoding."""

from __future__ import annotations

import contextlib
from typing import TypeVar

import msgspec
from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from schema.build import create_schema
from schema.context import Context
from schema.errors import OPERATION_RESOLUTION_FAILURE
from schema.loaders import Loaders
from schema.persisted import PERSISTED_QUERY_NOT_SUPPORTED, PersistedDocuments, PersistedRefused
from schema.read_plans import PlanCache
from schema.response_cache import ResponseCache
from service.access.auth import AuthenticationFailed, Authenticator
from service.application.container import Container
from service.entrypoints.cors import Origins
from service.entrypoints.graphql_http import (
    BAD_REQUEST,
    BATCHING_NOT_SUPPORTED,
    JSON,
    METHOD_NOT_ALLOWED,
    OPERATION_NOT_SUPPORTED,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA_TYPE,
    Refused,
    negotiate,
    refused_by_status,
    response_body,
    status_of,
)
from service.entrypoints.logs import HEADER, request_id
from service.entrypoints.metrics import Metrics, timed
from service.entrypoints.request_limits import (
    CappedWebSocket,
    RequestLimits,
    RequestRefused,
    decode_json,
)
from service.entrypoints.sessions import SessionHandler, Sessions
from service.eventstore.provenance import REQUEST_ID
from service.settings import Settings

T = TypeVar("T")


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with Reunite's context, token checks and GraphQL over HTTP:
    POST of application/json only, answered application/json or, when accepted,
    application/graphql-response+json with the spec's status codes (graphql_http.py)."""

    graphql_transport_ws_handler_class = SessionHandler
    websocket_adapter_class = CappedWebSocket

    def __init__(
        self,
        settings: Settings,
        authenticator: Authenticator,
        persisted: PersistedDocuments | None = None,
    ) -> None:
        self.plans = PlanCache()  # compiled read plans (schema/read_plans.py; /metrics)
        super().__init__(
            create_schema(
                dev=settings.dev,
                persisted=persisted,
                tracing=bool(settings.tracing),
                plans=self.plans,
            ),
            graphql_ide="graphiql" if settings.dev else None,
            allow_queries_via_get=False,
            # Only the protocol whose sessions end with their token (sessions.py).
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.authenticator = authenticator
        self.origins = Origins.of(settings)
        self.persisted = persisted
        self.sessions = Sessions(settings.max_connections_per_subject)
        self.max_subscriptions_per_connection = settings.max_subscriptions_per_connection
        self.limits = RequestLimits.of(settings)
        # With a replica, an answer read there before it replayed a batch would be kept
        # until the next one: nothing is kept (README, "Read replicas").
        self.cache_size = 0 if settings.replica_url else settings.response_cache_size
        self.container: Container | None = None
        self.response_cache: ResponseCache | None = None
        self.metrics: Metrics | None = None

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
            Loaders.create(self.container.database.read_pool),
            # Websocket operations (subscriptions) are executed, never kept.
            response_cache=self.response_cache if isinstance(request, Request) else None,
            raw_json=True,  # encode_json and create_response write msgspec.Raw as it is
        )

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A page on another origin may open the websocket when CORS allows that origin."""
        return self.origins.allows(origin)

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
        """Refuse what is not a GraphQL POST, and a missing or bad token (401), before
        GraphQL runs; every refusal is a GraphQL error body with a code."""
        if scope["type"] != "http" or self._is_ide_page(scope):
            await super().__call__(scope, receive, send)
            return
        request = Request(scope)
        media = negotiate(request.headers.get("accept"))
        # The request's id: in its log records, its answer, its command's events.
        said = request_id(request.headers.get(HEADER))
        REQUEST_ID.set(said)
        try:
            response = await self._answer(scope, receive)
        except RequestRefused as refused:  # over a size limit (request_limits.py)
            response = Refused(str(refused), refused.code, refused.status).response(media)
        except Refused as refused:
            response = refused.response(media)
        except HTTPException as e:  # any other refusal of strawberry's
            response = refused_by_status(e.status_code, e.reason).response(media)
        response.headers["X-Request-Id"] = str(said)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        method = scope["method"]
        if method == "OPTIONS":  # not a CORS preflight (cors.py answers those)
            return Response(status_code=204, headers={"Allow": self._allowed_methods()})
        if method != "POST":
            raise Refused(
                f"GraphQL is served over POST, not {method}",
                METHOD_NOT_ALLOWED,
                405,
                headers={"Allow": self._allowed_methods()},
            )
        try:
            identity = self.authenticator.verify_header(Request(scope).headers.get("authorization"))
        except AuthenticationFailed as e:
            raise Refused(
                str(e), UNAUTHENTICATED, 401, headers={"WWW-Authenticate": "Bearer"}
            ) from None
        scope.setdefault("state", {})["identity"] = identity
        return await self.run(Request(scope, self.limits.capped(scope, receive)))

    def _allowed_methods(self) -> str:
        return "GET, POST" if self.graphql_ide else "POST"

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        """One operation as a JSON object in a UTF-8 application/json body, each parameter
        of its type and within its limit, a persisted id resolved; refused otherwise."""
        content_type, params = parse_content_type(request.content_type or "")
        charset = params.get("charset", "utf-8").lower()
        if content_type != JSON or charset not in ("utf-8", "utf8"):
            raise Refused(
                "send the operation as application/json (UTF-8)", UNSUPPORTED_MEDIA_TYPE, 415
            )
        data = self.parse_json(await request.get_body())
        if isinstance(data, list):
            raise Refused(
                "batches are not served: send one operation per request", BATCHING_NOT_SUPPORTED
            )
        if not isinstance(data, dict):
            raise Refused("the request body must be a JSON object", BAD_REQUEST)
        query = _parameter(data, "query", str)
        request_data = GraphQLRequestData(
            query=query,
            variables=_parameter(data, "variables", dict),
            operation_name=_parameter(data, "operationName", str),
            extensions=_parameter(data, "extensions", dict),
        )
        self.limits.check(request_data)
        request_data.query = self._document(request_data, _parameter(data, "documentId", str))
        if not request_data.query:
            raise Refused("the request has no query (nor the id of a persisted one)", BAD_REQUEST)
        return request_data

    def _document(self, data: GraphQLRequestData, document_id: str | None) -> str | None:
        """The query text to run: a persisted id resolved, or refused as a request error."""
        persisted = data.extensions.get("persistedQuery") if data.extensions else None
        if persisted is not None and not (
            isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str)
        ):
            raise Refused("extensions.persistedQuery.sha256Hash must be a string", BAD_REQUEST)
        named = document_id or (persisted["sha256Hash"] if persisted else None)
        try:
            if self.persisted is None:
                if named is not None and data.query is None:
                    raise PersistedRefused(
                        "PersistedQueryNotSupported: this server has no persisted documents",
                        PERSISTED_QUERY_NOT_SUPPORTED,
                    )
                return data.query
            return self.persisted.resolve(named, data.query)
        except PersistedRefused as e:
            code = str((e.extensions or {}).get("code"))
            raise Refused(e.message, code, 400, request_error=True) from None

    def parse_json(self, data: str | bytes) -> object:
        """The body as JSON, or a 400 naming the problem (never echoing the body)."""
        try:
            return self.decode_json(data)
        except ValueError:  # not JSON, not UTF-8, or nested too deeply
            raise Refused("the request body is not valid JSON", BAD_REQUEST) from None

    def decode_json(self, data: str | bytes) -> object:
        """JSON too deeply nested to decode is a bad request, not a server error."""
        return decode_json(data)

    def encode_json(self, data: object) -> str:
        """Compact JSON, UTF-8 as sent (not \\u-escaped): msgspec writes a page of 100
        children (29 KB) in 0.02 ms, json.dumps in 0.21. Text, not bytes: the websocket's
        messages must be text frames."""
        return msgspec.json.encode(data).decode()

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Queries and mutations; an operation that cannot be chosen, or a subscription
        (served over the websocket), is a request error with a code."""
        elapsed = timed()
        result = await self._execute(request_data, context, root_value)
        if self.metrics is not None:
            ok = not result.errors
            self.metrics.observe(request_data.operation_name, request_data.query, ok, elapsed())
        return result

    async def _execute(
        self, request_data: GraphQLRequestData, context: Context, root_value: None
    ) -> ExecutionResult:
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=HTTP_OPERATIONS,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as e:
            error = GraphQLError(
                e.as_http_error_reason(), extensions={"code": OPERATION_RESOLUTION_FAILURE}
            )
        except InvalidOperationTypeError:
            error = GraphQLError(
                "subscriptions are served over the websocket (graphql-transport-ws), not HTTP",
                extensions={"code": OPERATION_NOT_SUPPORTED},
            )
        return ExecutionResult(data=None, errors=[error])

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """No data entry for a document that did not run; every error with a code."""
        return response_body(result.data, result.errors, result.extensions)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """The answer in the negotiated media type, with the spec's status for it."""
        assert not isinstance(response_data, list), "batches are refused while parsing"
        media = sub_response.media_type or JSON
        status = sub_response.status_code or status_of(response_data, media)
        body = msgspec.json.encode(response_data)  # bytes: the body as sent
        response = Response(body, status_code=status, media_type=media)
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response

    async def going_away(self) -> None:
        """Close every websocket session with 1001 (going away): the server is stopping,
        so clients reconnect, to another process behind the balancer."""
        for handler in list(self.sessions.handlers):
            with contextlib.suppress(Exception):
                await handler.websocket.close(GOING_AWAY, "server going away")

    def _is_ide_page(self, scope: Scope) -> bool:
        return bool(self.graphql_ide) and self.should_render_graphql_ide(
            StarletteRequestAdapter(Request(scope))
        )


HTTP_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
GOING_AWAY = 1001


def _parameter(data: dict[str, object], name: str, kind: type[T]) -> T | None:
    """A request parameter: absent or null is None, another type is a bad request."""
    value = data.get(name)
    if value is None or isinstance(value, kind):
        return value
    expected = "a string" if kind is str else "an object"
    raise Refused(f"{name} must be {expected} or null", BAD_REQUEST)
