"""The command line: parse options, call the library, show results. Nothing else lives here.

Its parts (one-line errors and exit statuses, progress bars, the routine
options) are in cli_parts.py; the two are the only modules that print.
"""

from __future__ import annotations

import gc
import json
import logging
import signal
import sys
from pathlib import Path

import click

from . import __version__
from .checks import duration_in
from .cli_parts import (
    CONTEXT, DEFAULT_ROUTINE, Group, InputError, ProgressBars, Stopped, build_many, built, check_output, count, cues_left_out,
    removed_line, reports_errors, routine_options,
)  # fmt: skip
from .durations import format_clock, format_duration
from .engines import ENGINES
from .errors import RoutineError
from .options import chosen_language, load_for_build, load_options
from .routine import builtin_ids, builtin_languages, load_routine
from .settings import AMBIENCE, BITRATES_KBPS, DEFAULT_OUT_DIR, FORMATS, resolve_settings
from .table import plan_table

DEFAULT_SHARE_PORT = 8765
MAX_SHARE_MS = 7 * 24 * 3_600_000


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is happening (also after the command).")
def cli(verbose: bool) -> None:
    """Turn a stretching routine into one voice-guided audio file.

    \b
    Examples:
      voiceroutine build                      # out/bed-back.mp3, the built-in routine
      voiceroutine build --hold 20s           # shorter holds
      voiceroutine plan my-routine.toml       # see the timeline, instantly
      voiceroutine init bed-back mine.toml    # a routine file to edit
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")


@cli.command()
@routine_options(many=True)
@click.option("-o", "--output", metavar="PATH", help="Audio file or folder to write [default: out/<routine>.mp3]; a folder for several routines.")
@click.option("--format", type=click.Choice(FORMATS), help="Audio format: m4b for Apple Books and audiobook players, opus for small files.  [default: from --output, else mp3]")
@click.option("--bitrate", type=click.Choice([str(b) for b in BITRATES_KBPS]), help="Bit rate, kbps: MP3 as given, M4B at least 64, Opus half of it.  [default: 64]")
@click.option("--loudness", metavar="LUFS", help="Loudness to normalise to.  [default: -16, as podcasts]")
@click.option("--ambient", type=click.Choice(AMBIENCE), help="Soft brown noise under everything (stops players skipping silent holds).")
@click.option("--cover", metavar="IMAGE", help="Cover art [default: made from the title].")
@click.option("--split", is_flag=True, default=None, help="Also write one file per chapter and an .m3u8 playlist.")
@click.option("--sidecars/--no-sidecars", default=None, help="Write .lrc and .vtt transcripts beside the audio.  [default: on]")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Processes working at once: synthesising one routine, or building several.  [default: one per core]")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summary; errors only.")
@reports_errors
def build(routines, output, jobs, quiet, **options) -> None:
    """Build ROUTINE (a built-in id or a .toml file; default bed-back) into an audio file.

    Writes the audio and, beside it, a manifest (.json) listing every event with
    its time. Phrases are cached, so rebuilding with new hold times is quick.
    Given several routines, builds them all into one folder, several at once;
    a routine that fails is listed at the end and the others are still built.

    \b
    Examples:
      voiceroutine build
      voiceroutine build --hold 20s --hold-for piriformis=45s
      voiceroutine build my-routine.toml -o ~/Music/stretches.mp3
      voiceroutine build --only hamstring,butterfly --format wav
      voiceroutine build --guidance full --pace normal --length 10m
      voiceroutine build --format m4b --split --ambient noise
      voiceroutine build week/*.toml -o ~/Music/stretches/ --jobs 2
    """
    check_output(output)
    if len(routines) > 1:
        build_many(routines, output, jobs, quiet, options, plan.params)
        return
    from .pipeline import build as build_routine

    routine, settings, path = load_for_build({**options, "routine": routines[0] if routines else DEFAULT_ROUTINE}, output)
    bars = ProgressBars() if not quiet and sys.stderr.isatty() else None
    try:
        result = build_routine(routine, settings, path, progress=bars, jobs=jobs)
    finally:
        if bars:
            bars.close()
    if not quiet:
        made = built(result.script.duration_ms, len(result.routine.stretches), result.synthesised)
        click.echo(f"Wrote {result.audio_path} ({made}) and {result.manifest_path}")
        if result.removed:
            click.echo(removed_line(result.removed))
        if result.script.dropped:
            click.echo(cues_left_out(len(result.script.dropped), routines[0] if routines else None, options, plan.params))


@cli.command()
@routine_options
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON instead of a table.")
@reports_errors
def plan(as_json, **options) -> None:
    """Show ROUTINE's timeline without making any audio.

    Hold lengths are exact. Speech lengths are the real ones when an earlier
    build spoke the phrases in this voice and pace (the phrase cache keeps
    them), so the plan is the build's own timeline; otherwise they are
    estimated, and the total comes within about 2% of the build's.

    \b
    Examples:
      voiceroutine plan
      voiceroutine plan my-routine.toml --hold 45s
      voiceroutine plan --guidance full --hold 20s   # which cues fit, and why others don't
      voiceroutine plan --json | jq '.events[] | select(.kind == "hold")'
    """
    from .cache import PhraseCache
    from .pipeline import cached_lengths, plan as plan_routine

    routine, settings = load_options(options)
    known = cached_lengths(routine, settings, PhraseCache())
    script = plan_routine(routine, settings, known)
    measured = sum(text in known for text in script.phrases)
    if as_json:
        data = {
            "routine": {"id": routine.id, "title": routine.title},
            "duration_ms": script.duration_ms,
            "speech_lengths": {"measured": measured, "estimated": len(script.phrases) - measured},
            "events": [e.to_dict() for e in script.events],
            "chapters": [c.to_dict() for c in script.chapters],
            "dropped_cues": [d.to_dict() for d in script.dropped],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(plan_table(script, measured))


@cli.command(name="list")
@reports_errors
def list_routines() -> None:
    """List the built-in routines and their stretches.

    \b
    Example:
      voiceroutine list
    """
    for routine_id in builtin_ids():
        routine = load_routine(routine_id)
        click.echo(f"{routine.id}: {routine.title} (in {', '.join(builtin_languages(routine_id))}: --language)")
        for stretch in routine.stretches:
            sides = "each side" if stretch.sides == "both" else "once"
            click.echo(f"  {stretch.id:<14} {stretch.name:<32} {format_duration(stretch.hold_ms)} {sides}")


@cli.command(name="init")
@click.argument("args", nargs=-1, required=True, metavar="[ROUTINE] PATH")
@click.option("-f", "--force", is_flag=True, help="Replace PATH if it exists.")
@click.option("--language", metavar="TAG", help="The built-in routine's translation to copy, e.g. es, de, fr.")
@reports_errors
def init(args, force, language) -> None:
    """Write an editable copy of ROUTINE (default bed-back) to PATH.

    \b
    Examples:
      voiceroutine init bed-back my-routine.toml
      voiceroutine init bed-back mi-rutina.toml --language es
      voiceroutine build my-routine.toml
    """
    if len(args) > 2:
        raise InputError("init takes a routine and a path, e.g. `voiceroutine init bed-back mine.toml`")
    ref, path = (DEFAULT_ROUTINE, args[0]) if len(args) == 1 else args
    target = Path(path)
    if target.exists() and not force:
        raise InputError(f"{path}: already exists; choose another name or add --force to replace it")
    from .copies import routine_copy
    from .export import atomic_path

    text, routine_id = routine_copy(ref, target, chosen_language(language))
    try:
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e.strerror or e}") from None
    click.echo(f"Wrote {path} (routine id {routine_id}); edit it, then `voiceroutine build {path}`")


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def validate(files) -> None:
    """Check routine files and report the first problem in each.

    A voice or engine a file names is checked with that engine, as a build
    would. Exits with status 2 if any file has a problem.

    \b
    Example:
      voiceroutine validate my-routine.toml evening.toml
    """
    from .pipeline import plan as plan_routine

    failed, engines = False, {}
    for ref in files:
        try:
            routine = load_routine(ref)
            settings = resolve_settings(routine.settings)
            length = format_clock(plan_routine(routine, settings).duration_ms)
            unchecked = _unchecked_voice(routine, settings, engines)
        except RoutineError as e:
            click.echo(f"Error: {e}", err=True)
            failed = True
            continue
        click.echo(f"ok: {ref}: {routine.title} ({count(len(routine.stretches), 'stretch')}, about {length}){unchecked}")
    if failed:
        sys.exit(2)


def _unchecked_voice(routine, settings, engines: dict) -> str:
    """A voice or engine the file names is checked as a build would (starting the engine, so only
    then, and once for all the files in ``engines``); what could not be checked, said after the
    file's summary line."""
    if "voice" not in routine.settings and "engine" not in routine.settings:
        return ""
    from .engines import get_engine
    from .errors import SynthesisError
    from .pipeline import resolved_voice

    try:
        if settings.engine not in engines:
            engines[settings.engine] = get_engine(settings.engine)
        resolved_voice(engines[settings.engine], routine, settings)
    except SynthesisError as e:
        return f"; its voice is not checked: {e}"
    return ""


@cli.command(name="export")
@click.argument("source", metavar="OUT_FILE_OR_ROUTINE")
@click.option("--to", "destination", required=True, metavar="DIR", help="Folder to copy into (made if missing).")
@click.option("-f", "--force", is_flag=True, help="Replace files there that differ.")
@reports_errors
def export_command(source, destination, force) -> None:
    """Copy a built routine to a phone or a synced folder.

    Copies the audio, its transcripts, and the split tracks and playlist when
    the build made them. Files already there with the same content are left
    alone; different ones are only replaced with --force.

    \b
    Examples:
      voiceroutine export bed-back --to /media/$USER/PHONE/Music
      voiceroutine export out/bed-back.m4b --to ~/Sync/Audiobooks
    """
    from .transfer import export

    try:
        result = export(source, Path(destination).expanduser(), force=force)
    except OSError as e:
        raise click.ClickException(f"cannot copy to {destination}: {e.strerror or e}; is it mounted and writable?") from None
    for path in result.copied:
        click.echo(f"copied {path}")
    click.echo(f"{count(len(result.copied), 'file')} copied to {destination}, {len(result.unchanged)} already there")


@cli.command()
@click.argument("folder", metavar="[DIR]", default=str(DEFAULT_OUT_DIR))
@click.option("--host", metavar="ADDRESS", help="Address to listen on; 127.0.0.1 keeps it to this computer.  [default: every interface, shown as the LAN address]")
@click.option("--port", type=click.IntRange(0, 65535), help=f"Port to listen on; 0 for any free one.  [default: {DEFAULT_SHARE_PORT}, or any free one if taken]")
@click.option("--timeout", default="30m", show_default=True, metavar="DURATION", help="Stop sharing after this long, e.g. 10m or 2h; 0 to share until Ctrl-C.")
@click.option("--studio", is_flag=True, help="Add a form to the page that builds new routines into DIR: pick stretches, holds, pace, voice.")
@reports_errors
def share(folder, host, port, timeout, studio) -> None:
    """Share built routines with your phone over the home network.

    Prints a link and a QR code of it: scan it with the phone's camera to open
    a page with each routine's player, chapters and downloads, and a podcast
    feed for AntennaPod. Every link holds a secret made afresh each run, and
    only the files of built routines are served, read-only.

    \b
    Examples:
      voiceroutine share                      # what is in out/, for 30 minutes
      voiceroutine share ~/routines --timeout 2h
      voiceroutine share --host 127.0.0.1     # this computer only
      voiceroutine share --studio             # and make new routines from the phone
    """
    from .share.server import ShareServer, describe, new_token, open_socket, qr_code

    root = Path(folder).expanduser()
    if not root.is_dir():
        hint = "; build a routine first with `voiceroutine build`" if folder == str(DEFAULT_OUT_DIR) else ""
        raise RoutineError(f"folder not found{hint}", source=folder)
    try:
        timeout_ms = duration_in(timeout, (0, MAX_SHARE_MS))
    except ValueError as e:
        raise RoutineError(str(e), source="--timeout") from None
    token = new_token()
    sock = open_socket(host, port, DEFAULT_SHARE_PORT)
    shared = describe(sock, host, token)
    click.echo(qr_code(shared.url), nl=False)
    click.echo(f"Open on your phone:  {shared.url}")
    click.echo(f"Podcast feed:        {shared.feed_url}")
    if shared.local_only:
        click.echo("Only this computer can open it (no network address found, or --host is local).", err=True)
    limit = f"for {format_duration(timeout_ms)}" if timeout_ms else "until Ctrl-C"
    click.echo(f"Sharing {root} {limit}; press Ctrl-C to stop.")
    reason = ShareServer(root, sock, token, folder_label=folder, studio=studio).run(timeout_ms / 1000 if timeout_ms else None)
    click.echo("Stopped: the time given by --timeout is up." if reason == "timeout" else "Stopped sharing.")


@cli.command()
@click.option("--lang", metavar="CODE", help="Only voices for this language, e.g. en or en-us.")
@click.option("--engine", type=click.Choice(tuple(ENGINES)), default="pyttsx3", show_default=True, help="Speech engine.")
@reports_errors
def voices(lang, engine) -> None:
    """List the voices of a speech engine.

    \b
    Examples:
      voiceroutine voices --lang en
      voiceroutine build --voice en-gb
      voiceroutine voices --engine piper
    """
    from .engines import get_engine

    found = get_engine(engine).voices()
    if lang:
        wanted = lang.lower()
        found = [v for v in found if any(code.lower().startswith(wanted) for code in v.languages)]
    for voice in found:
        click.echo(f"{voice.id:<28} {voice.name:<36} {', '.join(voice.languages)}")
    if not found:
        click.echo(f"No voices for {lang!r}; try `voiceroutine voices` for all.", err=True)


@cli.group(name="cache")
def cache_group() -> None:
    """Show or clear the cache of spoken phrases.

    Builds keep every phrase they synthesise, so a rebuild with other holds
    or chimes needs no speech engine. The cache lives in ~/.cache/voiceroutine
    (VOICEROUTINE_CACHE moves it) and is kept under a size limit, 500 MB unless
    VOICEROUTINE_CACHE_MB says otherwise, by removing the phrases used longest ago.

    \b
    Examples:
      voiceroutine cache info
      voiceroutine cache clear
    """


@cache_group.command(name="info")
def cache_info() -> None:
    """Where the cache is, how many clips it holds (spoken phrases, and each leveled for a routine), and its size."""
    from .cache import PhraseCache

    info = PhraseCache().info()
    click.echo(f"{info.root}: {count(info.entries, 'clip')}, {info.size_bytes / 1e6:.1f} MB of {info.limit_bytes / 1e6:.0f} MB")


@cache_group.command(name="clear")
def cache_clear() -> None:
    """Remove every cached phrase (the next build speaks them again)."""
    from .cache import PhraseCache

    cache = PhraseCache()
    click.echo(f"removed {count(cache.clear(), 'clip')} from {cache.root}")


def _stop_on_sigterm(signum, frame) -> None:
    raise Stopped(signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        cli(prog_name="voiceroutine")
    finally:
        # Every file is written and closed. At exit the collector would walk all the objects of
        # every module loaded, to find nothing: 40 ms of each build. Frozen objects are skipped.
        gc.freeze()
