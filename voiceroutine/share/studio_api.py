"""The studio's endpoints: the form's options, a plan of the routine as edited, builds and their progress.

Reads are GET; only starting a build is a POST, and it must be JSON of a
bounded size, sent within a few seconds, from this page: a browser names the
page a request comes from (Origin, Sec-Fetch-Site), and one from any other
site is refused. Every answer is JSON; a refused form says which field and
why, in one line, whatever shape the JSON has.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import RoutineError
from .studio import Studio, StudioBusy
from .studio_form import FORM_SOURCE, choices, describe_bases, find_bases, routine_from_form
from .studio_music import music_files
from .studio_voices import listed_voices, studio_voices

MAX_FORM_BYTES = 16 * 1024  # a 50-stretch form is under 4 kB


def studio_routes(folder: Path, studio: Studio, body_timeout_s: float) -> list[Route]:
    listed_once = functools.cache(listed_voices)  # listing voices (and each language's voice) starts each engine once

    def voices() -> dict:
        return studio_voices(folder, listed_once())  # voice files in the folder may come and go

    def options(request: Request) -> Response:
        return JSONResponse({"bases": describe_bases(find_bases(folder)), **choices(voices(), music_files(folder))})

    def plan(request: Request) -> Response:
        raw = request.query_params.get("form", "")
        if len(raw) > MAX_FORM_BYTES:
            return _refused("the form is too large", 413)
        try:
            _, routine = routine_from_form(_json(raw), find_bases(folder), voices(), music_files(folder))
            from ..cache import PhraseCache
            from ..pipeline import cached_lengths, plan as plan_routine
            from ..settings import resolve_settings

            settings = resolve_settings(routine.settings)
            # The lengths the build will have: real ones for phrases spoken before, else estimates.
            script = plan_routine(routine, settings, cached_lengths(routine, settings, PhraseCache()))
        except RoutineError as e:
            return _refused(_message(e))
        holds = [{"id": s.id, "hold_ms": s.hold_ms, "sides": s.sides} for s in routine.stretches]
        return JSONResponse({"duration_ms": script.duration_ms, "stretches": holds, "dropped_cues": len(script.dropped)})

    async def build(request: Request) -> Response:
        if _from_another_site(request):
            return _refused("builds start only from this page", 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _refused("send the form as application/json", 415)
        body = bytearray()
        with anyio.move_on_after(body_timeout_s) as waited:
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_FORM_BYTES:
                    return _refused("the form is too large", 413)
        if waited.cancelled_caught:
            return _refused("the form took too long to arrive", 408, close=True)
        try:
            form = _json(body.decode("utf-8", errors="replace"))
            text, routine = routine_from_form(form, find_bases(folder), voices(), music_files(folder))
            job = studio.submit(text, routine)
        except RoutineError as e:
            return _refused(_message(e))
        except StudioBusy as e:
            return JSONResponse({"error": str(e)}, status_code=503, headers={"retry-after": "30"})
        return JSONResponse(job.to_dict(), status_code=202)

    def job(request: Request) -> Response:
        found = studio.job(request.path_params["job_id"])
        if not found:
            return _refused("no such build", 404)
        return JSONResponse(found.to_dict(), headers={"cache-control": "no-store"})

    return [
        Route("/studio/options", options),
        Route("/studio/plan", plan),
        Route("/studio/build", build, methods=["POST"]),
        Route("/studio/jobs/{job_id}", job),
    ]


def _from_another_site(request: Request) -> bool:
    """Whether a browser says the request comes from a page of another site (or one that hides its origin)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin.lower() != f"{request.url.scheme}://{request.headers.get('host', '')}".lower()


def _json(raw: str) -> object:
    try:
        return json.loads(raw)
    except RecursionError:
        raise RoutineError("the form is nested too deeply", source=FORM_SOURCE) from None
    except ValueError:
        raise RoutineError("not valid JSON", source=FORM_SOURCE) from None


def _message(error: RoutineError) -> str:
    """The loader's message without the "form:" every one of them starts with."""
    return str(error).removeprefix(f"{FORM_SOURCE}: ")


def _refused(message: str, status: int = 400, close: bool = False) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers={"connection": "close"} if close else None)
