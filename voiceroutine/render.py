"""Render: a Script and its clips become one PCM stream, produced block by block.

Every sound is placed at an absolute sample offset (``round(ms * rate / 1000)``),
so nothing drifts, and the work is linear in the length of the routine. Blocks
are yielded as they are made, so memory does not grow with length and the
encoder can work while the next block is rendered.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import TypeVar

from .clips import SAMPLE_WIDTH, Clip, ClipId
from .script import Chime, Event, Script, Speech

with warnings.catch_warnings():
    # Deprecated in Python 3.11-3.12; the audioop-lts package provides it from 3.13 on.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

BLOCK_FRAMES = 1 << 16  # about 1.5 s at 44.1 kHz

C = TypeVar("C", Clip, ClipId)


def ms_to_frames(ms: int, rate: int) -> int:
    """Milliseconds to a sample offset, rounding half up, in exact integer arithmetic."""
    return (ms * rate + 500) // 1000


def total_frames(script: Script, rate: int) -> int:
    return ms_to_frames(script.duration_ms, rate)


def sounds(script: Script, clips: Mapping[str, C], chimes: Mapping[str, C]) -> Iterator[tuple[Event, C]]:
    """Each audible event of the script, in time order, with the clip (or the clip's id) it plays."""
    for event in script.events:
        if isinstance(event, Speech):
            yield event, clips[event.text]
        elif isinstance(event, Chime):
            yield event, chimes[event.sound]


def _placements(script: Script, clips: Mapping[str, Clip], chimes: Mapping[str, Clip], rate: int) -> list[tuple[int, bytes]]:
    placed = []
    for event, clip in sounds(script, clips, chimes):
        if clip.rate != rate:
            raise ValueError(f"clip at {clip.rate} Hz in a {rate} Hz render")
        placed.append((ms_to_frames(event.start_ms, rate), clip.samples))
    return sorted(placed, key=lambda p: p[0])


def render(
    script: Script,
    clips: Mapping[str, Clip],
    chimes: Mapping[str, Clip],
    rate: int,
    block_frames: int = BLOCK_FRAMES,
    start_frame: int = 0,
    end_frame: int | None = None,
) -> Iterator[bytes]:
    """Yield the routine's audio (or the frames [start_frame, end_frame)) as blocks of mono 16-bit PCM.

    Sounds that overlap are summed (with clipping), so the output is right even
    where a chime's tail meets the next sound.
    """
    end = total_frames(script, rate) if end_frame is None else end_frame
    placements = _placements(script, clips, chimes, rate)
    upcoming = 0
    active: list[tuple[int, bytes]] = []
    silence = bytes(block_frames * SAMPLE_WIDTH)  # most blocks of a routine are silent holds and pauses
    for block_start in range(start_frame, end, block_frames):
        block_end = min(block_start + block_frames, end)
        while upcoming < len(placements) and placements[upcoming][0] < block_end:
            active.append(placements[upcoming])
            upcoming += 1
        size = (block_end - block_start) * SAMPLE_WIDTH
        if not active:
            yield silence if size == len(silence) else bytes(size)
            continue
        block = bytearray(size)
        view, empty = memoryview(block), True
        still_active = []
        for offset, samples in active:
            clip_end = offset + len(samples) // SAMPLE_WIDTH
            lo, hi = max(offset, block_start), min(clip_end, block_end)
            if lo < hi:
                a, b = (lo - block_start) * SAMPLE_WIDTH, (hi - block_start) * SAMPLE_WIDTH
                piece = memoryview(samples)[(lo - offset) * SAMPLE_WIDTH : (hi - offset) * SAMPLE_WIDTH]
                # The first sound in a block lands on silence: a copy is the sum.
                view[a:b] = piece if empty else audioop.add(view[a:b], piece, SAMPLE_WIDTH)
                empty = False
            if clip_end > block_end:
                still_active.append((offset, samples))
        active = still_active
        yield bytes(block)
