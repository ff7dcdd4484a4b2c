"""The auditor console at /console: static files of this package, served same-origin under a
strict Content-Security-Policy. Everything it shows it asks /graphql for, with the signed-in
caller's bearer token, so the access policy, redaction and the read audit apply to it as to
any client (ADR 0017). Off unless REUNITE_CONSOLE is set or the server runs with --dev."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from service.settings import Settings

STATIC = Path(__file__).with_name("console")
MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# No inline script or style, nothing from elsewhere, no frames, no forms posted away.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def console_files() -> dict[str, Path]:
    """The files served, by name: only those the package holds, nothing under a dot."""
    return {
        str(p.relative_to(STATIC)): p
        for p in sorted(STATIC.rglob("*"))
        if p.is_file() and p.suffix in MEDIA and not p.name.startswith(".")
    }


def console_routes(settings: Settings) -> list[BaseRoute]:
    """/console/ and its files when the console is on; no route at all when it is off."""
    if not (settings.console or settings.dev):
        return []
    files = console_files()

    async def redirect(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=308)

    async def serve(request: Request) -> Response:
        name = request.path_params.get("name") or "index.html"
        path = files.get(name)
        if path is None:
            return Response("not found", status_code=404, headers=HEADERS, media_type="text/plain")
        return Response(path.read_bytes(), headers=HEADERS, media_type=MEDIA[path.suffix])

    return [
        Route("/console", redirect),
        Route("/console/", serve),
        Route("/console/{name:path}", serve),
    ]
