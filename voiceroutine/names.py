"""File names from titles: lower-case ASCII that every file system and phone accepts.

Accents are transliterated (``côté`` → ``cote``, ``Straße`` → ``strasse``) and
other scripts romanised by python-slugify (through text-unidecode), so a title
keeps its words instead of losing every letter that is not plain ASCII.
"""

from __future__ import annotations

import hashlib

# Letters, digits, "-" and "_": what a routine id may hold (routine.py), so a name made here is also a valid id.
_NOT_ALLOWED = r"[^-a-z0-9_]+"


def slug(text: str, *, max_length: int = 48, fallback: str = "routine") -> str:
    """A name for ``text`` made of a-z, 0-9, "-" and "_", starting with a letter or digit, never empty.

    Long titles are cut at a word boundary. A title with nothing to romanise
    (emoji, say) gets ``fallback`` and a short digest of the title, so two such
    titles still get different names.
    """
    from slugify import slugify

    made = slugify(text, max_length=max_length, word_boundary=True, save_order=True, regex_pattern=_NOT_ALLOWED)
    made = made.strip("-_")
    if made:
        return made
    if not text.strip():
        return fallback
    return f"{fallback}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
