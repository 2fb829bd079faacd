"""Music under the voice: the user's track, looped, faded, and ducked exactly where the coach speaks.

The track is decoded once by ffmpeg to mono PCM at the project rate and kept in
the phrase cache by its content, with its loudness (meter.py), so a rebuild
neither decodes nor measures it again. In the holds it sits ``level`` LU under
the voice (the loudness target). Ducking comes from the script, not from
listening to the voice: under every speech and chime the music is DUCK_DB
lower, reached by a ramp that ends as the sound starts and left by a ramp that
begins as it ends, so no word meets the music at full level and nothing swells
late. A track shorter than the routine loops with a crossfade; the whole bed
fades in at the start and out at the end.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .cache import PhraseCache
from .clips import Clip
from .errors import RoutineError
from .files import file_sha256
from .meter import DUAL_MONO_DB
from .render import total_frames
from .script import Chime, Script, Speech

DUCK_DB = 14.0  # how much lower the music is under speech and chimes
RAMP_MS = 300  # the ducking ramps, done before a sound starts and begun after it ends
CROSSFADE_MS = 2_000  # where a short track meets its own start again
FADE_MS = 3_000  # the bed fades in at the start of the routine and out at its end
MAX_MUSIC_S = 600  # a longer track is cut here (and loops like a short one): ten minutes hold 53 MB
MUSIC_PROCESSING = "ffmpeg-mono-s16"  # change when decoding changes, so cached tracks are not reused


@dataclass(frozen=True)
class Music:
    """A track ready to lay under a routine."""

    name: str  # the file's name, for the manifest
    digest: str  # sha256 of the file's bytes
    samples: object  # numpy int16 array at the project rate
    rate: int
    gain_db: float  # brings the track to its level in the holds
    level_lu: float
    lufs: float  # the track's own loudness, measured once

    def to_dict(self) -> dict:
        return {"file": self.name, "sha256": self.digest, "level_lu": self.level_lu, "duck_db": DUCK_DB}

    def signature(self, script: Script) -> str:
        """What the bed under ``script`` depends on: the track, its level and every sound's place."""
        places = ";".join(f"{e.start_ms}-{e.end_ms}" for e in script.events if isinstance(e, (Speech, Chime)))
        return hashlib.sha256(f"{self.digest} {self.gain_db:.4f} {script.duration_ms} {places}".encode()).hexdigest()


