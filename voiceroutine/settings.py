"""Effective settings: built-in defaults < the routine file's [settings] < command-line options.

Every setting has one check, used for routine files and options alike; the
caller says where a bad value came from (a field path or an option name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .checks import duration_in, durations_in, flag, number_in, one_of, text, whole_number_in
from .engines import ENGINES
from .cover import check_cover_file
from .user_audio import audio_path
from .sounds import CHIME_SETS, check_chime_file

DEFAULT_OUT_DIR = Path("out")  # where builds go unless -o says otherwise
FORMATS = ("mp3", "m4b", "opus", "wav")
AMBIENCE = ("none", "noise")
MUSIC_LEVEL_RANGE_LU = (-30.0, -12.0)  # louder music would start to count in the routine's loudness
LOUDNESS_RANGE = (-30.0, -14.0)  # louder would press the voice against the peak ceiling (true peak -1 dBTP)
RATE_RANGE = (100, 400)  # words heard a minute; espeak speaks no slower than about 95
BITRATES_KBPS = (32, 48, 64, 96, 128, 160, 192)
GUIDANCE_LEVELS = ("minimal", "standard", "full")
HOLD_CUE_RANGE_MS = (1_000, 600_000)
BREATHE_RANGE_MS = (5_000, 300_000)
FADE_RANGE_MS = (0, 30_000)
LENGTH_RANGE_MS = (60_000, 6 * 3_600_000)


@dataclass(frozen=True)
class Pacing:
    """Fixed silences of the timeline, in milliseconds."""

    lead_in_ms: int = 500  # before the first word, so players don't clip it
    gap_ms: int = 700  # after each phrase, unless a longer pause follows
    step_pause_ms: int = 2500  # after each instruction, time to do it
    after_chime_ms: int = 300  # after the end chime fades, before "Release."
    tail_ms: int = 2000  # after the last word


@dataclass(frozen=True)
class Pace:
    rate: int  # words a minute
    pacing: Pacing


# Calm suits bed: slower speech and more time after each instruction.
PACES = {
    "calm": Pace(130, Pacing(gap_ms=900, step_pause_ms=3500, after_chime_ms=500)),
    "normal": Pace(150, Pacing()),
    "brisk": Pace(170, Pacing(gap_ms=500, step_pause_ms=1500, after_chime_ms=200)),
}


@dataclass(frozen=True)
class Settings:
    """How a routine is voiced, guided and encoded (what is in it is the Routine)."""

    engine: str = "pyttsx3"
    voice: str | None = None  # None: the engine's default voice
    pace: str = "calm"
    rate: int = PACES["calm"].rate
    pacing: Pacing = field(default_factory=lambda: PACES["calm"].pacing)
    guidance: str = "standard"
    time_left_ms: tuple[int, ...] = (10_000,)  # "... seconds left" this long before each hold ends
    breathe_every_ms: int = 15_000  # breathing prompts, with full guidance
    chimes: str = "soft"
    start_chime: str | None = None  # a WAV file in place of the chime set's
    end_chime: str | None = None
    fade_ms: int = 0  # fade the whole file in and out
    length_ms: int | None = None  # scale the holds so the routine lasts this long
    loudness_lufs: float = -16.0  # integrated, as heard on headphones; spoken word on phones
    ambient: str = "none"  # "noise": soft brown noise under everything
    music: str | None = None  # an audio file laid under the routine, ducked under speech and chimes
    music_level_lu: float = -20.0  # the music in the holds, relative to the voice: well under it
    cover: str | None = None  # an image for the lock screen; None: made from the title
    format: str = "mp3"
    bitrate_kbps: int = 64
    sample_rate: int = 44_100
    split: bool = False  # also one file per chapter, and a playlist
    sidecars: bool = True  # .lrc and .vtt transcripts beside the audio

    def to_dict(self) -> dict:
        return asdict(self)


Check = Callable[[Any], Any]

# Setting name as users write it -> (Settings field, check).
SETTINGS: dict[str, tuple[str, Check]] = {
    "engine": ("engine", lambda v: one_of(v, tuple(ENGINES))),
    "voice": ("voice", lambda v: text(v, 100)),
    "pace": ("pace", lambda v: one_of(v, tuple(PACES))),
    "rate": ("rate", lambda v: whole_number_in(v, RATE_RANGE)),
    "guidance": ("guidance", lambda v: one_of(v, GUIDANCE_LEVELS)),
    "time_left": ("time_left_ms", lambda v: durations_in(v, HOLD_CUE_RANGE_MS)),
    "breathe_every": ("breathe_every_ms", lambda v: duration_in(v, BREATHE_RANGE_MS)),
    "chimes": ("chimes", lambda v: one_of(v, CHIME_SETS)),
    "start_chime": ("start_chime", check_chime_file),
    "end_chime": ("end_chime", check_chime_file),
    "fade": ("fade_ms", lambda v: duration_in(v, FADE_RANGE_MS)),
    "length": ("length_ms", lambda v: duration_in(v, LENGTH_RANGE_MS)),
    "loudness": ("loudness_lufs", lambda v: number_in(v, LOUDNESS_RANGE)),
    "ambient": ("ambient", lambda v: one_of(v, AMBIENCE)),
    "music": ("music", lambda v: str(audio_path(v)[0])),
    "music_level": ("music_level_lu", lambda v: number_in(v, MUSIC_LEVEL_RANGE_LU)),
    "cover": ("cover", check_cover_file),
    "format": ("format", lambda v: one_of(v, FORMATS)),
    "bitrate": ("bitrate_kbps", lambda v: int(one_of(str(v), tuple(map(str, BITRATES_KBPS))))),
    "split": ("split", flag),
    "sidecars": ("sidecars", flag),
}
# A routine file may carry these; which files to write is chosen where they are written.
FILE_SETTINGS = tuple(name for name in SETTINGS if name not in ("format", "bitrate", "split", "sidecars"))


def check_setting(name: str, value: object) -> tuple[str, Any]:
    """Check one setting; return its Settings field and value. ValueError says what is wrong."""
    field_name, check = SETTINGS[name]
    return field_name, check(value)


def resolve_settings(*layers: Mapping[str, Any]) -> Settings:
    """Merge checked settings (Settings field -> value), later layers winning.

    The pace sets the speech rate and pauses together; a rate given in any
    layer wins over the pace's rate.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({name: value for name, value in layer.items() if value is not None})
    pace = PACES[merged.get("pace", Settings.pace)]
    merged.setdefault("rate", pace.rate)
    return Settings(pacing=pace.pacing, **merged)
