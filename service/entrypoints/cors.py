"""Browser apps on other origins: CORS for /graphql and the origins its websocket accepts.

One allow-list serves both (REUNITE_CORS_ORIGINS); development adds every localhost
origin. Nothing is allowed by default: a disallowed origin gets no Access-Control-*
header, and its websocket handshake is refused (403). Same-origin pages and clients that
send no Origin (servers, curl, Node) are never affected."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Send
from strawberry.http.websocket_origin import normalize_allowed_origins, normalize_origin

from service.entrypoints.graphql_http import JSON, json_response
from service.settings import Settings

CORS_REFUSED = "CORS_REFUSED"
# What a browser app sends beyond Accept and Content-Type (which Starlette always allows):
# the token, and the client name and version Apollo Client sends when told to.
HEADERS = ("authorization", "apollographql-client-name", "apollographql-client-version")
METHODS = ("POST",)  # GraphQL is served over POST only
EXPOSED = ("Retry-After", "X-Request-Id")  # when to retry RATE_LIMITED; the id to quote in a report
MAX_AGE = 600  # seconds a browser may keep a preflight's answer
LOCALHOST = re.compile(r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?")


@dataclass(frozen=True)
class Origins:
    """The origins whose pages may call the API and open its websocket."""

    listed: frozenset[str]
    localhost: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Origins:
        try:
            listed = normalize_allowed_origins(settings.cors_origins)
        except ValueError as e:
            raise ValueError(f"REUNITE_CORS_ORIGINS: {e}") from None
        if "*" in listed and settings.cors_credentials:
            raise ValueError(
                "REUNITE_CORS_ORIGINS=* with REUNITE_CORS_CREDENTIALS would let every site"
                " act with a user's cookies: list the origins instead"
            )
        return cls(listed, localhost=settings.dev)

    @property
    def any(self) -> bool:
        return "*" in self.listed

    def allows(self, origin: str) -> bool:
        if self.any:
            return True
        normalized = normalize_origin(origin)
        if normalized is None:  # "null" (a sandboxed page, a file), or not an origin
            return False
        return normalized in self.listed or bool(self.localhost and LOCALHOST.fullmatch(normalized))


class CrossOrigin(CORSMiddleware):
    """Starlette's CORS middleware on one allow-list, that tells a disallowed origin nothing.

    A preflight from an allowed origin answers 200 with what it may send; any other
    preflight answers 403 with a JSON error (code CORS_REFUSED) and no Access-Control-*
    header. Other requests run as they would without CORS; only an allowed origin's
    answers carry Access-Control-Allow-Origin (so its page can read them)."""

    def __init__(
        self,
        app: ASGIApp,
        origins: Origins,
        credentials: bool = False,
        headers: Sequence[str] = (),
    ) -> None:
        super().__init__(
            app,
            allow_origins=("*",) if origins.any else (),
            allow_methods=METHODS,
            allow_headers=(*HEADERS, *(h.lower() for h in headers)),
            allow_credentials=credentials,
            expose_headers=EXPOSED,
            max_age=MAX_AGE,
        )
        self.origins = origins

    def is_allowed_origin(self, origin: str) -> bool:
        return self.origins.allows(origin)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        body = {
            "errors": [
                {
                    "message": f"cross-origin request refused: {refused} not allowed",
                    "extensions": {"code": CORS_REFUSED},
                }
            ]
        }
        return json_response(body, 403, JSON, {"Vary": response.headers["Vary"]})

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is None or self.is_allowed_origin(origin):
            await super().send(message, send, request_headers)
            return
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.append("Vary", "Origin")
        await send(message)
