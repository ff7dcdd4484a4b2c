"""GraphQL over HTTP as the spec has it (graphql.github.io/graphql-over-http/draft/): the
media type answered, status codes by media type, and a JSON body for every refusal."""

from __future__ import annotations

import json
from collections.abc import Mapping

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.http import GraphQLHTTPResponse

from schema.errors import INTERNAL, code_of

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"

# Codes of refusals made before GraphQL parses anything (README, "For front-end teams").
BAD_REQUEST = "BAD_REQUEST"  # not JSON, or a parameter of the wrong type, or no query
BATCHING_NOT_SUPPORTED = "BATCHING_NOT_SUPPORTED"  # a JSON array of operations
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"  # not application/json (UTF-8)
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"  # GET (queries over GET are refused), PUT...
UNAUTHENTICATED = "UNAUTHENTICATED"
OPERATION_NOT_SUPPORTED = "OPERATION_NOT_SUPPORTED"  # a subscription sent over HTTP

# A document that was not executed (a request error) answers application/json with 200,
# application/graphql-response+json with a 4xx or 5xx: these codes, else 400.
REQUEST_ERROR_STATUS = {
    "RATE_LIMITED": 429,
    "DATABASE_UNAVAILABLE": 503,
    INTERNAL: 500,
}
STATUS_CODES = {
    400: BAD_REQUEST,
    404: "NOT_FOUND",
    405: METHOD_NOT_ALLOWED,
    413: "REQUEST_TOO_LARGE",
    415: UNSUPPORTED_MEDIA_TYPE,
}


def negotiate(accept: str | None) -> str:
    """The media type to answer: application/graphql-response+json when the client accepts
    it at least as readily as application/json, else application/json (also for */*, no
    Accept header, or only types this server does not speak: legacy clients keep working)."""
    best, best_q = JSON, 0.0
    for part in (accept or "").split(","):
        media, _, params = part.partition(";")
        media = media.strip().lower()
        q = _quality(params)
        if q <= 0:
            continue
        if media == GRAPHQL_RESPONSE and q >= best_q:
            best, best_q = GRAPHQL_RESPONSE, q
        elif media in (JSON, "application/*", "*/*") and q > best_q:
            best, best_q = JSON, q
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def status_of(body: GraphQLHTTPResponse, media: str) -> int:
    """200 for an executed operation (its data entry is present, even null) and for every
    answer in application/json; a request error in application/graphql-response+json takes
    the status of its worst code."""
    errors = body.get("errors")
    if media == JSON or "data" in body or not errors:
        return 200
    return max(REQUEST_ERROR_STATUS.get(_code(error), 400) for error in errors)


def _code(error: object) -> str:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else INTERNAL


def response_body(
    data: dict[str, object] | None,
    errors: list[GraphQLError] | None,
    extensions: dict[str, object] | None,
) -> GraphQLHTTPResponse:
    """The response entries: no data entry when nothing was executed (every error is a
    request error: no path, and no data), and every error with its code."""
    body: GraphQLHTTPResponse = {}
    executed = data is not None or not errors or any(e.path is not None for e in errors)
    if executed:
        body["data"] = data
    if errors:
        body["errors"] = [coded(e).formatted for e in errors]
    if extensions:
        body["extensions"] = extensions
    return body


def coded(error: GraphQLError) -> GraphQLError:
    """The error with a code. Errors that went through the schema's extensions have one; an
    exception that escaped them (an extension's own failure) is masked here."""
    if (error.extensions or {}).get("code"):
        return error
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return GraphQLError("Unexpected error.", extensions={"code": INTERNAL})
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code_of(error, parsed=True)},
    )


class Refused(Exception):
    """A request answered with one error, before any GraphQL ran.

    A transport refusal (the body is not a GraphQL request) keeps its status whatever the
    media type; a request error (`request_error`: a well-formed request whose document will
    not run, e.g. an unknown persisted id) answers application/json with 200."""

    def __init__(
        self,
        message: str,
        code: str,
        status: int = 400,
        *,
        request_error: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.request_error = request_error
        self.headers = dict(headers or {})

    def response(self, media: str) -> Response:
        """The refusal as a GraphQL response in the negotiated media type."""
        error = {"message": str(self), "extensions": {"code": self.code}}
        status = 200 if self.request_error and media == JSON else self.status
        return json_response({"errors": [error]}, status, media, self.headers)


def json_response(
    body: object, status: int, media: str, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON body as compact UTF-8, in the given media type."""
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=media, headers=headers)


def refused_by_status(status: int, reason: str) -> Refused:
    """A refusal strawberry raised by status (HTTPException) as one with a code."""
    return Refused(reason, STATUS_CODES.get(status, BAD_REQUEST), status)
