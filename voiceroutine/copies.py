"""Editable copies of routines (`voiceroutine init`): the source's text, comments and all, with no
id of its own, so its id is its file name, and stays so when the copy is copied again."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import RoutineError
from .routine import id_from_name, parse_routine, read_routine_text

_ROUTINE_HEADER = re.compile(r"^[ \t]*\[[ \t]*routine[ \t]*\][ \t]*(?:#.*)?$", re.M)
_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.M)
_ID_LINE = re.compile(r"""^[ \t]*id[ \t]*=[ \t]*("[^"\n]*"|'[^'\n]*')[ \t]*(?:#[^\n]*)?\n?""", re.M)


def routine_copy(ref: str, target: Path, language: str | None = None) -> tuple[str, str]:
    """The text of routine ``ref`` (a built-in one's translation in ``language``, if given) without
    its [routine] id line, and the id the copy then has: ``target``'s name.

    Building the copy writes out/<its name>.* and never the files of the routine it came from;
    a copy of the copy under another name (monday.toml, thursday.toml) gets that name in turn.
    Only the id line goes.

    Raises:
        RoutineError: ``ref`` is not a valid routine, or its id cannot be taken out of its text.
    """
    found = read_routine_text(ref, language)
    parse_routine(found.text, source=found.source, default_id=found.default_id, folder=found.folder)
    routine_id = id_from_name(target.stem)
    text = _without_id(found.text)
    copy = parse_routine(text, source=str(target), default_id=routine_id, folder=found.folder)
    if copy.id != routine_id:
        raise RoutineError("cannot take the id out of this file's text; copy it by hand and remove [routine] id", source=found.source)
    return text, routine_id


def _without_id(text: str) -> str:
    header = _ROUTINE_HEADER.search(text)
    if header is None:
        return text
    following = _TABLE_HEADER.search(text, header.end())
    end = following.start() if following else len(text)
    line = _ID_LINE.search(text, header.end(), end)
    return text[: line.start()] + text[line.end() :] if line else text
