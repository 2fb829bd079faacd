"""Synthesis: one clip per unique phrase, at the project rate, from the cache when it can.

Phrases the cache lacks are spoken in parallel by worker processes, one engine
per process (espeak initialises once per process; a Piper voice is loaded once
per worker). Results are put back in phrase order, so the output does not
depend on which worker finished first.

Every clip is checked before it is cached or played (speech_check.py): one
that is silent or far too short for its words is spoken again, by a fresh
engine the last time, and a phrase that never comes out whole stops the build.
A cached clip that fails the same check counts as damaged and is made again.
"""

from __future__ import annotations

import contextlib
import faulthandler
import hashlib
import importlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .cache import PhraseCache, clip_id, phrase_key
from .clips import Clip, ClipId, resample, trim_silence
from .engines import Engine
from .errors import SynthesisError
from .speech_check import length_problem, speech_problem

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as (stage label, units done, units in all) while long work runs."""

# Bump when the processing below changes, so old cache entries are not reused.
PROCESSING = "soxr-hq-trim-50dBFS-10ms-40ms"
# Fewer phrases than this are quicker to speak than to start workers for.
MIN_PARALLEL_PHRASES = 8
# No phrase takes this long unless the engine has hung (the longest, a 2000-character intro, takes seconds).
PHRASE_TIMEOUT_S = 120.0
# Tries at a phrase whose clip fails the speech check: the same engine twice, then a fresh one.
ATTEMPTS = 3


@dataclass(frozen=True)
class Voiced:
    clips: dict[str, Clip]
    ids: dict[str, ClipId]  # each clip as the cache names it
    synthesised: int  # phrases the engine spoke this time; the rest came from the cache


def _engine_key(engine: Engine, voice: str, rate: int, sample_rate: int) -> str:
    """Everything besides the text that changes a cached clip."""
    return f"{engine.cache_key(voice, rate)} sample_rate={sample_rate} {PROCESSING}"


def _phrase_keys(engine: Engine, phrases: Iterable[str], voice: str, rate: int, sample_rate: int) -> dict[str, str]:
    """Each distinct phrase's cache key, in the order first given."""
    engine_key = _engine_key(engine, voice, rate, sample_rate)
    return {text: phrase_key(engine_key, text) for text in phrases}


@dataclass(frozen=True)
class AskedVoice:
    """A voice as a build asks for it, before the engine resolves it: the default voice (None)
    is another voice in each language."""

    engine: str
    voice: str | None
    language: str
    rate: int
    sample_rate: int

    @property
    def note(self) -> str:
        text = f"voice {self.engine} {self.voice!r} language={self.language} rate={self.rate} sample_rate={self.sample_rate}"
        return hashlib.sha256(text.encode()).hexdigest()


def remember_voice(cache: PhraseCache, engine: Engine, asked: AskedVoice, voice: str) -> None:
    """Note the engine key the ``asked`` voice came to (``voice``, resolved), so a plan can find
    its clips in the cache without starting the engine. Nothing is written when the note stands."""
    value = json.dumps(_engine_key(engine, voice, asked.rate, asked.sample_rate))
    if cache.get_note(asked.note) != value:
        cache.put_note(asked.note, value)


def cached_lengths(cache: PhraseCache, asked: AskedVoice, phrases: Iterable[str]) -> dict[str, int]:
    """The length in ms of each phrase whose clip an earlier build cached in the ``asked`` voice,
    read from the entries' headers: no engine is started and no audio read."""
    rate, sample_rate = asked.rate, asked.sample_rate
    note = cache.get_note(asked.note)
    try:
        engine_key = json.loads(note) if note else None
    except ValueError:
        return {}
    if not isinstance(engine_key, str):
        return {}
    found = {}
    for text in phrases:
        stored = cache.peek(phrase_key(engine_key, text), touch=False)
        if _usable(stored, text, sample_rate, rate):
            found[text] = stored.duration_ms
    return found


