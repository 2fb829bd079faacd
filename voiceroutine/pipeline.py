"""The whole path, end to end: routine -> script -> clips -> PCM -> audio file + manifest."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EncoderError, RoutineError
from .fit import fit_to_length
from .language import load_language
from .routine import Routine
from .script import Script, SpeechLength, build_script
from .settings import Settings
from .sounds import chime_lengths_ms, chime_sources

# Building needs the audio and speech libraries; planning must not load them (it runs instantly).
if TYPE_CHECKING:
    from .cache import PhraseCache
    from .clips import Clip
    from .engines import Engine
    from .music import Music, MusicBed
    from .outputs import Rendered
    from .synthesis import AskedVoice, Progress, SpeechWorkers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    audio_path: Path
    manifest_path: Path
    routine: Routine  # as built: holds fitted when a length was asked for
    script: Script
    settings: Settings  # as used: the voice resolved to the engine's own id
    synthesised: int
    removed: tuple[Path, ...] = ()  # what the earlier build of this name wrote and this one did not


def _lay_out(routine: Routine, settings: Settings, speech_ms: SpeechLength, chime_ms: dict[str, int]) -> tuple[Routine, Script]:
    """The routine as it will be built (holds fitted to ``--length``) and its script."""
    if settings.length_ms:
        routine = fit_to_length(routine, settings, speech_ms, chime_ms)
    return routine, build_script(routine, settings, speech_ms, chime_ms)


def _chime_sources(settings: Settings) -> dict:
    return chime_sources(settings.chimes, settings.start_chime, settings.end_chime)


def plan(routine: Routine, settings: Settings, known_ms: Mapping[str, int] | None = None) -> Script:
    """The timeline without making audio: instant, and no engine is started.

    ``known_ms`` gives phrases' real lengths (``cached_lengths``); the others are estimated.
    """
    known = known_ms or {}
    chime_ms = chime_lengths_ms(_chime_sources(settings))
    estimate = load_language(routine.language).estimate_ms
    return _lay_out(routine, settings, lambda text: known.get(text) or estimate(text, settings.rate), chime_ms)[1]


def cached_lengths(routine: Routine, settings: Settings, cache: PhraseCache) -> dict[str, int]:
    """The real length of every phrase of the routine an earlier build cached in this voice and rate,
    from the cache entries' headers: a plan made with them is the build's own timeline."""
    from .synthesis import cached_lengths as lengths_in_cache

    phrases = plan(routine, replace(settings, length_ms=None)).possible_phrases
    return lengths_in_cache(cache, _asked(settings.engine, routine, settings), phrases)


def _asked(engine_name: str, routine: Routine, settings: Settings):
    """The voice as ``settings`` ask for it, before an engine resolves it."""
    from .synthesis import AskedVoice

    return AskedVoice(engine_name, settings.voice, routine.language, settings.rate, settings.sample_rate)


Chimes = dict[str, "Clip"]


def _bed(music: Music | None, script: Script) -> MusicBed | None:
    from .music import MusicBed

    return MusicBed(music, script) if music else None


def resolved_voice(engine: Engine, routine: Routine, settings: Settings) -> str:
    """The engine's name for the voice asked for. A refusal is named where the choice was made:
    the routine file's voice, or its engine when no voice is given (Piper's own speaks only
    English), else the option."""
    try:
        return engine.resolve_voice(settings.voice, routine.language)
    except RoutineError as e:
        if e.source != "--voice":
            raise
        if settings.voice is not None and routine.settings.get("voice") == settings.voice:
            raise RoutineError(e.reason, source=routine.source, field="settings.voice") from None
        if settings.voice is None and routine.settings.get("engine") == settings.engine:
            raise RoutineError(e.reason, source=routine.source, field="settings.engine") from None
        raise


def _replay(
    routine: Routine,
    settings: Settings,
    engine: Engine,
    phrases: tuple[str, ...],
    chimes: Chimes,
    cache: PhraseCache,
    music: Music | None,
    asked: AskedVoice,
) -> tuple[Rendered, int] | None:
    """The sounds an earlier build leveled for what this one plays, found from the ids in the spoken
    clips' cache headers: a rebuild reads none of the spoken clips themselves. None if any is missing."""
    from .loudness import kept_levels
    from .outputs import Rendered
    from .synthesis import remember_voice, stored_phrases

    stored = stored_phrases(engine, phrases, voice=settings.voice, rate=settings.rate, sample_rate=settings.sample_rate, cache=cache)
    if not stored:
        return None
    remember_voice(cache, engine, asked, settings.voice)
    routine, script = _lay_out(routine, settings, lambda text: stored[text].duration_ms, _lengths(chimes))
    kept = kept_levels(script, stored, chimes, settings.sample_rate, settings.loudness_lufs, settings.format, cache, _bed(music, script))
    return (Rendered(routine, settings, script, *kept, music), 0) if kept else None


