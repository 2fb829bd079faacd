"""The studio: a routine made on the phone, checked and built exactly as from a routine file.

The form names a base routine and the changes to it. They are applied to the
base's own TOML, and the result is parsed by the routine loader, so the page's
values meet the same checks as a file's, and the file saved beside the audio
rebuilds the same routine from the command line. Builds run one at a time in a
background thread through the library's ``build``; a few more may wait.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import queue
import secrets
import threading
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RoutineError, VoiceRoutineError
from ..files import write_text
from ..names import slug
from ..routine import MAX_STRETCHES, SIDES, Routine, builtin_ids, parse_routine, read_routine_text
from ..settings import FORMATS, GUIDANCE_LEVELS, PACES

STUDIO_HEADER = "# Made with voiceroutine share --studio; rebuild with: voiceroutine build {name}.toml -o {name}.mp3\n"
FORM_SOURCE = "form"
MAX_TITLE = 80
FORM_SETTINGS = ("guidance", "pace", "engine", "voice")
MAX_WAITING = 2  # builds queued behind the running one; more get a "busy" answer
KEPT_JOBS = 20


class StudioBusy(VoiceRoutineError):
    """Too many builds are waiting."""


class BuildCancelled(VoiceRoutineError):
    """Sharing stopped while a build was running."""


@dataclass(frozen=True)
class Base:
    key: str  # what the form sends: a built-in id, or a routine file's name in the shared folder
    label: str
    text: str  # its TOML
    folder: Path | None  # where paths in it start
    routine: Routine


def find_bases(folder: Path) -> dict[str, Base]:
    """The routines the form can start from: the built-ins and the valid routine files in ``folder``."""
    bases = {}
    refs: list[str | Path] = [*builtin_ids(), *sorted(folder.glob("*.toml"))]
    for ref in refs:
        try:
            found = read_routine_text(ref)
            routine = parse_routine(found.text, source=found.source, default_id=found.default_id, folder=found.folder)
        except RoutineError:
            continue  # a broken file in the folder is not offered
        key = ref.name if isinstance(ref, Path) else ref
        label = f"{routine.title} ({'built-in' if isinstance(ref, str) else key})"
        bases[key] = Base(key, label, found.text, found.folder, routine)
    return bases


def describe_bases(bases: Mapping[str, Base]) -> list[dict]:
    """What the form shows for each base: its stretches and settings as the loader resolved them."""
    return [
        {
            "key": base.key,
            "label": base.label,
            "title": base.routine.title,
            "settings": {name: base.routine.settings.get(name) for name in FORM_SETTINGS},
            "stretches": [
                {"id": s.id, "name": s.name, "hold_s": s.hold_ms / 1000, "sides": s.sides, "rest_s": s.rest_ms / 1000}
                for s in base.routine.stretches
            ],
        }
        for base in bases.values()
    ]


def choices() -> dict:
    """The options the form offers: guidance levels, paces, and the engines installed with their voices."""
    from ..engines import get_engine

    engines = {}
    for name, module in (("pyttsx3", "pyttsx3"), ("piper", "piper")):
        if importlib.util.find_spec(module) is None:
            continue
        try:
            voices = get_engine(name).voices()
        except VoiceRoutineError:
            continue
        english = [v for v in voices if any(code.lower().startswith("en") for code in v.languages)] or voices
        engines[name] = [{"id": v.id, "name": v.name} for v in english]
    return {"guidance": list(GUIDANCE_LEVELS), "pace": list(PACES), "sides": list(SIDES), "engines": engines}


def routine_from_form(form: object, bases: Mapping[str, Base]) -> tuple[str, Routine]:
    """The routine file the form describes, and the routine it loads as.

    Raises:
        RoutineError: naming the form field that is wrong, with the loader's own message.
    """
    if not isinstance(form, dict):
        raise RoutineError("expected a JSON object", source=FORM_SOURCE)
    base = bases.get(form.get("base"))  # type: ignore[arg-type]
    if base is None:
        raise RoutineError("choose a routine to start from", source=FORM_SOURCE, field="base")
    data = tomllib.loads(base.text)
    title = form.get("title") or base.routine.title
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise RoutineError(f"expected a title of at most {MAX_TITLE} characters", source=FORM_SOURCE, field="title")
    name = slug(title, fallback="my-routine")  # the routine's id and its files' name: côté -> cote
    data.setdefault("routine", {}).update(id=name, title=title)
    data["stretch"] = _chosen_stretches(form.get("stretches"), data.get("stretch", []), base.routine)
    settings = form.get("settings", {})
    if not isinstance(settings, dict):
        raise RoutineError("expected a table of settings", source=FORM_SOURCE, field="settings")
    for name, value in settings.items():
        # Only what the form offers: nothing that names a file on this computer (cover, chimes).
        if name not in FORM_SETTINGS:
            raise RoutineError(f"the studio sets only {', '.join(FORM_SETTINGS)}", source=FORM_SOURCE, field=f"settings.{name}")
        if value not in (None, ""):
            data.setdefault("settings", {})[name] = value
    import tomli_w

    text = tomli_w.dumps(data)
    return text, parse_routine(text, source=FORM_SOURCE, default_id=name, folder=base.folder)


def _chosen_stretches(chosen: object, stretches: list[dict], base: Routine) -> list[dict]:
    """The base's stretch tables in the form's order, with the form's hold, sides and rest."""
    if not isinstance(chosen, list) or not chosen:
        raise RoutineError("include at least one stretch", source=FORM_SOURCE, field="stretches")
    if len(chosen) > MAX_STRETCHES:
        raise RoutineError(f"at most {MAX_STRETCHES} stretches", source=FORM_SOURCE, field="stretches")
    by_id = {s.id: table for s, table in zip(base.stretches, stretches)}
    picked = []
    for number, choice in enumerate(chosen, 1):
        if not isinstance(choice, dict) or choice.get("id") not in by_id:
            raise RoutineError("not a stretch of the base routine", source=FORM_SOURCE, field=f"stretch[{number}].id")
        table = {**by_id[choice["id"]], "id": choice["id"]}
        table.update({key: choice[key] for key in ("hold", "sides", "rest") if choice.get(key) not in (None, "")})
        picked.append(table)
    return picked