def stored_phrases(
    engine: Engine, phrases: Iterable[str], *, voice: str, rate: int, sample_rate: int, cache: PhraseCache
) -> dict[str, ClipId] | None:
    """Every phrase's sound and length as the cache holds it, without reading a sample; None if any is missing."""
    found = {}
    for text, key in _phrase_keys(engine, phrases, voice, rate, sample_rate).items():
        stored = cache.peek(key)
        if not _usable(stored, text, sample_rate, rate):
            return None  # the full path reads it, finds it damaged if it is, and speaks it again
        found[text] = stored
    return found


def _usable(stored: ClipId | None, text: str, sample_rate: int, rate: int) -> bool:
    """Whether a cached clip, known by its header, can be played: at the sample rate asked, and
    not too short for its words (a damaged one is)."""
    return stored is not None and stored.rate == sample_rate and not length_problem(text, stored.frames, stored.rate, rate)


def voice_phrases(
    engine: Engine,
    phrases: Iterable[str],
    *,
    voice: str,
    rate: int,
    sample_rate: int,
    cache: PhraseCache,
    progress: Progress | None = None,
    jobs: int | None = None,
    workers: SpeechWorkers | None = None,
    phrase_timeout_s: float = PHRASE_TIMEOUT_S,
) -> Voiced:
    """Return a clip for every phrase, synthesising only those the cache lacks.

    ``jobs`` is how many processes speak at once (None: one per core): this
    one and ``jobs - 1`` workers, or ``workers`` started earlier (``start_workers``).
    A phrase the engine has not finished after ``phrase_timeout_s`` stops the
    build with a SynthesisError naming it (in a thread other than the main one,
    only when worker processes speak).
    """
    keys = _phrase_keys(engine, phrases, voice, rate, sample_rate)
    clips: dict[str, Clip] = {}
    missing: list[str] = []
    for text, key in keys.items():
        clip = cache.get(key)
        if clip is not None and clip.rate == sample_rate and speech_problem(text, clip, rate) is None:
            clips[text] = clip
        else:
            if clip is not None:
                log.warning("cached clip of %s is not whole speech; speaking it again", _excerpt(text))
                cache.discard(key)
            missing.append(text)
    request = _Request(voice, rate, sample_rate, phrase_timeout_s)
    own_workers = None if workers else start_workers(engine, len(missing), jobs)
    try:
        made = _synthesise(engine, missing, request, workers or own_workers, progress)
    finally:
        if own_workers:
            own_workers.close()
    for text, clip in zip(missing, made):
        cache.put(keys[text], clip)
        clips[text] = clip
    log.info("voiced %d phrases: %d synthesised, %d from the cache", len(keys), len(missing), len(keys) - len(missing))
    return Voiced(clips, {text: clip_id(key, clips[text]) for text, key in keys.items()}, len(missing))


@dataclass(frozen=True)
class _Request:
    voice: str
    rate: int
    sample_rate: int
    timeout_s: float


def _prepare(engine: Engine, text: str, request: _Request) -> Clip:
    """``text`` spoken, at the project rate with its silence trimmed, checked to be whole speech."""
    for attempt in range(1, ATTEMPTS + 1):
        if attempt == ATTEMPTS:
            engine = type(engine)()  # whatever state the engine got into, a new one starts clean
        with _time_limit(request.timeout_s, text):
            spoken = engine.synthesize(text, request.voice, request.rate)
        clip = trim_silence(resample(spoken, request.sample_rate))
        problem = speech_problem(text, clip, request.rate)
        if problem is None:
            return clip
        log.warning("the speech engine gave %s for %s (try %d of %d)", problem, _excerpt(text), attempt, ATTEMPTS)
    raise SynthesisError(
        f"the speech engine gave {problem} for {_excerpt(text)}, {ATTEMPTS} times; "
        "build again, or reword that phrase, or try another --voice or --engine"
    )


