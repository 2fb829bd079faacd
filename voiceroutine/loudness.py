"""Loudness: measure what the listener will hear and set the gain that brings it to the target.

Phones expect spoken word at about -16 LUFS with true peaks at most -1 dBTP.
Silence does not count in integrated loudness (EBU R128 gating), so the sounds
are measured with the silence between them cut to one second: every 400 ms
gating block that touches a sound is the same as in the full timeline, so the
figure is the same, in a fraction of the time for routines that are mostly holds. A lookahead limiter (with its
delay compensated, so timing is untouched) keeps the peaks down after the gain.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping

from .cache import PhraseCache
from .clips import Clip, ClipId
from . import ffmpeg
from .errors import EncoderError
from .ffmpeg import feed
from .render import C, sounds
from .script import Script

# Sample-peak ceilings, so that with each encoder's overshoot the true peak of the encoded file stays
# at -2 dBTP or below. Overshoot measured on speech and chimes: AAC (64 kbps and up) 0.8 to 1.8 dB,
# Opus 0.6 to 1.1 dB, MP3 up to 1 dB at 32 kbps.
PEAK_CEILING_DBFS = {"m4b": -4.5, "opus": -3.5}
DEFAULT_CEILING_DBFS = -3.0  # MP3 and WAV
PAD_MS = 200  # silence between clips while they are leveled: longer than the limiter's release
LEVELING = "ebur128-dualmono volume alimiter-latency"  # change when the leveling changes, so kept gains are not reused

_INTEGRATED = re.compile(r"I:\s+(-?[\d.]+|-inf|nan) LUFS")


def _gaps(script: Script, clips: Mapping[str, C], chimes: Mapping[str, C]) -> Iterator[tuple[int, C]]:
    """Every speech and chime of the script in time order, with the silence before it cut to at most a second."""
    heard_until = 0
    for event, clip in sounds(script, clips, chimes):
        yield min(max(event.start_ms - heard_until, 0), 1000), clip
        heard_until = max(heard_until, event.start_ms + clip.duration_ms)


def audible(script: Script, clips: Mapping[str, Clip], chimes: Mapping[str, Clip], rate: int) -> Iterator[bytes]:
    """What loudness is measured on: every sound of the script with at most a second of silence before each."""
    for silence_ms, clip in _gaps(script, clips, chimes):
        yield bytes(silence_ms * rate // 1000 * 2)
        yield clip.samples


def measure_lufs(blocks: Iterable[bytes], rate: int, filters: Iterable[str] = ()) -> float | None:
    """Integrated loudness of mono PCM, after ``filters``, as heard on headphones (dual mono); None for silence."""
    command = [
        "ffmpeg", "-hide_banner", "-nostats", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
        "-af", ",".join([*filters, "ebur128=dualmono=true:framelog=verbose"]), "-f", "null", "-",
    ]  # fmt: skip
    process = ffmpeg.start(command, stderr=subprocess.PIPE)
    with process:
        feed(process, blocks)
        report = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise EncoderError(f"ffmpeg could not measure loudness: {report.strip().splitlines()[-1:]}")
    found = _INTEGRATED.findall(report)
    value = float(found[-1]) if found else float("nan")
    return value if value > -70 else None


def _filters(gain_db: float, ceiling_dbfs: float) -> list[str]:
    ceiling = 10 ** (ceiling_dbfs / 20)
    return [f"volume={gain_db:.2f}dB", f"alimiter=limit={ceiling:.4f}:level=false:latency=true"]


def _process(clips: dict[str, Clip], filters: list[str], rate: int) -> dict[str, Clip]:
    """Every clip through ``filters`` in one ffmpeg run, each padded with silence so none affects the next."""
    pad = bytes(PAD_MS * rate // 1000 * 2)
    stream = pad + pad.join(clip.samples for clip in clips.values()) + pad
    command = [
        "ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
        "-af", ",".join(filters), "-f", "s16le", "-",
    ]  # fmt: skip
    try:
        out = subprocess.run(command, input=stream, capture_output=True, check=True).stdout
    except FileNotFoundError:
        raise EncoderError(ffmpeg.MISSING) from None
    except subprocess.CalledProcessError as e:
        raise EncoderError(f"ffmpeg could not set the loudness: {e.stderr.decode(errors='replace').strip()}") from None
    processed, offset = {}, len(pad)
    for key, clip in clips.items():
        processed[key] = Clip(out[offset : offset + len(clip.samples)], clip.rate)
        offset += len(clip.samples) + len(pad)
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
) -> tuple[dict[str, Clip], dict[str, Clip]]:
    """The clips and chimes with the gain and limiter that bring the routine to ``target_lufs``.

    ``ids`` names each clip's sound (as the phrase cache does); the peak ceiling
    depends on the format ``fmt`` the audio will be encoded to.

    The limiter takes a little loudness off the peaks, so the result is measured
    once more and, if it is off by more than 0.2 LU, the gain corrected once.
    The gain found is kept in ``memo`` under a digest of everything audible (which
    sound plays after how much silence), and the leveled clips under their sounds
    and that gain, so a rebuild that sounds the same (new rest times, another
    format of the same ceiling) finds them with ``kept_levels``.
    """
    ceiling = PEAK_CEILING_DBFS.get(fmt, DEFAULT_CEILING_DBFS)
    key, every_id = _memo_key(script, ids, chimes, rate, target_lufs, ceiling)
    known = memo.get_note(key) if memo else None
    if known == "silent":
        return dict(clips), dict(chimes)
    gain = _gain(known)
    kept = _kept(every_id, gain, ceiling, memo)
    if kept:
        return _split(kept)
    every = _every(clips, chimes)
    if gain is not None:
        done = _process(every, _filters(gain, ceiling), rate)
    else:
        measured = measure_lufs(audible(script, clips, chimes, rate), rate)
        if measured is None:
            if memo:
                memo.put_note(key, "silent")
            return dict(clips), dict(chimes)
        gain = target_lufs - measured
        done = _process(every, _filters(gain, ceiling), rate)
        result = measure_lufs(audible(script, *_split(done), rate), rate)
        if result is not None and abs(result - target_lufs) > 0.2:
            gain += target_lufs - result
            done = _process(every, _filters(gain, ceiling), rate)
        if memo:
            memo.put_note(key, f"{gain:.4f}")
    if memo:
        for name, clip in done.items():
            memo.put(_leveled_key(every_id[name], gain, ceiling), clip)
    return _split(done)


def kept_levels(
    script: Script,
    ids: Mapping[str, ClipId],
    chimes: Mapping[str, Clip],
    rate: int,
    target_lufs: float,
    fmt: str,
    memo: PhraseCache,
) -> tuple[dict[str, Clip], dict[str, Clip]] | None:
    """What ``level`` gave an earlier build that sounds the same, found by the clips' ids alone; None if not all kept."""
    ceiling = PEAK_CEILING_DBFS.get(fmt, DEFAULT_CEILING_DBFS)
    key, every_id = _memo_key(script, ids, chimes, rate, target_lufs, ceiling)
    kept = _kept(every_id, _gain(memo.get_note(key)), ceiling, memo)
    return _split(kept) if kept else None


def _memo_key(
    script: Script, ids: Mapping[str, ClipId], chimes: Mapping[str, Clip], rate: int, target_lufs: float, ceiling_dbfs: float
) -> tuple[str, dict[tuple[str, str], ClipId]]:
    """Where the gain is kept (a digest of which sound plays after how much silence), and every sound's id."""
    chime_ids = {name: ClipId(hashlib.sha256(clip.samples).hexdigest(), clip.frames, clip.rate) for name, clip in chimes.items()}
    digest = hashlib.sha256(f"{LEVELING} rate={rate} target={target_lufs} ceiling={ceiling_dbfs}\n".encode())
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
