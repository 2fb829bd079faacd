"""The command line's parts: one-line errors with their exit statuses, progress bars,
the options that shape a routine, shared by `build` and `plan`, and the summary of a batch build.

With cli.py, the only code that talks to the user: library errors become messages
and exit statuses here, 2 when the user's input is wrong, 1 when something failed
at run time.
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import signal
import sys
from pathlib import Path

import click

from .durations import format_clock
from .engines import ENGINES
from .errors import RoutineError, VoiceRoutineError
from .options import load_for_build
from .routine import SIDES
from .settings import DEFAULT_OUT_DIR, FORMATS, GUIDANCE_LEVELS, PACES
from .sounds import CHIME_SETS

DEFAULT_ROUTINE = "bed-back"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class InputError(click.ClickException):
    """The user's input is wrong: one line, exit status 2."""

    exit_code = 2


class OneLineUsageError(click.UsageError):
    """A usage error shown as one line ("Error: ..."), without click's usage text and hint."""

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", file=file, err=True, color=self.ctx.color if self.ctx else None)


def _one_line(error: click.UsageError) -> click.UsageError:
    # The context stays: click reads it (its colour setting, at least) when showing any usage error.
    return error if isinstance(error, OneLineUsageError) else OneLineUsageError(error.format_message(), error.ctx)


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGTERM), unwound like Ctrl-C so temporary files are removed and earlier outputs stay."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum = signum


class OneLineErrors:
    """Usage errors, found while parsing or when a command is looked up or run, show as one line."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as e:
            raise _one_line(e) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise _one_line(e) from None
        except KeyboardInterrupt as e:
            # Every write has unwound by now. Exit as a shell expects of a stopped program: 128 + the signal.
            click.echo("Stopped: no file is left half-written, and any not yet finished is as it was before.", err=True)
            raise click.exceptions.Exit(128 + getattr(e, "signum", signal.SIGINT)) from None


def _say_more(ctx: click.Context, param: click.Parameter, verbose: bool) -> None:
    if verbose:
        logging.getLogger().setLevel(logging.INFO)


def verbose_option() -> click.Option:
    """-v: info messages too. The group has it and so does every command, so it may follow the command."""
    return click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, callback=_say_more, help="Say more about what is happening.")


class Command(OneLineErrors, click.Command):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(verbose_option())


class Group(OneLineErrors, click.Group):
    """The command group: its subgroups are of this class too, and without arguments it prints its help."""

    command_class = Command
    group_class = type

    def parse_args(self, ctx, args):
        # Help on standard output and status 0, as a user asking "what does this do?" expects; click 8.2
        # and later instead raise a usage error (status 2) holding the help.
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit()
        return super().parse_args(ctx, args)


def check_output(output: str | None) -> None:
    """A path under an existing file can never be written: say so before any work."""
    if not output:
        return
    path = Path(output)
    folders = [path, *path.parents] if output.endswith(("/", os.sep)) else list(path.parents)
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise InputError(f"--output: {folder} is a file, not a folder, so {output} cannot be written; choose another path")


def reports_errors(func):
    """Turn library errors into click's messages and exit statuses."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RoutineError as e:
            raise InputError(str(e)) from None
        except VoiceRoutineError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


class ProgressBars:
    """Shows the library's progress reports as one click progress bar per stage."""

    def __init__(self) -> None:
        self.label: str | None = None
        self.bar = None

    def __call__(self, label: str, done: int, total: int) -> None:
        if label != self.label:
            self.close()
            self.label = label
            self.bar = click.progressbar(length=total, label=label.ljust(13), file=sys.stderr, width=30)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('ch') else 's'}"


def cues_left_out(dropped: int, ref: str | None, options: dict, plan_params: list[click.Parameter]) -> str:
    """Cues a build left out are never silent: how many, and the plan command (the build's routine
    options, as ``plan_params`` spell them) that lists each and why."""
    words = ["voiceroutine", "plan", *([ref] if ref else [])]
    for param in plan_params:
        value = options.get(param.name)
        if isinstance(param, click.Option) and value not in (None, (), False):
            words += [arg for item in (value if param.multiple else [value]) for arg in (max(param.opts, key=len), str(item))]
    why = "a hold is too short for it" if dropped == 1 else "the holds are too short for them"
    return f"{count(dropped, 'cue')} left out: {why}; see `{shlex.join(words)}`"


def removed_line(removed: tuple[Path, ...]) -> str:
    """What a build took away of the earlier build of its name (a tracks folder counted as one)."""
    shown: dict[str, int] = {}
    for path in removed:
        name = f"{path.parent}{os.sep}" if path.parent.name.endswith("-tracks") else str(path)
        shown[name] = shown.get(name, 0) + 1
    listed = ", ".join(name if n == 1 or not name.endswith(os.sep) else f"{name} ({count(n, 'file')})" for name, n in shown.items())
    return f"Removed what the earlier build of this name wrote and this one did not: {listed}"


