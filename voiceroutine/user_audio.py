"""Audio files the user names (chimes, music): checked to be there, and decoded by ffmpeg from
any format it reads (WAV, MP3, OGG, M4A, FLAC...)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from stat import S_ISREG

from .errors import EncoderError
from .ffmpeg import MISSING

KINDS = "WAV, MP3, OGG, M4A, FLAC..."


def audio_path(value: object) -> tuple[Path, os.stat_result]:
    """The file a setting names, and its state; ValueError (in a user's words) when there is none."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected the path of an audio file ({KINDS})")
    path = Path(value).expanduser()
    try:
        state = path.stat()
    except FileNotFoundError:
        raise ValueError(f"{value}: file not found") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        raise ValueError(f"{value}: cannot read the file ({getattr(e, 'strerror', None) or e})") from None
    if not S_ISREG(state.st_mode):
        raise ValueError(f"{value}: not a file; expected an audio file")
    return path, state


def decode(path: Path, rate: int, max_seconds: float) -> bytes:
    """The file's first audio stream as mono 16-bit PCM at ``rate``, at most ``max_seconds`` of it.

    Raises:
        ValueError: ffmpeg cannot read audio from the file (the reason in ffmpeg's words).
        EncoderError: ffmpeg is not installed.
    """
    command = [
        "ffmpeg", "-v", "error", "-nostdin", "-i", f"file:{path}", "-map", "0:a:0",
        "-t", f"{max_seconds}", "-f", "s16le", "-ac", "1", "-ar", str(rate), "-",
    ]  # fmt: skip  (file: so that no name is taken for another of ffmpeg's protocols)
    try:
        return subprocess.run(command, capture_output=True, check=True).stdout
    except FileNotFoundError:
        raise EncoderError(MISSING) from None
    except subprocess.CalledProcessError as e:
        said = e.stderr.decode(errors="replace").strip().splitlines()
        if any("matches no streams" in line for line in said):  # a picture, a text, a video with no sound
            raise ValueError("it holds no audio") from None
        reason = said[-1].removeprefix(f"file:{path}: ") if said else f"ffmpeg exited with status {e.returncode}"
        raise ValueError(f"ffmpeg cannot read audio from it ({reason})") from None
