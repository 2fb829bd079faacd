"""Synthesis: one clip per unique phrase, at the project rate, from the cache when it can."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .cache import PhraseCache, phrase_key
from .clips import Clip, resample, trim_silence
from .engines import Engine

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as (stage label, units done, units in all) while long work runs."""

# Bump when the processing below changes, so old cache entries are not reused.
PROCESSING = "swr64-trim-50dBFS-10ms-40ms"


@dataclass(frozen=True)
class Voiced:
    clips: dict[str, Clip]
    synthesised: int  # phrases the engine spoke this time; the rest came from the cache


def voice_phrases(
    engine: Engine,
    phrases: Iterable[str],
    *,
    voice: str,
    rate: int,
    sample_rate: int,
    cache: PhraseCache,
    progress: Progress | None = None,
) -> Voiced:
    """Return a clip for every phrase, synthesising only those the cache lacks."""
    phrases = list(dict.fromkeys(phrases))
    engine_key = f"{engine.cache_key(voice, rate)} sample_rate={sample_rate} {PROCESSING}"
    clips: dict[str, Clip] = {}
    missing: list[tuple[str, str]] = []
    for text in phrases:
        key = phrase_key(engine_key, text)
        clip = cache.get(key)
        if clip is not None and clip.rate == sample_rate:
            clips[text] = clip
        else:
            missing.append((text, key))
    for done, (text, key) in enumerate(missing, 1):
        clip = trim_silence(resample(engine.synthesize(text, voice, rate), sample_rate))
        cache.put(key, clip)
        clips[text] = clip
        if progress:
            progress("Synthesising", done, len(missing))
    log.info("voiced %d phrases: %d synthesised, %d from the cache", len(phrases), len(missing), len(phrases) - len(missing))
    return Voiced(clips, len(missing))