@dataclass(frozen=True)
class Job:
    id: str
    name: str  # the routine's id; the files' names are chosen when it runs
    state: str = "queued"  # queued, running, done, failed
    stage: str = ""
    done: int = 0
    total: int = 0
    error: str = ""
    routine_id: str = ""  # the shared routine (manifest stem) it made

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


Builder = Callable[[Routine, Path, Callable[[str, int, int], None]], None]


class Studio:
    """Builds queued from the form, one at a time, into the shared folder."""

    def __init__(self, folder: Path, builder: Builder, max_waiting: int = MAX_WAITING) -> None:
        self.folder = folder
        self._builder = builder
        self._max_waiting = max_waiting
        self._queue: queue.Queue[tuple[str, str, Routine] | None] = queue.Queue()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._work, name="studio-builds", daemon=True)
        self._worker.start()

    def submit(self, text: str, routine: Routine) -> Job:
        job = Job(secrets.token_urlsafe(8), routine.id)
        with self._lock:
            if self._stopping.is_set():
                raise StudioBusy("sharing is stopping; no more builds")
            unfinished = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if unfinished > self._max_waiting:  # one running, max_waiting behind it
                raise StudioBusy("busy: other builds are waiting; try again in a minute")
            self._queue.put((job.id, text, routine))
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEPT_JOBS]:
                del self._jobs[old]
        return job

    def job(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def close(self, timeout_s: float = 10) -> None:
        """Stop taking builds; a running one stops at its next progress report, leaving no partial file."""
        with self._lock:
            self._stopping.set()
            for job_id, job in self._jobs.items():
                if job.state == "queued":
                    self._jobs[job_id] = dataclasses.replace(job, state="failed", error="sharing stopped before this build began")
        self._queue.put(None)
        self._worker.join(timeout_s)

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id] = dataclasses.replace(self._jobs[job_id], **changes)

    def _work(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get()
            if item is None:
                return
            job_id, text, routine = item
            if self._stopping.is_set():
                return
            self._update(job_id, state="running")

            def progress(stage: str, done: int, total: int) -> None:
                if self._stopping.is_set():
                    raise BuildCancelled("sharing stopped during the build")
                self._update(job_id, stage=stage, done=done, total=total)

            try:
                name = self._free_name(routine.id)
                self._builder(routine, self.folder / f"{name}.mp3", progress)
                write_text(self.folder / f"{name}.toml", STUDIO_HEADER.format(name=name) + text)
            except VoiceRoutineError as e:
                self._update(job_id, state="failed", error=str(e))
            except Exception as e:  # the page must hear of any failure, not wait forever
                self._update(job_id, state="failed", error=f"the build failed unexpectedly: {e}")
            else:
                self._update(job_id, state="done", routine_id=name)

    def _free_name(self, wanted: str) -> str:
        """``wanted``, or ``wanted-2``…: never a name whose files the studio did not write."""
        for n in range(1, 1000):
            name = wanted if n == 1 else f"{wanted}-{n}"
            routine_file = self.folder / f"{name}.toml"
            if routine_file.is_file():
                if routine_file.read_text(encoding="utf-8", errors="replace").startswith(STUDIO_HEADER.split(";")[0]):
                    return name  # the studio's own earlier build: made again
                continue
            others = [self.folder / f"{name}.{ext}" for ext in (*FORMATS, "json")]
            if not any(path.exists() for path in others):
                return name
        raise VoiceRoutineError(f"too many routines named {wanted}; choose another title")


def build_with_library(routine: Routine, output: Path, progress: Callable[[str, int, int], None]) -> None:
    """The studio's builder: the same library call as `voiceroutine build`, with the file's settings."""
    from ..pipeline import build
    from ..settings import resolve_settings

    build(routine, resolve_settings(routine.settings), output, progress=progress)
