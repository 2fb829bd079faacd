"""Loudness: measure what the listener will hear and set the gain that brings it to the target.

Phones expect spoken word at about -16 LUFS with true peaks at most -1 dBTP.
The routine's integrated loudness is measured in this process (meter.py): each
distinct sound is K-weighted once and the gating blocks are summed from where
the script places it, so the figure is the final file's (within 0.05 LU of
ffmpeg's ebur128 on it) without making or reading the timeline's silence.
One ffmpeg run then applies the gain and a lookahead limiter (its delay
compensated, so timing is untouched) to every distinct sound at once; the
result is measured again and, while the limiter took more than 0.2 LU, the
gain corrected (at most CORRECTIONS times).
"""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .cache import PhraseCache
from .clips import Clip, ClipId
from . import ffmpeg
from .errors import EncoderError
from .render import C, ms_to_frames, sounds, total_frames
from .script import Script

if TYPE_CHECKING:
    from .music import MusicBed

# Sample-peak ceilings, so that with each encoder's overshoot the true peak of the encoded file stays
# at -2 dBTP or below. Overshoot measured on speech and chimes: AAC (64 kbps and up) 0.8 to 1.8 dB,
# Opus 0.6 to 1.1 dB, MP3 up to 1 dB at 32 kbps.
PEAK_CEILING_DBFS = {"m4b": -4.5, "opus": -3.5}
DEFAULT_CEILING_DBFS = -3.0  # MP3 and WAV
PAD_MS = 200  # silence between clips while they are leveled: longer than the limiter's release
CORRECTIONS = 3
TRUE_PEAK_ALLOWANCE_DB = 0.5  # how far past the sample-peak ceiling a chime's true peak may go, as speech's does
LEVELING = "bs1770-timeline volume alimiter-latency chime-under-voice chime-true-peak"  # change when the leveling changes, so kept gains are not reused


def _gaps(script: Script, clips: Mapping[str, C], chimes: Mapping[str, C]) -> Iterator[tuple[int, C]]:
    """Every speech and chime of the script in time order, with the silence before it cut to at most a second."""
    heard_until = 0
    for event, clip in sounds(script, clips, chimes):
        yield min(max(event.start_ms - heard_until, 0), 1000), clip
        heard_until = max(heard_until, event.start_ms + clip.duration_ms)


