"""Export: encode PCM with ffmpeg and write the manifest, each atomically.

Every file is written under a temporary name in its own folder and renamed into
place, so a failed or interrupted build never leaves half a file and never
damages the previous one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import EncoderError, RoutineError
from .routine import Routine
from .script import Script
from .settings import FORMATS, Settings

MANIFEST_FORMAT = "voiceroutine-manifest/1"
DEFAULT_OUT_DIR = Path("out")

FFMPEG_MISSING = (
    "ffmpeg was not found: install it with `sudo apt-get install ffmpeg` "
    "(voiceroutine encodes audio with it); ./scripts/run does this for you"
)


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def resolve_output(output: str | None, fmt: str | None, routine_id: str) -> tuple[Path, str]:
    """Where the audio goes and in which format, from ``-o`` and ``--format``.

    ``-o`` may name a file (its extension picks the format) or an existing
    folder; without it the file is ``out/<routine id>.<format>``.
    """
    if fmt is not None and fmt not in FORMATS:
        raise RoutineError(f"expected one of {', '.join(FORMATS)}, got {fmt!r}", source="--format")
    if output is None or Path(output).is_dir() or output.endswith(("/", os.sep)):
        folder = DEFAULT_OUT_DIR if output is None else Path(output)
        fmt = fmt or FORMATS[0]
        return folder / f"{routine_id}.{fmt}", fmt
    path = Path(output)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise RoutineError(f"the file name must end in {' or '.join('.' + f for f in FORMATS)}, got {output!r}", source="--output")
    if fmt is not None and fmt != suffix:
        raise RoutineError(f"{output!r} does not match --format {fmt}", source="--output")
    return path, suffix


def manifest_path(audio_path: Path) -> Path:
    return audio_path.with_suffix(".json")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, _FILE_MODE)  # mkstemp makes files private; outputs are ordinary files
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def fade_filter(fade_ms: int, total_frames: int, rate: int) -> list[str]:
    """ffmpeg arguments that fade the whole file in and out over ``fade_ms`` (none for 0)."""
    if not fade_ms:
        return []
    fade = fade_ms / 1000
    out_start = total_frames / rate - fade
    return ["-af", f"afade=t=in:st=0:d={fade},afade=t=out:st={out_start:.3f}:d={fade}"]


def ffmpeg_command(fmt: str, rate: int, bitrate_kbps: int, tags: dict[str, str], out: Path, filters: list[str]) -> list[str]:
    """The ffmpeg call that reads raw mono PCM on stdin and writes ``out``."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0", *filters]
    if fmt == "mp3":
        # Constant bit rate seeks exactly on phones; ID3v2.3 is read by more players than 2.4.
        # The LAME header ffmpeg writes lets decoders remove the encoder delay and padding.
        command += ["-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-id3v2_version", "3"]
    else:
        command += ["-c:a", "pcm_s16le"]
    for key, value in tags.items():
        command += ["-metadata", f"{key}={value}"]
    return command + ["-f", fmt, str(out)]


def encode(
    blocks: Iterable[bytes],
    dest: Path,
    *,
    fmt: str,
    rate: int,
    bitrate_kbps: int,
    tags: dict[str, str],
    total_frames: int,
    fade_ms: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Stream PCM blocks through ffmpeg into ``dest``, atomically."""
    if shutil.which("ffmpeg") is None:
        raise EncoderError(FFMPEG_MISSING)
    with atomic_path(dest) as tmp, tempfile.TemporaryFile() as ffmpeg_log:
        process = subprocess.Popen(
            ffmpeg_command(fmt, rate, bitrate_kbps, tags, tmp, fade_filter(fade_ms, total_frames, rate)),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=ffmpeg_log,
        )
        done = 0
        try:
            for block in blocks:
                process.stdin.write(block)
                done += len(block) // 2
                if progress:
                    progress("Encoding", done, total_frames)
        except BrokenPipeError:
            pass  # ffmpeg stopped early; its exit status and message say why
        except BaseException:
            process.kill()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            returncode = process.wait()
        if returncode != 0:
            ffmpeg_log.seek(0)
            detail = ffmpeg_log.read().decode(errors="replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit status {returncode}"
            raise EncoderError(f"ffmpeg could not write {dest}: {reason}")


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def make_manifest(routine: Routine, settings: Settings, script: Script, audio_path: Path) -> dict:
    """The project's own record of what is in the audio; times in ms from its first sample."""
    return {
        "format": MANIFEST_FORMAT,
        "routine": {
            "id": routine.id,
            "title": routine.title,
            "stretches": [
                {"id": s.id, "name": s.name, "hold_ms": s.hold_ms, "sides": s.sides, "reps": s.reps}
                for s in routine.stretches
            ],
        },
        "audio": {
            "file": audio_path.name,
            "format": settings.format,
            "sample_rate": settings.sample_rate,
            "channels": 1,
            "duration_ms": script.duration_ms,
        },
        "settings": settings.to_dict(),
        "events": [event.to_dict() for event in script.events],
        "chapters": [chapter.to_dict() for chapter in script.chapters],
        "dropped_cues": [cue.to_dict() for cue in script.dropped],
    }
