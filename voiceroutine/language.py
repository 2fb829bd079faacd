"""The words voiceroutine itself says, in the routine's language, read from a data file.

Each language is one file, ``languages/<tag>.toml`` (a BCP 47 tag: en, es, pt-BR),
holding every phrase the builder says, the counting words to 59, how amounts
of time are said (with their singular and the forms some numbers take before a
unit), the default names of a stretch's sides, the espeak voice, and how plan
estimates a phrase's length. Adding a language is adding a file: no code here
knows any language.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from .errors import RoutineError

DEFAULT_LANGUAGE = "en"
_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class Speech:
    """How long a language's phrases take, in word-times at the speech rate (see en.toml)."""

    letter: float
    pause: float
    phrase: float


@dataclass(frozen=True)
class Language:
    tag: str
    name: str
    iso639: str  # the three-letter code MP3 and MP4 tags use
    voice: str  # espeak-ng's voice for it
    side_names: tuple[str, str]
    say: Mapping[str, object]
    chapters: Mapping[str, str]
    cover: Mapping[str, object]
    numbers: tuple[str, ...]
    singular: frozenset[int]
    units: Mapping[str, Mapping[str, str]]  # "second" / "minute" -> {"one": ..., "other": ...}
    both: str  # how minutes and seconds are joined
    before: Mapping[str, Mapping[int, str]]  # unit -> number -> the form it takes before that unit
    speech: Speech

    def number(self, n: int) -> str:
        """``n`` in counting words (0 to 59)."""
        if not 0 <= n < len(self.numbers):
            raise ValueError(f"cannot say {n} in words")
        return self.numbers[n]

    def phrase(self, key: str, plural_of: int | None = None, **values: object) -> str:
        """The phrase ``key`` with its placeholders filled, its first letter a capital.

        ``plural_of`` picks the singular or the plural of a phrase that has both.
        """
        template = self.say[key]
        if isinstance(template, Mapping):
            template = template["one" if plural_of in self.singular else "other"]
        return _capitalised(str(template).format(**values))

    def amount(self, unit: str, n: int) -> str:
        """``n`` seconds or minutes in words: "thirty seconds", "un minuto", "eine Minute"."""
        said = self.before.get(unit, {}).get(n) or self.number(n)
        return self.units[unit]["one" if n in self.singular else "other"].format(number=said)

    def duration(self, ms: int) -> tuple[str, int | None]:
        """A duration as said aloud, to the nearest second, and the count that decides its plural:
        the number when it is a single amount, None when minutes and seconds are joined."""
        minutes, seconds = divmod(max(1, round(ms / 1000)), 60)
        if minutes and seconds:
            return self.both.format(minutes=self.amount("minute", minutes), seconds=self.amount("second", seconds)), None
        return (self.amount("minute", minutes), minutes) if minutes else (self.amount("second", seconds), seconds)

    def time_left(self, ms: int) -> str:
        words, count = self.duration(ms)
        return self.phrase("time_left", count, duration=words)

    def countdown(self, n: int) -> str:
        return self.phrase("countdown", number=self.number(n))

    def cover_subtitle(self, stretches: int, duration_ms: int) -> str:
        """What the generated cover says under the title: "5 stretches · 11 min"."""
        forms = self.cover["subtitle"]
        return forms["one" if stretches in self.singular else "other"].format(count=stretches, minutes=round(duration_ms / 60_000))

    def estimate_ms(self, text: str, rate_wpm: int) -> int:
        """A guess at how long ``text`` takes to say at ``rate_wpm``, before it is spoken."""
        letters = sum(char.isalnum() for char in text)
        words = self.speech.letter * letters + self.speech.pause * len(_PAUSE.findall(text)) + self.speech.phrase
        return round(words * 60_000 / rate_wpm)


# A pause inside a phrase: a comma, or a full stop with more to come.
_PAUSE = re.compile(r"[,;:.!?\u2026\u3001\u3002]+(?=\s+\S)")


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def available_languages() -> list[str]:
    """The tags of every language voiceroutine can speak in, sorted."""
    folder = resources.files("voiceroutine.languages")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def primary(tag: str) -> str:
    """The language of a tag or voice code, without its region: "es-419" and "es_ES" -> "es"."""
    return tag.replace("_", "-").split("-")[0].lower()


def language_tag(value: object) -> str:
    """The tag of a language voiceroutine has, for ``value`` as a user wrote it ("ES", "es-MX" -> "es").

    Raises:
        ValueError: not a language tag, or one with no phrase file; the message lists those there are.
    """
    known = available_languages()
    if not isinstance(value, str) or not _TAG.fullmatch(value.strip()):
        raise ValueError(f"expected a language tag like \"es\" or \"pt-BR\" (languages: {', '.join(known)}), got {value!r}")
    by_lower = {tag.lower(): tag for tag in known}
    wanted = value.strip().lower()
    for candidate in (wanted, wanted.split("-")[0]):
        if candidate in by_lower:
            return by_lower[candidate]
    raise ValueError(f"voiceroutine does not speak {value!r} yet (languages: {', '.join(known)})")


@functools.cache
def load_language(tag: str = DEFAULT_LANGUAGE) -> Language:
    """The phrases of the language ``tag`` (as ``language_tag`` gives it)."""
    try:
        data = tomllib.loads(resources.files("voiceroutine.languages").joinpath(f"{tag}.toml").read_text("utf-8"))
    except FileNotFoundError:
        raise RoutineError(f"no phrases for the language {tag!r} (languages: {', '.join(available_languages())})") from None
    head, units = data["language"], data["units"]
    return Language(
        tag=tag,
        name=head["name"],
        iso639=head["iso639"],
        voice=head["voice"],
        side_names=tuple(head["side_names"]),
        say=data["say"],
        chapters=data["chapters"],
        cover=data["cover"],
        numbers=tuple(data["numbers"]["words"]),
        singular=frozenset(data["numbers"]["one"]),
        units={unit: units[unit] for unit in ("second", "minute")},
        both=units["both"],
        before={unit: {int(n): word for n, word in forms.items()} for unit, forms in units["before"].items()},
        speech=Speech(**data["speech"]),
    )