def measure_lufs(
    script: Script, clips: Mapping[str, Clip], chimes: Mapping[str, Clip], rate: int, bed: MusicBed | None = None
) -> float | None:
    """Integrated loudness of the routine with these clips and chimes (and the music ``bed`` under
    them), as heard on headphones; None for silence."""
    from .meter import STEP_MS, gated_lufs, step_energies

    offsets: dict[int, tuple[Clip, list[int]]] = {}  # each distinct sound, with where it plays
    for event, clip in sounds(script, clips, chimes):
        offsets.setdefault(id(clip), (clip, []))[1].append(ms_to_frames(event.start_ms, rate))
    frames = total_frames(script, rate)
    steps = step_energies(((clip.samples, at) for clip, at in offsets.values()), frames, rate)
    if bed is not None:
        steps += bed.step_energies(len(steps), rate * STEP_MS // 1000)
    return gated_lufs(steps, frames, rate)


def _filters(gain_db: float, ceiling_dbfs: float) -> list[str]:
    ceiling = 10 ** (ceiling_dbfs / 20)
    return [f"volume={gain_db:.2f}dB", f"alimiter=limit={ceiling:.4f}:level=false:latency=true"]


def _process(clips: dict[str, Clip], filters: list[str], rate: int) -> dict[str, Clip]:
    """Every clip through ``filters`` in one ffmpeg run, each padded with silence so none affects the next.

    The clips are written from a thread while their processed samples are read back one by one,
    so no copy of them all is ever held at once.
    """
    pad = bytes(PAD_MS * rate // 1000 * 2)
    command = [
        "ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
        "-af", ",".join(filters), "-f", "s16le", "-",
    ]  # fmt: skip
    process = ffmpeg.start(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    pieces = [pad, *(part for clip in clips.values() for part in (clip.samples, pad))]
    writer = threading.Thread(target=ffmpeg.feed, args=(process, pieces), daemon=True)
    writer.start()
    processed = {}
    with process:
        process.stdout.read(len(pad))  # a buffered read of n bytes returns n unless the stream ends
        for key, clip in clips.items():
            processed[key] = Clip(process.stdout.read(len(clip.samples)), clip.rate)
            process.stdout.read(len(pad))
        process.stdout.read()
        writer.join()
        error = process.stderr.read().decode(errors="replace").strip()
    if process.returncode != 0 or any(len(c.samples) != len(clips[k].samples) for k, c in processed.items()):
        raise EncoderError(f"ffmpeg could not set the loudness: {error or f'exit status {process.returncode}'}")
    return processed


def level(
    script: Script,
    clips: Mapping[str, Clip],
    chimes: Mapping[str, Clip],
    ids: Mapping[str, ClipId],
    rate: int,
    target_lufs: float,
    fmt: str,
    memo: PhraseCache | None = None,
    bed: MusicBed | None = None,
) -> tuple[dict[str, Clip], dict[str, Clip]]:
    """The clips and chimes with the gain and limiter that bring the routine to ``target_lufs``,
    the music ``bed`` under them counted (its own level is fixed by the target).

    ``ids`` names each clip's sound (as the phrase cache does); the peak ceiling
    depends on the format ``fmt`` the audio will be encoded to.

    The limiter takes loudness off the peaks, so the result is measured again
    and, while it is off by more than 0.2 LU, the gain corrected (at most
    CORRECTIONS times: a loud target against the peak ceiling needs more than one).
    The gain found is kept in ``memo`` under a digest of everything audible (which
    sound plays after how much silence), and the leveled clips under their sounds
    and that gain, so a rebuild that sounds the same (new rest times, another
    format of the same ceiling) finds them with ``kept_levels``.
    """
    ceiling = PEAK_CEILING_DBFS.get(fmt, DEFAULT_CEILING_DBFS)
    key, every_id = _memo_key(script, ids, chimes, rate, target_lufs, ceiling, bed)
    known = memo.get_note(key) if memo else None
    if known == "silent":
        return dict(clips), dict(chimes)
    gain = _gain(known)
    kept = _kept(every_id, gain, ceiling, memo)
    if kept:
        return _split(kept)
    every = _every(clips, chimes)
    if gain is not None:
        done = _leveled(every, gain, ceiling, target_lufs, rate)
    else:
        measured = measure_lufs(script, clips, chimes, rate, bed)
        if measured is None:
            if memo:
                memo.put_note(key, "silent")
            return dict(clips), dict(chimes)
        gain = target_lufs - measured
        done = _leveled(every, gain, ceiling, target_lufs, rate)
        for _ in range(CORRECTIONS):
            result = measure_lufs(script, *_split(done), rate, bed)
            if result is None or abs(result - target_lufs) <= 0.2:
                break
            gain += target_lufs - result
            del done  # one leveled copy at a time: long routines hold many clips
            done = _leveled(every, gain, ceiling, target_lufs, rate)
        if memo:
            memo.put_note(key, f"{gain:.4f}")
    if memo:
        for name, clip in done.items():
            memo.put(_leveled_key(every_id[name], gain, ceiling), clip)
    return _split(done)


def _leveled(every: dict, gain_db: float, ceiling_dbfs: float, target_lufs: float, rate: int) -> dict:
    """Every sound with the gain and the limiter; then each chime no louder than the voice
    (the target), and within the true-peak ceiling."""
    done = _process(every, _filters(gain_db, ceiling_dbfs), rate)
    for name, clip in done.items():
        if name[0] == "chime":
            quieter = _at_most(clip, target_lufs)
            done[name] = _within_true_peak(quieter, ceiling_dbfs + TRUE_PEAK_ALLOWANCE_DB)
    return done


def _at_most(clip: Clip, loudest_lufs: float) -> Clip:
    """The chime turned down, if its loudest 400 ms would be louder than ``loudest_lufs``.

    A chime marks a hold gently: one of the user's, even a burst of noise, never sounds
    louder than the voice (the built-in ones peak about a decibel under it).
    """
    from .meter import STEP_MS, STEPS_PER_BLOCK, loudest_block_lufs, step_energies

    frames = max(clip.frames, clip.rate * STEP_MS * STEPS_PER_BLOCK // 1000)
    loudest = loudest_block_lufs(step_energies([(clip.samples, [0])], frames, clip.rate), frames, clip.rate)
    return _turned_down(clip, loudest - loudest_lufs) if loudest is not None else clip


def true_peak_dbfs(clip: Clip) -> float:
    """The clip's true peak: its highest level between samples too, seen at four times its rate."""
    import numpy as np
    import soxr

    samples = np.frombuffer(clip.samples, dtype="<i2").astype(np.float32) / 32768
    if not len(samples):
        return -math.inf
    oversampled = soxr.resample(samples, clip.rate, clip.rate * 4, quality="HQ")
    return 20 * math.log10(max(float(np.max(np.abs(oversampled))), 1e-9))


def _within_true_peak(clip: Clip, ceiling_dbfs: float) -> Clip:
    """The clip turned down just enough that its true peak is at most ``ceiling_dbfs``.

    The limiter sees only samples. Speech through it peaks at most 0.4 dB higher between
    samples (measured on espeak and Piper), but a chime can hold far more (a clipped noise
    burst: 5 dB), which the encoders then carry past -1 dBTP.
    """
    return _turned_down(clip, true_peak_dbfs(clip) - ceiling_dbfs)


def _turned_down(clip: Clip, by_db: float) -> Clip:
    """The clip ``by_db`` quieter, or as it is when that is not above 0."""
    if by_db <= 0:
        return clip
    import numpy as np

    samples = np.frombuffer(clip.samples, dtype="<i2") * 10 ** (-by_db / 20)
    return Clip(np.round(samples).astype("<i2").tobytes(), clip.rate)


def kept_levels(
    script: Script,
    ids: Mapping[str, ClipId],
    chimes: Mapping[str, Clip],
    rate: int,
    target_lufs: float,
    fmt: str,
    memo: PhraseCache,
    bed: MusicBed | None = None,
) -> tuple[dict[str, Clip], dict[str, Clip]] | None:
    """What ``level`` gave an earlier build that sounds the same, found by the clips' ids alone; None if not all kept."""
    ceiling = PEAK_CEILING_DBFS.get(fmt, DEFAULT_CEILING_DBFS)
    key, every_id = _memo_key(script, ids, chimes, rate, target_lufs, ceiling, bed)
    kept = _kept(every_id, _gain(memo.get_note(key)), ceiling, memo)
    return _split(kept) if kept else None


def _memo_key(
    script: Script,
    ids: Mapping[str, ClipId],
    chimes: Mapping[str, Clip],
    rate: int,
    target_lufs: float,
    ceiling_dbfs: float,
    bed: MusicBed | None = None,
) -> tuple[str, dict[tuple[str, str], ClipId]]:
    """Where the gain is kept (a digest of which sound plays after how much silence, and of the
    music under it all), and every sound's id."""
    chime_ids = {name: ClipId(hashlib.sha256(clip.samples).hexdigest(), clip.frames, clip.rate) for name, clip in chimes.items()}
    music = bed.music.signature(script) if bed else "none"
    digest = hashlib.sha256(f"{LEVELING} rate={rate} target={target_lufs} ceiling={ceiling_dbfs} music={music}\n".encode())
    for silence_ms, clip_id in _gaps(script, ids, chime_ids):
        digest.update(f"{silence_ms} {clip_id.digest}\n".encode())
    return digest.hexdigest(), _every(ids, chime_ids)


def _every(speech: Mapping[str, C], chimes: Mapping[str, C]) -> dict[tuple[str, str], C]:
    return {**{("speech", k): v for k, v in speech.items()}, **{("chime", k): v for k, v in chimes.items()}}


def _split(every: dict) -> tuple[dict, dict]:
    return tuple({k: v for (kind, k), v in every.items() if kind == wanted} for wanted in ("speech", "chime"))


def _gain(note: str | None) -> float | None:
    return float(note) if note and re.fullmatch(r"-?\d+\.\d+", note) else None


def _leveled_key(clip_id: ClipId, gain_db: float, ceiling_dbfs: float) -> str:
    return hashlib.sha256(f"{LEVELING} gain={gain_db:.4f} ceiling={ceiling_dbfs} rate={clip_id.rate} {clip_id.digest}".encode()).hexdigest()


def _kept(every_id: dict, gain_db: float | None, ceiling_dbfs: float, memo: PhraseCache | None) -> dict | None:
    """Every clip leveled with this gain and ceiling by an earlier build, or None unless all were kept whole."""
    if memo is None or gain_db is None:
        return None
    kept = {}
    for name, clip_id in every_id.items():
        clip = memo.get(_leveled_key(clip_id, gain_db, ceiling_dbfs))
        if clip is None or (clip.rate, clip.frames) != (clip_id.rate, clip_id.frames):
            return None
        kept[name] = clip
    return kept
