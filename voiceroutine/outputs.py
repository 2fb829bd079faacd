"""Everything a build writes, from one rendered script: the audio, its tags and cover,
transcripts, per-chapter tracks with a playlist, and last the manifest.

Each file is written atomically and the manifest goes last, so it only ever
describes files that are complete. Then what an earlier build of the same name
wrote and this one did not is cleared away (ownership.py).
"""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__
from .clips import Clip
from .cover import cover_subtitle, load_cover, make_cover
from .durations import format_duration
from .export import Mix, encode, listed_files, make_manifest, manifest_path, playlist, track_name, tracks_folder, write_json
from .files import atomic_folder, exclusive, write_text
from .ownership import EarlierBuild, earlier_build, keep_others, remove_leftovers
from .music import Music, MusicBed
from .render import ms_to_frames, render, total_frames
from .routine import Routine
from .script import Chapter, Script, Speech
from .settings import Settings
from .sidecars import lrc, vtt
from .synthesis import Progress
from .tags import TrackTags, ffmpeg_metadata, tag_writer


@dataclass(frozen=True)
class Rendered:
    """A routine ready to write: its script and every sound the script places."""

    routine: Routine
    settings: Settings
    script: Script
    clips: Mapping[str, Clip]
    chimes: Mapping[str, Clip]
    music: Music | None = None  # laid under everything, ducked where the coach speaks

    def blocks(self, start_ms: int = 0, end_ms: int | None = None):
        rate = self.settings.sample_rate
        start, end = ms_to_frames(start_ms, rate), None if end_ms is None else ms_to_frames(end_ms, rate)
        voice = render(self.script, self.clips, self.chimes, rate, start_frame=start, end_frame=end)
        if self.music is None:
            return voice
        return MusicBed(self.music, self.script).under(voice, start)


def _comment(routine: Routine, settings: Settings) -> str:
    holds = ", ".join(f"{s.name} {format_duration(s.hold_ms)}" for s in routine.stretches)
    return (
        f"Made with voiceroutine {__version__}: {settings.engine} voice {settings.voice} at {settings.rate} "
        f"words a minute, {settings.guidance} guidance, {settings.pace} pace. Holds: {holds}."
    )


def _words(script: Script, start_ms: int = 0, end_ms: int | None = None) -> list[tuple[str, int]]:
    """What is said in [start_ms, end_ms), with times from ``start_ms``."""
    end = script.duration_ms if end_ms is None else end_ms
    return [(e.text, e.start_ms - start_ms) for e in script.events if isinstance(e, Speech) and start_ms <= e.start_ms < end]


def write_outputs(rendered: Rendered, output: Path, progress: Progress | None = None) -> tuple[Path, tuple[Path, ...]]:
    """Write every file of the build; return the manifest's path, and the files of the earlier
    build of this name that this one no longer writes, now removed.

    Another build writing the same output, in any format (they share the manifest), waits, so the
    files on disk all come from one build.
    """
    with exclusive(manifest_path(output)):
        return _write_outputs(rendered, output, progress)


def _write_outputs(rendered: Rendered, output: Path, progress: Progress | None) -> tuple[Path, tuple[Path, ...]]:
    routine, settings, script = rendered.routine, rendered.settings, rendered.script
    fmt, rate = settings.format, settings.sample_rate
    earlier = earlier_build(output)  # read before anything is written over it
    subtitle = cover_subtitle(len(routine.stretches), script.duration_ms, routine.language)
    base = TrackTags(
        title=routine.title,
        album=routine.title,
        comment=_comment(routine, settings),
        date=datetime.date.today().isoformat(),
        language=routine.language,
    )
    words = _words(script)
    tags = replace(base, lyrics="\n".join(t for t, _ in words), synced_lyrics=tuple(words), chapters=script.chapters)

    def cover_and_tags() -> tuple[bytes, Callable[[Path], None]]:
        cover = load_cover(settings.cover) if settings.cover else make_cover(routine.title, subtitle)
        return cover, tag_writer(fmt, replace(tags, cover_png=cover))

    # The cover is drawn and the tags made on the other core while ffmpeg encodes; they go on last.
    with ThreadPoolExecutor(1) as pool:
        prepared = pool.submit(cover_and_tags)
        encode(
            rendered.blocks(),
            output,
            fmt=fmt,
            rate=rate,
            bitrate_kbps=settings.bitrate_kbps,
            total_frames=total_frames(script, rate),
            mix=Mix(settings.ambient == "noise", settings.fade_ms, settings.fade_ms),
            chapters=script.chapters,
            metadata=ffmpeg_metadata(tags),
            language=tags.iso639,
            finish=lambda tmp: prepared.result()[1](tmp),
            progress=progress,
        )
        base = replace(base, cover_png=prepared.result()[0])
    files: dict[str, object] = {}
    if settings.sidecars:
        for suffix, text in ((".lrc", lrc(script)), (".vtt", vtt(script))):
            write_text(output.with_suffix(suffix), text)
            files[suffix.lstrip(".")] = output.with_suffix(suffix).name
    if settings.split:
        files["tracks"] = _write_tracks(rendered, output, base, earlier, progress)
    manifest = manifest_path(output)
    described = make_manifest(routine, settings, script, output, files, rendered.music.to_dict() if rendered.music else None)
    write_json(manifest, described)
    return manifest, remove_leftovers(earlier, output, listed_files(described))


def _write_tracks(rendered: Rendered, output: Path, base: TrackTags, earlier: EarlierBuild | None, progress: Progress | None) -> dict:
    """One file per chapter and an .m3u8 playlist, in a folder that replaces the old one whole
    (keeping whatever the earlier build did not write there)."""
    settings, script = rendered.settings, rendered.script
    fmt, rate = settings.format, settings.sample_rate
    chapters: tuple[Chapter, ...] = script.chapters
    folder = tracks_folder(output)
    names = []
    with atomic_folder(folder) as staging:
        for number, chapter in enumerate(chapters, 1):
            words = _words(script, chapter.start_ms, chapter.end_ms)
            tags = replace(
                base,
                title=chapter.title,
                track=(number, len(chapters)),
                lyrics="\n".join(t for t, _ in words),
                synced_lyrics=tuple(words),
            )
            name = track_name(number, chapter, fmt)
            frames = ms_to_frames(chapter.end_ms, rate) - ms_to_frames(chapter.start_ms, rate)
            fade_in = settings.fade_ms if number == 1 else 0
            fade_out = settings.fade_ms if number == len(chapters) else 0
            encode(
                rendered.blocks(chapter.start_ms, chapter.end_ms),
                staging / name,
                fmt=fmt,
                rate=rate,
                bitrate_kbps=settings.bitrate_kbps,
                total_frames=frames,
                mix=Mix(settings.ambient == "noise", fade_in, fade_out),
                metadata=ffmpeg_metadata(tags),
                language=tags.iso639,
                finish=tag_writer(fmt, tags),
            )
            names.append(name)
            if progress:
                progress("Splitting", number, len(chapters))
        list_name = f"{output.stem}.m3u8"
        write_text(staging / list_name, playlist(script.title, chapters, fmt))
        keep_others(folder, staging, earlier)
    return {"folder": folder.name, "playlist": list_name, "files": names}