def load_music(path: Path, rate: int, target_lufs: float, level_lu: float, cache: PhraseCache) -> Music:
    """The track at ``path``, decoded (or found in the cache) and measured.

    Raises:
        RoutineError (--music): ffmpeg cannot read audio from it, or it is silent.
    """
    import numpy as np

    from .meter import integrated_lufs
    from .user_audio import decode

    digest = file_sha256(path)
    key = hashlib.sha256(f"music {digest} rate={rate} max={MAX_MUSIC_S} {MUSIC_PROCESSING}".encode()).hexdigest()
    clip = cache.get(key)
    if clip is None or clip.rate != rate:
        try:
            clip = Clip(decode(path, rate, MAX_MUSIC_S), rate)
        except ValueError as e:
            raise RoutineError(f"{path}: {e}", source="--music") from None
        cache.put(key, clip)
    loudness_key = hashlib.sha256(f"{key} loudness".encode()).hexdigest()
    note = cache.get_note(loudness_key)
    if note is None:
        # Measured over one gating block at least: a track shorter than that is still heard.
        measured = integrated_lufs([(clip.samples, [0])], max(clip.frames, rate * 4 // 10), rate) if clip.frames else None
        note = "silent" if measured is None else f"{measured:.4f}"
        cache.put_note(loudness_key, note)
    lufs = None if note == "silent" else float(note)  # as kept, so a rebuild sets the same gain
    if lufs is None:
        raise RoutineError(f"{path}: the music is silent (or has no audio ffmpeg reads)", source="--music")
    samples = np.frombuffer(clip.samples, dtype="<i2")
    return Music(path.name, digest, samples, rate, target_lufs + level_lu - lufs, level_lu, lufs)


def _sounds(script: Script, rate: int) -> list[tuple[int, int]]:
    """Where speech and chimes sound, in frames, in time order."""
    spans = [(e.start_ms, e.end_ms) for e in script.events if isinstance(e, (Speech, Chime))]
    return [(start * rate // 1000, end * rate // 1000) for start, end in sorted(spans)]


class MusicBed:
    """The music of one routine, made block by block: any stretch of frames, on demand."""

    def __init__(self, music: Music, script: Script) -> None:
        self.music = music
        rate = music.rate  # the routine's: the track is decoded at it
        self.total = total_frames(script, rate)
        self.ramp = RAMP_MS * rate // 1000
        self.fade = min(FADE_MS * rate // 1000, self.total // 2)
        self.crossfade = min(CROSSFADE_MS * rate // 1000, len(music.samples) // 4)
        self.period = len(music.samples) - self.crossfade
        self.sounds = _sounds(script, rate)
        self.longest = max((end - start for start, end in self.sounds), default=0)

    def under(self, blocks: Iterable[bytes], start_frame: int) -> Iterator[bytes]:
        """The blocks of 16-bit PCM with the bed mixed under them; the first begins at ``start_frame``."""
        import numpy as np

        position = start_frame
        for block in blocks:
            frames = len(block) // 2
            mixed = np.frombuffer(block, dtype="<i2").astype(np.float32) + self.block(position, position + frames)
            yield np.clip(np.rint(mixed), -32768, 32767).astype("<i2").tobytes()
            position += frames

    def block(self, start: int, end: int):
        """The bed for frames [start, end), as float32 samples at full 16-bit scale."""
        import numpy as np

        return self._looped(start, end) * self._gain(np.arange(start, end), start, end)

    def step_energies(self, steps: int, step_frames: int):
        """The bed's K-weighted energy in each of ``steps`` steps of ``step_frames``, for the routine's
        loudness: the track's mean power at its measured loudness, times the bed's gain there
        (sampled eight times a step). A steady bed is what a track under a routine is."""
        import numpy as np

        power = 10 ** ((self.music.lufs + 0.691 - DUAL_MONO_DB) / 10)
        points = np.arange(steps * 8) * (step_frames // 8) + step_frames // 16
        gains = np.concatenate([self._gain(chunk, int(chunk[0]), int(chunk[-1]) + 1) for chunk in np.array_split(points, max(1, len(points) // 65536))])
        return (gains**2).reshape(steps, 8).mean(axis=1) * power * step_frames

    def _looped(self, start: int, end: int):
        """The track for frames [start, end), round and round: whole runs of it copied at once, and
        each time round after the first, its start fading in over its own end."""
        import numpy as np

        samples, out = self.music.samples, np.zeros(end - start, dtype=np.float32)
        if self.period <= 0:
            return out
        position = start
        while position < end:
            turn, offset = divmod(position, self.period)
            count = min(end - position, self.period - offset)
            at = position - start
            out[at : at + count] = samples[offset : offset + count]
            joined = min(count, self.crossfade - offset) if turn > 0 else 0
            if joined > 0:
                angle = np.arange(offset, offset + joined) / self.crossfade * (math.pi / 2)
                ending = samples[self.period + offset : self.period + offset + joined]
                out[at : at + joined] = samples[offset : offset + joined] * np.sin(angle) + ending * np.cos(angle)
            position += count
        return out

    def _gain(self, frames, start: int, end: int):
        """The bed's gain for each of ``frames`` (within [start, end)): the track's level, ducked
        around each sound, faded at the ends. Only where a sound's ducking reaches is any worked out."""
        import numpy as np

        hold = 10 ** (self.music.gain_db / 20)
        gain = np.full(len(frames), hold, dtype=np.float32)
        for sound_start, sound_end in self._near(start, end):
            lo, hi = np.searchsorted(frames, (sound_start - self.ramp, sound_end + self.ramp))
            if lo == hi:
                continue
            near = frames[lo:hi]
            down = np.clip((near - (sound_start - self.ramp)) / self.ramp, 0, 1)
            up = np.clip(((sound_end + self.ramp) - near) / self.ramp, 0, 1)
            duck = (1 - np.cos(np.minimum(down, up) * math.pi)) / 2  # raised cosine: no corners
            np.minimum(gain[lo:hi], hold * 10 ** (-DUCK_DB * duck / 20), out=gain[lo:hi])
        if start < self.fade or end > self.total - self.fade:
            fade = np.clip(np.minimum(frames / max(self.fade, 1), (self.total - frames) / max(self.fade, 1)), 0, 1)
            gain *= np.sin(fade * math.pi / 2)
        return gain

    def _near(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """The sounds whose ducking (ramps included) reaches into [start, end)."""
        import bisect

        first = bisect.bisect_left(self.sounds, (start - 2 * self.ramp - self.longest,))
        for sound_start, sound_end in self.sounds[first:]:
            if sound_start - self.ramp >= end:
                break
            if sound_end + self.ramp > start:
                yield sound_start, sound_end
