"""Routines: the frozen data a routine file describes, loaded and validated once.

Everything downstream trusts a ``Routine``: every check happens here, and every
message names the file and the field path (stretches are counted from 1).
"""

from __future__ import annotations

import difflib
import errno
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import checks
from .checks import describe, duration_in, whole_number_in
from .errors import RoutineError
from .language import DEFAULT_LANGUAGE, language_tag, load_language
from .names import slug
from .routine_hints import STRETCH_TABLES, toml_hint
from .settings import FILE_SETTINGS, check_setting

SIDES = ("both", "none")
SIDE_LABELS = ("left", "right")

HOLD_RANGE_MS = (1_000, 600_000)
REST_RANGE_MS = (0, 600_000)
SWITCH_RANGE_MS = (1_000, 120_000)
GET_READY_RANGE_MS = (0, 120_000)
REPS_RANGE = (1, 10)
MAX_STRETCHES = 50
MAX_STEPS = 20
MAX_TIPS = 10
MAX_FILE_BYTES = 1 << 20

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

# Per-stretch settings: [defaults] sets them for every stretch, a stretch may override.
STRETCH_DEFAULTS: dict[str, Any] = {
    "hold": "30s",
    "sides": "both",
    "reps": 1,
    "rest": "10s",
    "switch": "5s",
    "get_ready": "4s",
    "side_names": ["left side", "right side"],
}
_ROUTINE_KEYS = ("id", "title", "language", "intro", "outro")
_STRETCH_KEYS = ("id", "name", "why", "steps", "tips", *STRETCH_DEFAULTS)
_TOP_KEYS = ("routine", "settings", "defaults", "stretch")
_PATH_SETTINGS = ("start_chime", "end_chime", "cover", "music")


@dataclass(frozen=True)
class Stretch:
    """One stretch with every setting resolved; times in milliseconds."""

    id: str
    name: str
    steps: tuple[str, ...]
    hold_ms: int
    sides: str
    reps: int
    rest_ms: int
    switch_ms: int
    get_ready_ms: int
    side_names: tuple[str, str]
    why: str | None = None
    tips: tuple[str, ...] = ()  # said during holds, with full guidance

    @property
    def side_labels(self) -> tuple[str, ...]:
        """The sides held in order: ("left", "right"), or ("",) when both sides work at once."""
        return SIDE_LABELS if self.sides == "both" else ("",)


@dataclass(frozen=True)
class Routine:
    id: str
    title: str
    stretches: tuple[Stretch, ...]
    intro: str | None = None
    outro: str | None = None
    source: str = ""
    language: str = DEFAULT_LANGUAGE  # what the tool itself says, and the default voice, follow it
    # The file's [settings], checked: Settings field -> value.
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def builtin_ids() -> list[str]:
    """Ids of the routines shipped with the package, sorted (a translation, <id>.<tag>.toml, is not one)."""
    folder = resources.files("voiceroutine.routines")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml") and p.name.count(".") == 1)


def builtin_languages(routine_id: str) -> list[str]:
    """The languages a built-in routine comes in: its own, then its translations' (<id>.<tag>.toml)."""
    folder = resources.files("voiceroutine.routines")
    translations = sorted(p.name.split(".")[1] for p in folder.iterdir() if p.name.startswith(f"{routine_id}.") and p.name.count(".") == 2)
    own = tomllib.loads(folder.joinpath(f"{routine_id}.toml").read_text("utf-8"))["routine"].get("language", DEFAULT_LANGUAGE)
    return [own, *translations]


def _builtin_file(routine_id: str, language: str | None) -> str:
    """The file of a built-in routine in ``language`` (None: its own)."""
    if language is None:
        return f"{routine_id}.toml"
    languages = builtin_languages(routine_id)
    if language == languages[0]:
        return f"{routine_id}.toml"
    if language not in languages:
        raise RoutineError(f"{routine_id} comes in {', '.join(languages)}, not {language}", source="--language")
    return f"{routine_id}.{language}.toml"


@dataclass(frozen=True)
class RoutineText:
    text: str  # the TOML
    source: str  # how messages name it: the path given, or "<id> (built-in)"
    default_id: str  # the routine's id when the file sets none
    folder: Path | None  # where relative paths in the file start; None for built-ins


