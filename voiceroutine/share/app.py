"""The web app behind `voiceroutine share`: read-only, and every URL under a secret token.

The page is rendered from Jinja2 templates (``templates/``), and its styles
and scripts are files served from ``static/`` under the token too, so the
Content-Security-Policy allows scripts and styles from this server alone,
none inline. Any path that is not under the token, or not a file of a served
routine or of the page itself, is a plain 404.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .catalog import Catalog, cover_art, read_catalog
from .feed import chapters_json, render_feed
from .file_response import SharedFileResponse
from .guard import Limits
from .page import href, page_context
from .studio import Studio
from .studio_api import studio_routes

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

# Sent with every response: no sniffing, no framing, nothing loaded from elsewhere, no Referer leaking the token.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
]


class LiveCatalog:
    """The folder's catalog, read again only when a manifest in it changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._catalog: Catalog | None = None

    def current(self) -> Catalog:
        signature = tuple((p.name, s.st_mtime_ns, s.st_size) for p in sorted(self.folder.glob("*.json")) if (s := _stat(p)))
        with self._lock:
            if signature != self._signature or self._catalog is None:
                self._catalog, self._signature = read_catalog(self.folder), signature
            return self._catalog


def _stat(path: Path):
    try:
        return path.stat()
    except OSError:
        return None


def make_app(
    folder: Path, token: str, folder_label: str | None = None, studio: Studio | None = None, limits: Limits | None = None
) -> Starlette:
    """The app serving ``folder`` under ``/<token>/``; with ``studio``, the form that builds new routines too."""
    live = LiveCatalog(folder)
    label = folder_label or str(folder)
    templates = page_templates()

    def page(request: Request) -> Response:
        context = page_context(live.current(), str(request.url_for("feed")), label, studio=studio is not None)
        return templates.TemplateResponse(request, "page.html", context, headers={"cache-control": "no-cache"})

    def feed(request: Request) -> Response:
        base = str(request.url_for("page"))
        body = render_feed(live.current(), base, lambda path: base + href(path))
        return Response(body, media_type="application/rss+xml; charset=utf-8", headers={"cache-control": "no-cache"})

    def cover(request: Request) -> Response:
        catalog = live.current()
        routine = catalog.routine(request.path_params["routine_id"])
        found = routine and catalog.file(routine.audio_path)
        if not found:
            return _not_found()
        path, audio = found
        art = cover_art(path, audio.kind, audio.mtime_ns, routine.title, routine.duration_ms, len(routine.stretches), routine.language)
        media_type = "image/jpeg" if art[:2] == b"\xff\xd8" else "image/png"
        return Response(art, media_type=media_type, headers={"cache-control": "no-cache"})

    def chapters(request: Request) -> Response:
        routine = live.current().routine(request.path_params["routine_id"])
        if not routine:
            return _not_found()
        return Response(chapters_json(routine), media_type="application/json+chapters")

    def file(request: Request) -> Response:
        found = live.current().file(request.path_params["path"])
        if not found:
            return _not_found()
        path, shared = found
        try:
            return SharedFileResponse(path, shared.media_type)
        except OSError:
            return _not_found()  # removed since the catalog was read

    routes = [
        Route("/", page, name="page"),
        Route("/feed.xml", feed, name="feed"),
        Route("/cover/{routine_id}.png", cover),
        Route("/chapters/{routine_id}.json", chapters),
        Route("/files/{path:path}", file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if studio:
        routes += studio_routes(folder, studio, (limits or Limits()).body_timeout_s)
    app = Starlette(routes=[Mount(f"/{token}", routes=routes)])
    app.add_middleware(_SecurityHeaders)
    return app


def page_templates() -> Jinja2Templates:
    """The page's templates, autoescaped, with ``static(name)`` giving a static file's link.

    The link carries a digest of the file, so a phone never keeps an old
    script or stylesheet from an earlier version once the page changes.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    digests = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12] for path in STATIC.iterdir()}
    env.globals["static"] = lambda name: f"static/{name}?v={digests[name]}"
    return Jinja2Templates(env=env)


def _not_found() -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain")


class _SecurityHeaders:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