def routine_options(func=None, *, many: bool = False):
    """The options that shape a routine's timeline, shared by build and plan (``many``: several routines)."""
    if func is None:
        return functools.partial(routine_options, many=many)
    routine = (
        click.argument("routines", nargs=-1, metavar="[ROUTINE]...")
        if many
        else click.argument("routine", default=DEFAULT_ROUTINE, metavar="[ROUTINE]")
    )
    options = [
        routine,
        click.option("--hold", metavar="DUR", help='Hold every stretch this long, e.g. "20s" or "1m".'),
        click.option("--hold-for", multiple=True, metavar="ID=DUR", help="Hold one stretch this long (repeatable)."),
        click.option("--length", metavar="DUR", help='Scale the holds so the whole routine lasts this long, e.g. "10m".'),
        click.option("--sides", type=click.Choice(SIDES), help='"both": left then right; "none": one hold.'),
        click.option("--rest", metavar="DUR", help="Pause between stretches."),
        click.option("--reps", type=int, help="Holds per side."),
        click.option("--only", metavar="ID,...", help="Only these stretches, in this order."),
        click.option("--skip", metavar="ID,...", help="Leave these stretches out."),
        click.option(
            "--guidance",
            type=click.Choice(GUIDANCE_LEVELS),
            help="Cues during holds: minimal (chimes only), standard (+ halfway, time left), "
            "full (+ countdown, breathing, tips).  [default: standard]",
        ),
        click.option("--time-left", metavar="DUR,...", help='When to say how long is left, e.g. "30s,10s".  [default: 10s]'),
        click.option("--pace", type=click.Choice(tuple(PACES)), help="Speech rate and pauses together.  [default: calm]"),
        click.option("--rate", type=int, help="Speech rate in words a minute (overrides --pace)."),
        click.option("--language", metavar="TAG", help="Language: a built-in routine's translation, or what a routine file is spoken in, e.g. es, de, fr.  [default: the routine's own]"),
        click.option("--voice", help="Voice id or name (see `voiceroutine voices`).  [default: the engine's voice for the language]"),
        click.option("--engine", type=click.Choice(tuple(ENGINES)), help="Speech engine.  [default: pyttsx3]"),
        click.option("--chimes", type=click.Choice(CHIME_SETS), help="Chime sounds, or none (a spoken \"Begin.\").  [default: soft]"),
        click.option("--start-chime", metavar="FILE", help="Your own sound to start each hold: any audio ffmpeg reads (WAV, MP3, OGG, M4A...), 50 ms to 3 s."),
        click.option("--end-chime", metavar="FILE", help="Your own sound to end each hold, likewise."),
        click.option("--fade", metavar="DUR", help="Fade the whole file in and out over this long."),
        click.option("--music", metavar="FILE", help="Music to lay under the routine (any audio ffmpeg reads), lower wherever the coach speaks."),
        click.option("--music-level", metavar="LU", help="The music in the holds, relative to the voice, -30 to -12.  [default: -20]"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def built(duration_ms: int, stretches: int, synthesised: int) -> str:
    return f"{format_clock(duration_ms)}, {count(stretches, 'stretch')}, {count(synthesised, 'phrase')} synthesised"


def build_many(refs: tuple[str, ...], output: str | None, jobs: int | None, quiet: bool, options: dict, plan_params: list[click.Parameter]) -> None:
    """Build each routine into one folder, several at once; list what failed, and exit non-zero if any did.

    ``plan_params``: the plan command's options, for the line that points to it when cues are left out.
    """
    from .batch import build_all

    if output and Path(output).suffix.lstrip(".").lower() in FORMATS:
        raise InputError(f"--output: several routines go into a folder, not one file ({output})")
    folder = output or str(DEFAULT_OUT_DIR)
    # Check every routine first: a bad file is reported, the others still build.
    ready, failed, targets = [], [], {}
    for ref in refs:
        try:
            routine, _, path = load_for_build({**options, "routine": ref}, folder + os.sep)
            if path in targets:
                raise RoutineError(f"has the same id as {targets[path]} ({routine.id}); both would write {path}", source=ref)
            targets[path] = ref
            ready.append((ref, str(path)))
        except RoutineError as e:
            failed.append((ref, str(e), 2))
    bar = click.progressbar(length=len(ready), label="Building", file=sys.stderr) if ready and not quiet and sys.stderr.isatty() else None
    outcomes = build_all(ready, options, jobs, on_done=(lambda: bar.update(1)) if bar else None)
    if bar:
        bar.render_finish()
    for outcome in outcomes:
        if outcome.error:
            failed.append((outcome.ref, outcome.error, 2 if outcome.input_error else 1))
        elif not quiet:
            made = built(outcome.duration_ms, outcome.stretches, outcome.synthesised)
            click.echo(f"ok      {outcome.ref} -> {outcome.audio_path} ({made})")
            if outcome.dropped:
                click.echo(f"        {cues_left_out(outcome.dropped, outcome.ref, options, plan_params)}")
    for ref, message, _ in failed:
        click.echo(f"FAILED  {ref}: {message.removeprefix(ref + ': ')}", err=True)
    if not quiet:
        click.echo(f"Built {len(refs) - len(failed)} of {len(refs)} routines" + (f"; {len(failed)} failed" if failed else ""))
    if failed:
        sys.exit(2 if all(code == 2 for *_, code in failed) else 1)
