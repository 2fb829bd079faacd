"""Plain words for the usual slips in a routine file, which TOML itself reports only in its own terms
("Expected newline or end of document after a statement")."""

from __future__ import annotations

import re

from .durations import parse_duration

STRETCH_TABLES = "each stretch starts with [[stretch]], in double brackets, not [stretch]"

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_-]+)\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*(?:#.*)?$")


def toml_hint(text: str, error: str) -> tuple[str, str] | None:
    """The field and a plain hint for TOML's ``error`` about ``text``, when the cause is a known slip:
    a duration without quotes (hold = 20s), or a [stretch] table written with single brackets."""
    lines = text.splitlines()
    at = _AT_LINE.search(error)
    number = int(at[1]) if at else 0
    if not 1 <= number <= len(lines):
        return None
    line = lines[number - 1]
    assignment = _ASSIGNMENT.match(line)
    quoted = _quoted(assignment[2]) if assignment else None
    if quoted:
        key = assignment[1]
        return f"{_table_before(lines, number)}{key}", f"durations go in quotes: {key} = {quoted} (line {number})"
    # A second [stretch], or one beside [[stretch]]: TOML can only say the table is declared twice.
    header = _HEADER.match(line)
    if header and header[2] == "stretch" and any(_is_single_stretch_header(other) for other in lines):
        return "stretch", STRETCH_TABLES
    return None


def _is_single_stretch_header(line: str) -> bool:
    header = _HEADER.match(line)
    return bool(header) and header[1] == "[" and header[2] == "stretch"


def _quoted(value: str) -> str | None:
    """``value`` with its durations in quotes, if it is a bare duration or a list holding some."""
    if value.startswith("[") and value.endswith("]"):
        items = [item.strip() for item in value[1:-1].split(",") if item.strip()]
        if not any(_is_bare_duration(item) for item in items):
            return None
        return "[" + ", ".join(f'"{item}"' if _is_bare_duration(item) else item for item in items) + "]"
    return f'"{value}"' if _is_bare_duration(value) else None


def _is_bare_duration(value: str) -> bool:
    if not value[:1].isdigit() or not any(c.isalpha() for c in value):
        return False
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True


def _table_before(lines: list[str], number: int) -> str:
    """The field path prefix of the table that line ``number`` is in: "", "defaults.", "stretch[2]."."""
    prefix, stretches = "", 0
    for line in lines[: number - 1]:
        header = _HEADER.match(line)
        if header and header[1] == "[[" and header[2] == "stretch":
            stretches += 1
            prefix = f"stretch[{stretches}]."
        elif header:
            prefix = f"{header[2]}."
    return prefix