def read_routine_text(ref: str | Path, language: str | None = None) -> RoutineText:
    """Find a routine by built-in id or path and read it; a built-in one in ``language`` if given.

    Raises:
        RoutineError: the file is missing, unreadable, binary, empty or too large.
    """
    source = str(ref)
    path = Path(ref)
    if source in builtin_ids() and not path.is_file():
        text = resources.files("voiceroutine.routines").joinpath(_builtin_file(source, language)).read_text("utf-8")
        return RoutineText(text, f"{ref} (built-in)", source, None)
    looks_like_path = "/" in source or source.endswith(".toml")
    try:
        if path.is_dir():
            raise RoutineError("is a folder; expected a routine file (.toml)", source=source)
        if path.exists() and not path.is_file():
            raise RoutineError("is not a regular file; expected a routine file (.toml)", source=source)
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # never more, whatever the file claims its size is
        if len(data) > MAX_FILE_BYTES:
            raise RoutineError("file is too large for a routine (at most 1 MiB)", source=source)
    except RoutineError:
        raise
    except (FileNotFoundError, ValueError, OSError) as e:
        # ValueError: a NUL in the path; ENAMETOOLONG: a name no file can have.
        missing = isinstance(e, (FileNotFoundError, ValueError)) or e.errno == errno.ENAMETOOLONG
        if not missing:
            raise RoutineError(f"cannot read the file ({e.strerror})", source=source) from None
        if looks_like_path:
            raise RoutineError("file not found", source=source) from None
        known = ", ".join(builtin_ids())
        raise RoutineError(f"no built-in routine or file of that name (built-in: {known})", source=source) from None
    if b"\0" in data:
        raise RoutineError("binary file; expected a TOML routine file", source=source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RoutineError("not UTF-8 text; save the routine file as UTF-8", source=source) from None
    if not text.strip():
        raise RoutineError("file is empty; `voiceroutine init` writes a routine to start from", source=source)
    return RoutineText(text, source, id_from_name(path.stem), path.parent)


def load_routine(ref: str | Path, language: str | None = None) -> Routine:
    """Load a built-in routine by id (e.g. "bed-back") or a routine file by path.

    ``language`` (a tag ``language_tag`` gave) picks a built-in routine's translation, and
    overrides the language a routine file declares.
    """
    found = read_routine_text(ref, language)
    return parse_routine(found.text, source=found.source, default_id=found.default_id, folder=found.folder, language=language)


def parse_routine(
    text: str, *, source: str, default_id: str = "routine", folder: Path | None = None, language: str | None = None
) -> Routine:
    """Parse and validate routine TOML text; ``source`` names it in messages.

    ``folder`` is where paths in the file are relative to (None: the current folder);
    ``language``, if given, wins over the file's own.
    """
    try:
        data = tomllib.loads(text)
        return _Reader(source).routine(data, default_id, folder, language)
    except tomllib.TOMLDecodeError as e:
        hint = toml_hint(text, str(e))
        if hint:
            raise RoutineError(hint[1], source=source, field=hint[0]) from None
        raise RoutineError(f"invalid TOML: {e}", source=source) from None
    except RecursionError:
        raise RoutineError("nested too deeply to be a routine", source=source) from None
    except ValueError as e:
        if isinstance(e, RoutineError):
            raise
        # Python refuses to read integers of thousands of digits.
        raise RoutineError(f"invalid TOML: {e}", source=source) from None


def id_from_name(name: str) -> str:
    """The id a routine file named ``name`` (its stem) has when it sets none."""
    return slug(name, max_length=64, fallback="routine")


class _Reader:
    """Walks parsed TOML, checking each field and raising with its path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, field: str | None, message: str) -> RoutineError:
        return RoutineError(message, source=self.source, field=field)

    def keys(self, table: dict, allowed: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(allowed)})"
                shown = key if key.isprintable() and " " not in key else repr(key)
                raise self.fail(f"{prefix}{shown}", f"unknown key{hint}")

    def table(self, value: object, field: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected a table like [{field}], got {describe(value)}")
        return value

    def text(self, value: object, field: str, max_len: int) -> str:
        try:
            return checks.text(value, max_len)
        except ValueError as e:
            raise self.fail(field, str(e)) from None

    def optional_text(self, table: dict, key: str, field: str, max_len: int) -> str | None:
        return self.text(table[key], field, max_len) if key in table else None

    def ident(self, value: object, field: str) -> str:
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise self.fail(
                field,
                f"expected an id of lower-case letters, digits, '-' or '_' (up to 64), got {describe(value)}",
            )
        return value

    def duration(self, value: object, field: str, bounds: tuple[int, int]) -> int:
        try:
            return duration_in(value, bounds)
        except ValueError as e:
            raise self.fail(field, str(e)) from None

    def whole_number(self, value: object, field: str, bounds: tuple[int, int]) -> int:
        try:
            return whole_number_in(value, bounds)
        except ValueError as e:
            raise self.fail(field, str(e)) from None

    def text_list(self, value: object, field: str, *, min_len: int, max_len: int, max_chars: int) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(field, f"expected a list of texts like [\"...\", \"...\"], got {describe(value)}")
        if not min_len <= len(value) <= max_len:
            count = f"exactly {min_len}" if min_len == max_len else f"{min_len} to {max_len}"
            raise self.fail(field, f"expected {count} entries, got {len(value)}")
        return tuple(self.text(item, f"{field}[{i}]", max_chars) for i, item in enumerate(value, 1))

    def settings(self, table: dict, prefix: str) -> dict[str, Any]:
        """Check the per-stretch setting keys present in ``table``; return them resolved."""
        checks = {
            "hold": lambda v, f: self.duration(v, f, HOLD_RANGE_MS),
            "rest": lambda v, f: self.duration(v, f, REST_RANGE_MS),
            "switch": lambda v, f: self.duration(v, f, SWITCH_RANGE_MS),
            "get_ready": lambda v, f: self.duration(v, f, GET_READY_RANGE_MS),
            "reps": lambda v, f: self.whole_number(v, f, REPS_RANGE),
            "sides": self.sides,
            "side_names": lambda v, f: self.text_list(v, f, min_len=2, max_len=2, max_chars=60),
        }
        return {key: checks[key](table[key], f"{prefix}{key}") for key in STRETCH_DEFAULTS if key in table}

    def file_settings(self, value: object, folder: Path | None) -> Mapping[str, Any]:
        table = self.table(value, "settings")
        self.keys(table, FILE_SETTINGS, "settings.")
        checked = {}
        for name, raw in table.items():
            if name in _PATH_SETTINGS and folder is not None and isinstance(raw, str):
                raw = str(folder / Path(raw).expanduser())  # relative to the routine file
            try:
                field_name, checked[field_name] = check_setting(name, raw)
            except ValueError as e:
                raise self.fail(f"settings.{name}", str(e)) from None
        return MappingProxyType(checked)

    def sides(self, value: object, field: str) -> str:
        if value not in SIDES:
            raise self.fail(field, f"expected \"both\" or \"none\", got {describe(value)}")
        return str(value)

    def language(self, value: object) -> str:
        try:
            return language_tag(value)
        except ValueError as e:
            raise self.fail("routine.language", str(e)) from None

    def routine(self, data: dict, default_id: str, folder: Path | None, language: str | None = None) -> Routine:
        self.keys(data, _TOP_KEYS, "")
        if "routine" not in data:
            raise self.fail("routine", 'missing; start the file with a [routine] table that has a title')
        head = self.table(data["routine"], "routine")
        self.keys(head, _ROUTINE_KEYS, "routine.")
        if "title" not in head:
            raise self.fail("routine.title", "missing; every routine needs a title")
        routine_id = self.ident(head["id"], "routine.id") if "id" in head else default_id
        language = language or (self.language(head["language"]) if "language" in head else DEFAULT_LANGUAGE)
        # Sides the file does not name are named in its language.
        defaults = self.settings({**STRETCH_DEFAULTS, "side_names": list(load_language(language).side_names)}, "defaults.")
        if "defaults" in data:
            table = self.table(data["defaults"], "defaults")
            self.keys(table, tuple(STRETCH_DEFAULTS), "defaults.")
            defaults |= self.settings(table, "defaults.")
        raw_stretches = data.get("stretch")
        if isinstance(raw_stretches, dict):
            raise self.fail("stretch", STRETCH_TABLES)
        if not isinstance(raw_stretches, list) or not raw_stretches:
            raise self.fail("stretch", "missing; add at least one [[stretch]] table")
        if len(raw_stretches) > MAX_STRETCHES:
            raise self.fail("stretch", f"too many stretches ({len(raw_stretches)}; at most {MAX_STRETCHES})")
        stretches = tuple(
            self.stretch(self.table(raw, f"stretch[{i}]"), f"stretch[{i}].", defaults)
            for i, raw in enumerate(raw_stretches, 1)
        )
        seen: set[str] = set()
        for i, stretch in enumerate(stretches, 1):
            if stretch.id in seen:
                raise self.fail(f"stretch[{i}].id", f"{stretch.id!r} is used by an earlier stretch; ids must be unique")
            seen.add(stretch.id)
        return Routine(
            id=routine_id,
            title=self.text(head["title"], "routine.title", 120),
            stretches=stretches,
            intro=self.optional_text(head, "intro", "routine.intro", 2000),
            outro=self.optional_text(head, "outro", "routine.outro", 2000),
            source=self.source,
            language=language,
            settings=self.file_settings(data["settings"], folder) if "settings" in data else MappingProxyType({}),
        )

    def stretch(self, table: dict, prefix: str, defaults: dict[str, Any]) -> Stretch:
        self.keys(table, _STRETCH_KEYS, prefix)
        for key in ("id", "name", "steps"):
            if key not in table:
                raise self.fail(f"{prefix}{key}", "missing; every stretch needs an id, a name and steps")
        values = defaults | self.settings(table, prefix)
        return Stretch(
            id=self.ident(table["id"], f"{prefix}id"),
            name=self.text(table["name"], f"{prefix}name", 80),
            why=self.optional_text(table, "why", f"{prefix}why", 300),
            tips=self.text_list(table["tips"], f"{prefix}tips", min_len=1, max_len=MAX_TIPS, max_chars=200)
            if "tips" in table
            else (),
            steps=self.text_list(table["steps"], f"{prefix}steps", min_len=1, max_len=MAX_STEPS, max_chars=300),
            hold_ms=values["hold"],
            sides=values["sides"],
            reps=values["reps"],
            rest_ms=values["rest"],
            switch_ms=values["switch"],
            get_ready_ms=values["get_ready"],
            side_names=values["side_names"],
        )
