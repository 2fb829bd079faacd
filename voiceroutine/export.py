"""Export: encode PCM with ffmpeg into each format, and write the manifest and playlists.

Audio is streamed into ffmpeg as it is rendered. One filter graph does the
whole-file work: the optional ambient bed and fades. Every file is written
atomically (files.py).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import signal
import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import ffmpeg
from .errors import EncoderError, RoutineError
from .ffmpeg import feed
from .files import atomic_path
from .names import slug
from .routine import Routine
from .script import Chapter, Script
from .settings import DEFAULT_OUT_DIR, FORMATS, Settings

MANIFEST_FORMAT = "voiceroutine-manifest/1"
PIPE_QUEUE_PACKETS = 512
MIN_AAC_KBPS = 64
AMBIENT_AMPLITUDE = 0.02  # brown noise far under the voice: about 35 LU quieter
_BESIDE_THE_AUDIO = ("split", "sidecars")  # settings that add files, not sound


def output_rate(fmt: str, rate: int) -> int:
    """The decoded sample rate of a format: Opus always runs at 48 kHz."""
    return 48_000 if fmt == "opus" else rate


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
        endings = ", ".join("." + f for f in FORMATS)
        raise RoutineError(f"the file name must end in one of {endings}, got {output!r}", source="--output")
    if fmt is not None and fmt != suffix:
        raise RoutineError(f"{output!r} does not match --format {fmt}", source="--output")
    return path, suffix


def manifest_path(audio_path: Path) -> Path:
    return audio_path.with_suffix(".json")


def listed_files(manifest: dict) -> list[str]:
    """Every file a build wrote, as named in its manifest (relative to the manifest's folder), the audio first."""
    files = manifest.get("files", {})
    names = [manifest["audio"]["file"]]
    names += [files[kind] for kind in ("lrc", "vtt") if kind in files]
    tracks = files.get("tracks")
    if tracks:
        names += [f"{tracks['folder']}/{name}" for name in [*tracks["files"], tracks["playlist"]]]
    return names


def content_digest(manifest: dict) -> str:
    """A digest of what a manifest says is in its audio.

    A rebuild that sounds the same gets the same digest, whenever it was made
    and whatever else it wrote beside the audio (transcripts, tracks).
    """
    heard = {key: value for key, value in manifest.items() if key != "files"}
    heard["settings"] = {key: value for key, value in manifest.get("settings", {}).items() if key not in _BESIDE_THE_AUDIO}
    return hashlib.sha256(json.dumps(heard, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def tracks_folder(audio_path: Path) -> Path:
    """Where ``--split`` puts one file per chapter and the playlist."""
    return audio_path.with_name(f"{audio_path.stem}-tracks")


@dataclass(frozen=True)
class Mix:
    """Whole-file processing, done by ffmpeg while it encodes."""

    ambient: bool = False
    fade_in_ms: int = 0
    fade_out_ms: int = 0

    def graph(self, total_frames: int, rate: int) -> str:
        """An ffmpeg filter graph from input 0 to [out], or "" when the audio passes through as it is."""
        seconds = total_frames / rate
        chain = []
        if self.fade_in_ms:
            chain.append(f"afade=t=in:st=0:d={self.fade_in_ms / 1000}")
        if self.fade_out_ms:
            chain.append(f"afade=t=out:st={seconds - self.fade_out_ms / 1000:.3f}:d={self.fade_out_ms / 1000}")
        if not self.ambient:
            return f"[0:a]{','.join(chain)}[out]" if chain else ""
        tail = ",".join(chain) or "anull"
        noise = f"anoisesrc=c=brown:r={rate}:a={AMBIENT_AMPLITUDE}:seed=7:d={seconds:.6f},lowpass=f=500"
        return f"{noise}[noise];[0:a][noise]amix=inputs=2:duration=first:normalize=0,{tail}[out]"


def _codec(fmt: str, bitrate_kbps: int) -> list[str]:
    if fmt == "mp3":
        # Constant bit rate seeks exactly on phones. The LAME header ffmpeg writes lets
        # decoders remove the encoder delay and padding. Tags are added afterwards (tags.py).
        return ["-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3"]
    if fmt == "m4b":
        # Below 64 kbps ffmpeg's AAC encoder lifts speech peaks by 3 to 4 dB (over -1 dBTP after the limiter).
        return ["-c:a", "aac", "-b:a", f"{max(MIN_AAC_KBPS, bitrate_kbps)}k", "-movflags", "+faststart", "-f", "ipod"]
    if fmt == "opus":
        # Opus sounds as good for speech at half the MP3 rate. Bit-exact, with a fixed stream serial
        # number (Ogg's is otherwise random), so a rebuild is byte-identical.
        return ["-c:a", "libopus", "-b:a", f"{max(16, bitrate_kbps // 2)}k", "-ar", "48000", "-fflags", "+bitexact", "-serial_offset", "1", "-f", "ogg"]
    return ["-c:a", "pcm_s16le", "-f", "wav"]


def _escape(value: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", value)


def ffmetadata(chapters: Iterable[Chapter], metadata: dict[str, str]) -> str:
    """An FFMETADATA file: tags and chapters for ffmpeg to write (M4B chapters, WAV tags)."""
    lines = [";FFMETADATA1", *(f"{key}={_escape(value)}" for key, value in metadata.items())]
    for chapter in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start_ms}", f"END={chapter.end_ms}", f"title={_escape(chapter.title)}"]
    return "\n".join(lines) + "\n"


def write_encoder_metadata(folder: Path, fmt: str, chapters: Iterable[Chapter], metadata: dict[str, str]) -> Path | None:
    """The FFMETADATA file ffmpeg needs for ``fmt``, written into ``folder``, or None: ffmpeg
    writes M4B chapters and WAV tags, and tags.py writes everything else after encoding."""
    ffmpeg_chapters = tuple(chapters) if fmt == "m4b" else ()
    ffmpeg_tags = metadata if fmt == "wav" else {}
    if not ffmpeg_chapters and not ffmpeg_tags:
        return None
    path = folder / "metadata.txt"
    path.write_text(ffmetadata(ffmpeg_chapters, ffmpeg_tags), encoding="utf-8")
    return path


def wav_header(frames: int, rate: int) -> bytes:
    """The 44-byte header of a mono 16-bit WAV stream of ``frames`` samples."""
    data = frames * 2
    return b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", data)


def ffmpeg_command(
    fmt: str, rate: int, bitrate_kbps: int, graph: str, metadata_file: Path | None, out: Path, language: str | None = None
) -> list[str]:
    """The ffmpeg call that reads a mono 16-bit WAV stream on stdin and writes ``out``.

    ``language`` (ISO 639-2, "spa") goes on an M4B's audio track, where players look for it.
    """
    # The PCM arrives as a WAV stream: ffmpeg reads WAV in larger packets than raw PCM, which
    # saves it nearly a tenth of the time on long routines.
    # With a second input ffmpeg reads each input on a thread of its own and sleeps 10 ms
    # whenever the pipe's queue (8 packets by default) runs dry: a 40-minute WAV took 28 s
    # instead of 1.5 s. A deeper queue (a few MB at most) keeps it fed. With one input there
    # is no thread, and asking for a queue would start one that costs MP3 a tenth.
    queue = ["-thread_queue_size", str(PIPE_QUEUE_PACKETS)] if metadata_file else []
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *queue, "-f", "wav", "-i", "pipe:0"]
    if metadata_file:
        command += ["-f", "ffmetadata", "-i", str(metadata_file), "-map_metadata", "1", "-map_chapters", "1"]
    else:
        command += ["-map_metadata", "-1"]
    mapping = ["-filter_complex", graph, "-map", "[out]"] if graph else ["-map", "0:a"]
    track = ["-metadata:s:a:0", f"language={language}"] if language and fmt == "m4b" else []
    return command + [*mapping, *_codec(fmt, bitrate_kbps), *track, str(out)]


def encode(
    blocks: Iterable[bytes],
    dest: Path,
    *,
    fmt: str,
    rate: int,
    bitrate_kbps: int,
    total_frames: int,
    mix: Mix = Mix(),
    chapters: tuple[Chapter, ...] = (),
    metadata: dict[str, str] | None = None,
    language: str | None = None,
    finish: Callable[[Path], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Stream PCM blocks through ffmpeg into ``dest``, atomically (``language``: see ``ffmpeg_command``).

    ``finish`` runs on the complete temporary file before it is renamed into
    place (to add tags), so ``dest`` only ever holds a finished file.
    """
    with atomic_path(dest) as tmp, tempfile.TemporaryDirectory() as work, tempfile.TemporaryFile() as ffmpeg_log:
        metadata_file = write_encoder_metadata(Path(work), fmt, chapters, metadata or {})
        command = ffmpeg_command(fmt, rate, bitrate_kbps, mix.graph(total_frames, rate), metadata_file, tmp, language=language)
        process = ffmpeg.start(command, stderr=ffmpeg_log)
        header = wav_header(total_frames, rate)
        done = -len(header) // 2  # the header is not audio

        def count(size: int) -> None:
            nonlocal done
            done += size // 2
            if progress:
                progress("Encoding", done, total_frames)

        feed(process, itertools.chain([header], blocks), count)
        returncode = process.wait()
        if returncode < 0:
            name = signal.Signals(-returncode).name
            raise EncoderError(f"ffmpeg was stopped ({name}) while writing {dest}, perhaps for want of memory; run the build again")
        if returncode != 0:
            ffmpeg_log.seek(0)
            detail = ffmpeg_log.read().decode(errors="replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit status {returncode}"
            advice = "; free some space and build again" if "No space left" in reason else ""
            raise EncoderError(f"ffmpeg could not write {dest}: {reason}{advice}")
        if finish:
            finish(tmp)


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def track_name(number: int, chapter: Chapter, fmt: str) -> str:
    return f"{number:02d}-{slug(chapter.title, fallback='part')}.{fmt}"


def playlist(title: str, chapters: tuple[Chapter, ...], fmt: str) -> str:
    """An extended M3U (UTF-8) listing the split tracks by relative path, with titles and lengths."""
    lines = ["#EXTM3U", f"#PLAYLIST:{title}"]
    for number, chapter in enumerate(chapters, 1):
        seconds = round((chapter.end_ms - chapter.start_ms) / 1000)
        lines += [f"#EXTINF:{seconds},{chapter.title}", track_name(number, chapter, fmt)]
    return "\n".join(lines) + "\n"


def make_manifest(routine: Routine, settings: Settings, script: Script, audio_path: Path, extra_files: dict, music: dict | None = None) -> dict:
    """The project's own record of what is in the audio; times in ms from its first sample."""
    return {
        "format": MANIFEST_FORMAT,
        "routine": {
            "id": routine.id,
            "title": routine.title,
            "language": routine.language,
            "stretches": [
                {"id": s.id, "name": s.name, "hold_ms": s.hold_ms, "sides": s.sides, "reps": s.reps}
                for s in routine.stretches
            ],
        },
        "audio": {
            "file": audio_path.name,
            "format": settings.format,
            "sample_rate": output_rate(settings.format, settings.sample_rate),
            "channels": 1,
            "duration_ms": script.duration_ms,
        },
        "files": extra_files,
        "settings": settings.to_dict(),
        "music": music,  # the track under the voice: file name, content hash, level; None without
        "events": [event.to_dict() for event in script.events],
        "chapters": [chapter.to_dict() for chapter in script.chapters],
        "dropped_cues": [cue.to_dict() for cue in script.dropped],
    }