def _voice_and_level(
    routine: Routine,
    settings: Settings,
    engine: Engine,
    phrases: tuple[str, ...],
    chimes: Chimes,
    cache: PhraseCache,
    progress: Progress | None,
    workers: SpeechWorkers | None,
    asked: AskedVoice,
    music: Music | None,
) -> tuple[Rendered, int]:
    """Voice every phrase (from the cache or the engine, ``workers`` speaking beside this process),
    lay the routine out and level its sounds.

    ``asked`` is the voice as the settings named it, before the engine resolved it.
    """
    from .loudness import level
    from .outputs import Rendered
    from .synthesis import remember_voice, voice_phrases

    voiced = voice_phrases(
        engine,
        phrases,
        voice=settings.voice,
        rate=settings.rate,
        sample_rate=settings.sample_rate,
        cache=cache,
        progress=progress,
        jobs=1,  # with no workers, only this process speaks: too few phrases for more
        workers=workers,
    )
    if workers:
        workers.close()  # done speaking: their memory is free before the audio is made
    remember_voice(cache, engine, asked, settings.voice)
    routine, script = _lay_out(routine, settings, lambda text: voiced.clips[text].duration_ms, _lengths(chimes))
    bed = _bed(music, script)
    clips, chimes = level(script, voiced.clips, chimes, voiced.ids, settings.sample_rate, settings.loudness_lufs, settings.format, cache, bed)
    return Rendered(routine, settings, script, clips, chimes, music), voiced.synthesised


def _lengths(chimes: Chimes) -> dict[str, int]:
    return {name: clip.duration_ms for name, clip in chimes.items()}


def build(
    routine: Routine,
    settings: Settings,
    output: Path,
    *,
    engine: Engine | None = None,
    cache: PhraseCache | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> BuildResult:
    """Voice, render and encode ``routine`` into ``output``, with its manifest beside it.

    ``jobs`` is how many processes synthesise at once (None: one per core).
    """
    from .cache import PhraseCache
    from .engines import get_engine
    from .outputs import write_outputs
    from .music import load_music
    from .sounds import load_chimes
    from .synthesis import cached_lengths as lengths_in_cache, start_workers

    if settings.music and settings.ambient == "noise":
        raise RoutineError("music and ambient noise both fill the silences; choose one (leave out --ambient noise)", source="--music")
    engine = engine or get_engine(settings.engine)
    cache = cache or PhraseCache()
    # The music is read (and, the first time, decoded and measured) before any speech is made,
    # so a file that is not music stops the build at once.
    music = load_music(Path(settings.music), settings.sample_rate, settings.loudness_lufs, settings.music_level_lu, cache) if settings.music else None
    # Every phrase the routine can say is known before any is measured, whatever the holds.
    phrases = plan(routine, replace(settings, length_ms=None)).possible_phrases
    # Workers start first when this build will speak enough phrases to want them, so each has
    # started its engine by the time the voice is resolved and the cache read.
    asked = _asked(engine.name, routine, settings)
    workers = start_workers(engine, len(phrases) - len(lengths_in_cache(cache, asked, phrases)), jobs)
    try:
        settings = replace(settings, voice=resolved_voice(engine, routine, settings))
        chimes = load_chimes(_chime_sources(settings), settings.sample_rate)
        replayed = _replay(routine, settings, engine, phrases, chimes, cache, music, asked)
        rendered, synthesised = replayed or _voice_and_level(routine, settings, engine, phrases, chimes, cache, progress, workers, asked, music)
    finally:
        if workers:
            workers.close()
    try:
        manifest, removed = write_outputs(rendered, output, progress)
    except OSError as e:
        raise EncoderError(f"cannot write {output}: {e.strerror or e}; check the folder is writable and has free space") from e
    if cache.stored:  # a rebuild that stored nothing new leaves the cache's size as it was
        cache.trim()
    log.info("wrote %s and %s", output, manifest)
    return BuildResult(output, manifest, rendered.routine, rendered.script, settings, synthesised, removed)