@contextlib.contextmanager
def _time_limit(seconds: float, text: str) -> Iterator[None]:
    """Raise SynthesisError naming ``text`` if the block runs longer than ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise SynthesisError(
            f"the speech engine took more than {seconds:g} s on {_excerpt(text)} and was stopped; "
            "try again, or another --voice or --engine"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


_worker_engine: Engine | None = None
_worker_devnull = None


def _start_worker(engine_class: str) -> None:
    global _worker_engine, _worker_devnull
    # Ctrl-C reaches every process of the terminal's group. The build stops the pool itself, so a
    # worker finishes its phrase: cut off inside espeak, whose callback then writes to a folder
    # already removed, it printed a traceback under "Aborted!".
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    module_name, class_name = engine_class.split(":")
    _worker_engine = getattr(importlib.import_module(module_name), class_name)()
    _worker_devnull = open(os.devnull, "w")  # noqa: SIM115 (for the worker's lifetime)


def _work(text: str, request: _Request) -> Clip:
    # An engine stuck inside native code never lets the alarm's handler run: then the worker ends
    # itself a little later, and the build stops with a message instead of waiting for ever.
    faulthandler.dump_traceback_later(request.timeout_s + 30, exit=True, file=_worker_devnull)
    try:
        return _prepare(_worker_engine, text, request)
    finally:
        faulthandler.cancel_dump_traceback_later()


def _ready() -> None:
    """Nothing: submitted once per worker, so the pool starts every process (and its engine) at once."""


class SpeechWorkers:
    """Processes that speak beside the build's own, started ahead of need: each starts its engine
    while the build resolves the voice and reads its cache, and is ready when the phrases are."""

    def __init__(self, engine: Engine, count: int) -> None:
        # Loaded here, not with the module: a rebuild that speaks nothing has no use for them.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        engine_class = f"{type(engine).__module__}:{type(engine).__qualname__}"
        # "spawn": a fresh interpreter per worker, never a fork of a process holding a speech engine.
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker, initargs=(engine_class,))
        for _ in range(count):
            self.pool.submit(_ready)  # the pool starts a process for each task while it has fewer than ``count``

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def start_workers(engine: Engine, phrases: int, jobs: int | None) -> SpeechWorkers | None:
    """Workers for a build that will speak ``phrases`` phrases, ``jobs`` processes in all (None: one
    per core); None when this process alone is quicker (starting a worker costs a few phrases' time)."""
    processes = min(jobs or os.cpu_count() or 1, phrases)
    if processes <= 1 or phrases < MIN_PARALLEL_PHRASES:
        return None
    return SpeechWorkers(engine, processes - 1)


def _synthesise(engine: Engine, texts: list[str], request: _Request, workers: SpeechWorkers | None, progress: Progress | None) -> list[Clip]:
    """Every text spoken, in order: by this process alone, or with ``workers`` beside it."""
    results: list[Clip | None] = [None] * len(texts)
    done = 0

    def finished(index: int, clip: Clip) -> None:
        nonlocal done
        results[index], done = clip, done + 1
        if progress:
            progress("Synthesising", done, len(texts))

    if workers is None:
        for index, text in enumerate(texts):
            finished(index, _prepare(engine, text, request))
        return results
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Longest first to the workers, so no long phrase is left running alone at the end; this
    # process takes the shortest ones no worker has begun, with the engine it already started.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    futures = {workers.pool.submit(_work, texts[i], request): i for i in order}
    try:
        for future in reversed(list(futures)):
            if future.cancel():
                index = futures.pop(future)
                finished(index, _prepare(engine, texts[index], request))
                for ready in [f for f in futures if f.done()]:  # the workers' phrases, as they come
                    finished(futures.pop(ready), ready.result())
        for future in as_completed(futures):
            finished(futures[future], future.result())
    except BrokenProcessPool:
        raise SynthesisError(
            f"a speech worker stopped unexpectedly, or hung for more than {request.timeout_s:g} s; try again with --jobs 1"
        ) from None
    except BaseException:
        workers.close()
        raise
    return results
