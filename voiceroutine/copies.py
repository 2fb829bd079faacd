"""Editable copies of routines (`voiceroutine init`): the source's text, comments and all, under a new id."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import RoutineError
from .routine import _slug, parse_routine, read_routine_text

_ROUTINE_HEADER = re.compile(r"^[ \t]*\[[ \t]*routine[ \t]*\][ \t]*(?:#.*)?$", re.M)
_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.M)
_ID_VALUE = re.compile(r"""^([ \t]*id[ \t]*=[ \t]*)("[^"\n]*"|'[^'\n]*')""", re.M)


def routine_copy(ref: str, target: Path, language: str | None = None) -> tuple[str, str]:
    """The text of routine ``ref`` (a built-in one's translation in ``language``, if given) with its
    [routine] id set to ``target``'s name, and that id.

    The id follows the new file, so building the copy writes out/<its name>.* and never the
    files of the routine it came from. Only the id's value changes (or an id line is added).

    Raises:
        RoutineError: ``ref`` is not a valid routine, or its id cannot be set in its text.
    """
    found = read_routine_text(ref, language)
    parse_routine(found.text, source=found.source, default_id=found.default_id, folder=found.folder)
    routine_id = _slug(target.stem)
    text = _with_id(found.text, routine_id)
    copy = parse_routine(text, source=str(target), default_id=routine_id, folder=found.folder)
    if copy.id != routine_id:
        raise RoutineError("cannot set the copy's id in this file's text; copy it by hand and set [routine] id", source=found.source)
    return text, routine_id


def _with_id(text: str, routine_id: str) -> str:
    header = _ROUTINE_HEADER.search(text)
    if header is None:
        return text
    following = _TABLE_HEADER.search(text, header.end())
    end = following.start() if following else len(text)
    value = json.dumps(routine_id)
    current = _ID_VALUE.search(text, header.end(), end)
    if current:
        return text[: current.start(2)] + value + text[current.end(2) :]
    return text[: header.end()] + f"\nid = {value}" + text[header.end() :]
