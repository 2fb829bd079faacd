"""The studio's builds: a routine made on the phone, built exactly as from a routine file.

Builds run one at a time in a background thread through the library's
``build``; a few more may wait. Each build saves its routine file beside the
audio, so it rebuilds the same routine from the command line. A build never
writes over a file the studio did not make: it takes the name its title makes
only when every file a build of that name writes (audio in any format,
manifest, transcripts, tracks, routine file) is absent or the studio's own
earlier build of the same title; otherwise ``name-2``, ``name-3``...
"""

from __future__ import annotations

import dataclasses
import os
import queue
import secrets
import stat
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import VoiceRoutineError
from ..export import tracks_folder
from ..files import write_text
from ..ownership import SIBLING_EXTENSIONS, earlier_build
from ..routine import Routine

STUDIO_HEADER = "# Made with voiceroutine share --studio; rebuild with: voiceroutine build {name}.toml -o {name}.mp3\n"
MAX_WAITING = 2  # builds queued behind the running one; more get a "busy" answer
KEPT_JOBS = 20
MAX_SAME_NAME = 1000


class StudioBusy(VoiceRoutineError):
    """Too many builds are waiting."""


class BuildCancelled(VoiceRoutineError):
    """Sharing stopped while a build was running."""


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
                name = self._free_name(routine)
                self._builder(routine, self.folder / f"{name}.mp3", progress)
                write_text(self.folder / f"{name}.toml", STUDIO_HEADER.format(name=name) + text)
            except VoiceRoutineError as e:
                self._update(job_id, state="failed", error=str(e))
            except Exception as e:  # the page must hear of any failure, not wait forever
                self._update(job_id, state="failed", error=f"the build failed unexpectedly: {e}")
            else:
                self._update(job_id, state="done", routine_id=name)

    def _free_name(self, routine: Routine) -> str:
        """The routine's id, or ``id-2``, ``id-3``...: the first name no file of which the studio would write over."""
        for n in range(1, MAX_SAME_NAME):
            name = routine.id if n == 1 else f"{routine.id}-{n}"
            if self._is_ours(name, routine.title) or not any(os.path.lexists(path) for path in self._files_of(name)):
                return name
        raise VoiceRoutineError(f"too many routines named {routine.id}; choose another title")

    def _files_of(self, name: str) -> list[Path]:
        """Every file a studio build named ``name`` writes, or an earlier build of that name could have."""
        audio = self.folder / f"{name}.mp3"
        return [*(audio.with_suffix(f".{ext}") for ext in (*SIBLING_EXTENSIONS, "json", "toml")), tracks_folder(audio)]

    def _is_ours(self, name: str, title: str) -> bool:
        """Whether every file there is of the studio's earlier build of this same title, unchanged since."""
        routine_file = self.folder / f"{name}.toml"
        try:
            info = routine_file.lstat()
            text = routine_file.read_text(encoding="utf-8") if stat.S_ISREG(info.st_mode) else ""
            if not text.startswith(STUDIO_HEADER.format(name=name)) or tomllib.loads(text)["routine"]["title"] != title:
                return False
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
            return False
        present = [path for path in self._files_of(name) if path != routine_file and os.path.lexists(path)]
        if not present:
            return True
        earlier = earlier_build(self.folder / f"{name}.mp3")
        # The studio saves the routine file after the build's manifest: a later manifest is another build's.
        if earlier is None or earlier.manifest_ns > info.st_mtime_ns:
            return False
        return all(path.suffix == ".json" or earlier.wrote(path.name) for path in present)


def build_with_library(routine: Routine, output: Path, progress: Callable[[str, int, int], None]) -> None:
    """The studio's builder: the same library call as `voiceroutine build`, with the file's settings."""
    from ..pipeline import build
    from ..settings import resolve_settings

    build(routine, resolve_settings(routine.settings), output, progress=progress)
