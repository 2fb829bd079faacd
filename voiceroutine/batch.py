"""Building many routines at once: one worker process per routine being built, sharing the phrase cache.

Each worker builds one routine at a time, start to finish, with the same
library call as a single build; a failure is reported for its routine and the
others go on. Ctrl-C or SIGTERM stops every worker, and each removes its
temporary files as a single build does.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .errors import RoutineError, VoiceRoutineError


@dataclass(frozen=True)
class Outcome:
    ref: str  # the routine as given: a built-in id or a file
    audio_path: str = ""
    duration_ms: int = 0
    stretches: int = 0
    synthesised: int = 0
    dropped: int = 0  # cues the holds were too short for
    error: str = ""
    input_error: bool = False  # the routine or an option is wrong (found only when building, e.g. a voice)


def build_all(ready: list[tuple[str, str]], options: dict, jobs: int | None, on_done: Callable[[], None] | None = None) -> list[Outcome]:
    """Build each (routine ref, output path) with the same options; outcomes in the order given.

    ``jobs`` routines are built at once (None: one per core); alone, a build
    synthesises with every core instead.
    """
    if not ready:
        return []
    workers = min(jobs or os.cpu_count() or 1, len(ready))
    if workers == 1:
        outcomes = []
        for ref, path in ready:
            outcomes.append(_build_one(ref, path, options, jobs))
            if on_done:
                on_done()
        return outcomes
    # Worker processes cannot start processes of their own, so each synthesises in one process.
    tasks = [(ref, path, options, 1) for ref, path in ready]
    finished: dict[int, Outcome] = {}
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_start_worker)
    try:
        for index, outcome in pool.imap_unordered(_indexed_build, enumerate(tasks)):
            finished[index] = outcome
            if on_done:
                on_done()
        pool.close()  # all done: the workers leave on their own
    except BaseException:
        pool.terminate()  # SIGTERM: each worker unwinds and removes its temporary files
        raise
    finally:
        pool.join()
    return [finished[i] for i in range(len(tasks))]


def _start_worker() -> None:
    # Unwind on SIGTERM, so atomic writes clean up after themselves; SystemExit ends a
    # worker quietly, where KeyboardInterrupt would print its traceback. Ctrl-C reaches
    # the whole process group: the main process reports it, the workers just stop.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _stop(signum, frame) -> None:
    # One stop is enough: after Ctrl-C the main process terminates the pool with SIGTERM, and
    # that second signal must not cut into the worker's own exit (a traceback from atexit).
    # A Python handler, not SIG_IGN: a signal already on its way would then raise OSError.
    signal.signal(signal.SIGTERM, _already_stopping)
    signal.signal(signal.SIGINT, _already_stopping)
    sys.exit(128 + signum)


def _already_stopping(signum, frame) -> None:
    """The worker is already unwinding; let it finish."""


def _indexed_build(task: tuple[int, tuple]) -> tuple[int, Outcome]:
    index, (ref, path, options, jobs) = task
    return index, _build_one(ref, path, options, jobs)


def _build_one(ref: str, path: str, options: dict, jobs: int | None) -> Outcome:
    from .options import load_for_build
    from .pipeline import build

    try:
        routine, settings, output = load_for_build({**options, "routine": ref}, path)
        result = build(routine, settings, output, jobs=jobs)
    except RoutineError as e:
        return Outcome(ref, error=str(e), input_error=True)
    except VoiceRoutineError as e:
        return Outcome(ref, error=str(e))
    return Outcome(
        ref, str(result.audio_path), result.script.duration_ms, len(result.routine.stretches), result.synthesised, len(result.script.dropped)
    )
