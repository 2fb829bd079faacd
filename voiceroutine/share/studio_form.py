"""The studio's form: what it offers, and the routine file a filled-in form becomes.

The form names a base routine, a language and the changes to it. They are
applied to the base's own TOML (a built-in's translation into that language,
or a routine file's own text, declared in it), and the result is parsed by the
routine loader, so the page's values meet the same checks as a file's. Before
that, the form's shape is checked field by field: JSON from a page is
anyone's, and a list or an object where text belongs is refused with the
field's name, never passed on.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RoutineError
from ..language import available_languages, language_tag, load_language
from ..names import slug
from ..routine import MAX_STRETCHES, SIDES, Routine, builtin_ids, builtin_languages, parse_routine, read_routine_text
from ..settings import GUIDANCE_LEVELS, PACES, SETTINGS, Settings, check_setting
from .studio_music import DEFAULT_MUSIC_LEVEL, MUSIC_LEVELS, MusicFiles
from .studio_voices import Voices, describe_voices, voice_refusal

FORM_SOURCE = "form"
MAX_TITLE = 80
MAX_TAG = 35  # RFC 5646: the longest language tag implementations need to take
# The settings the form sets, with their labels on the page; the template shows a choice for each.
FORM_SETTINGS = {
    "guidance": "Guidance", "pace": "Pace", "engine": "Voice engine", "voice": "Voice", "music": "Music", "music_level": "Music level (LU)"
}
MUSIC_SETTINGS = ("music", "music_level")
STRETCH_CHANGES = ("hold", "sides", "rest")
MAX_NUMBER = 1e9  # seconds: far beyond any hold, so the loader's range check has the last word


@dataclass(frozen=True)
class Version:
    """A base routine's text in one language."""

    text: str  # its TOML
    routine: Routine


@dataclass(frozen=True)
class Base:
    key: str  # what the form sends: a built-in id, or a routine file's name in the shared folder
    label: str
    folder: Path | None  # where paths in it start
    versions: Mapping[str, Version]  # a built-in's translations by language; a file's own text in its own
    languages: tuple[str, ...]  # the languages it can come in: a built-in's translations; any for a file

    @property
    def routine(self) -> Routine:
        """The base as it is, in its own language."""
        return next(iter(self.versions.values())).routine

    def version(self, language: str) -> Version:
        """The base in ``language``: a built-in's translation, or a file's own text (the form declares its language)."""
        return self.versions.get(language) or self.versions[self.routine.language]


def find_bases(folder: Path) -> dict[str, Base]:
    """The routines the form can start from: the built-ins and the valid routine files in ``folder``."""
    bases = {key: _builtin_base(key) for key in builtin_ids()}
    for path in sorted(folder.glob("*.toml")):
        try:
            found = read_routine_text(path)
            routine = parse_routine(found.text, source=found.source, default_id=found.default_id, folder=found.folder)
        except RoutineError:
            continue  # a broken file in the folder is not offered
        own = {routine.language: Version(found.text, routine)}
        bases[path.name] = Base(path.name, f"{routine.title} ({path.name})", found.folder, own, tuple(available_languages()))
    return bases


@functools.cache
def _builtin_base(routine_id: str) -> Base:
    """A built-in routine in every language it comes in, its own first (read once: they never change)."""
    versions = {}
    for language in builtin_languages(routine_id):
        found = read_routine_text(routine_id, language)
        versions[language] = Version(found.text, parse_routine(found.text, source=found.source, default_id=found.default_id))
    own = next(iter(versions.values())).routine
    return Base(routine_id, f"{own.title} (built-in)", None, versions, tuple(versions))


def describe_bases(bases: Mapping[str, Base]) -> list[dict]:
    """What the form shows for each base: its stretches and settings as the loader resolved them, its
    languages, and a built-in's title and stretch names in each of its translations."""
    return [
        {
            "key": base.key,
            "label": base.label,
            "title": base.routine.title,
            "language": base.routine.language,
            "languages": list(base.languages),
            "translations": {
                language: {"title": version.routine.title, "names": {s.id: s.name for s in version.routine.stretches}}
                for language, version in base.versions.items()
            },
            "settings": _shown_settings(base),
            "stretches": [
                {"id": s.id, "name": s.name, "hold_s": s.hold_ms / 1000, "sides": s.sides, "rest_s": s.rest_ms / 1000}
                for s in base.routine.stretches
            ],
        }
        for base in bases.values()
    ]


def _shown_settings(base: Base) -> dict:
    """The base's settings as the form shows them; its music only by the name of a file beside it."""
    shown = {name: base.routine.settings.get(SETTINGS[name][0]) for name in FORM_SETTINGS}
    music = Path(shown["music"]) if shown["music"] else None
    shown["music"] = music.name if music and base.folder is not None and music.parent == base.folder else None
    return shown


def choices(voices: Voices, music: MusicFiles | None = None) -> dict:
    """The options the form offers: languages, guidance levels, paces, sides, each engine's voices, the music
    files and levels, and the defaults."""
    languages = [{"tag": tag, "name": load_language(tag).name} for tag in available_languages()]
    defaults = {name: getattr(Settings, name) for name in ("guidance", "pace", "engine")}
    return {
        "languages": languages,
        "guidance": list(GUIDANCE_LEVELS),
        "pace": list(PACES),
        "sides": list(SIDES),
        **describe_voices(voices),
        "music": list(music.names) if music else [],
        "music_levels": list(MUSIC_LEVELS),
        "defaults": defaults | {"music_level": DEFAULT_MUSIC_LEVEL},
    }


def routine_from_form(
    form: object, bases: Mapping[str, Base], voices: Voices | None = None, music: MusicFiles | None = None
) -> tuple[str, Routine]:
    """The routine file the form describes, and the routine it loads as.

    ``voices`` (from ``studio_voices``) are the only voices the form may name, and the voice
    (or the engine's own, when the form leaves it to the engine) must speak the form's language.
    ``music`` (from ``studio_music``) holds the only music files it may name, by file name; the
    routine file is saved in their folder, so its music is beside it.

    Raises:
        RoutineError: naming the form field that is wrong, with the loader's own message.
    """
    if not isinstance(form, dict):
        raise RoutineError("expected a JSON object", source=FORM_SOURCE)
    base = bases.get(form.get("base")) if isinstance(form.get("base"), str) else None
    if base is None:
        raise RoutineError("choose a routine to start from", source=FORM_SOURCE, field="base")
    language = _chosen_language(form.get("language"), base)
    version = base.version(language)
    data = tomllib.loads(version.text)
    title = form.get("title")
    if title in (None, ""):
        title = version.routine.title
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise RoutineError(f"expected a title of at most {MAX_TITLE} characters", source=FORM_SOURCE, field="title")
    name = slug(title, fallback="my-routine")  # the routine's id and its files' name: côté -> cote
    data.setdefault("routine", {}).update(id=name, title=title, language=language)
    data["stretch"] = _chosen_stretches(form.get("stretches"), data.get("stretch", []), version.routine)
    file_settings = data.setdefault("settings", {})
    file_settings.update(_chosen_settings(form.get("settings", {}), version.routine, voices or {}))
    if isinstance(form.get("settings"), dict) and form["settings"].get("voice") == "":
        file_settings.pop("voice", None)  # "default": the engine's voice for the language, not the base's
    # The music is the form's choice alone, even against the base's: never a file it did not offer.
    for setting in MUSIC_SETTINGS:
        file_settings.pop(setting, None)
    file_settings.update(_chosen_music(form.get("settings", {}), music))
    import tomli_w

    text = tomli_w.dumps(data)
    folder = base.folder if base.folder is not None else music.folder if music else None
    routine = parse_routine(text, source=FORM_SOURCE, default_id=name, folder=folder)
    refusal = voice_refusal(routine, voices or {})
    if refusal:
        raise RoutineError(refusal, source=FORM_SOURCE, field="settings.voice")
    return text, routine


def _chosen_language(chosen: object, base: Base) -> str:
    """The form's language (none: the base's own), one the base can come in."""
    if chosen in (None, ""):
        return base.routine.language
    if not isinstance(chosen, str) or len(chosen) > MAX_TAG:
        raise RoutineError(f"expected a language tag ({', '.join(available_languages())})", source=FORM_SOURCE, field="language")
    try:
        language = language_tag(chosen)
    except ValueError as e:
        raise RoutineError(str(e), source=FORM_SOURCE, field="language") from None
    if language not in base.languages:
        offered = ", ".join(base.languages)
        raise RoutineError(f"{base.key} comes in {offered}, not {language}", source=FORM_SOURCE, field="language")
    return language


def _chosen_stretches(chosen: object, stretches: list[dict], base: Routine) -> list[dict]:
    """The base's stretch tables in the form's order, with the form's hold, sides and rest."""
    if not isinstance(chosen, list) or not chosen:
        raise RoutineError("include at least one stretch", source=FORM_SOURCE, field="stretches")
    if len(chosen) > MAX_STRETCHES:
        raise RoutineError(f"at most {MAX_STRETCHES} stretches", source=FORM_SOURCE, field="stretches")
    by_id = {s.id: table for s, table in zip(base.stretches, stretches)}
    picked = []
    for number, choice in enumerate(chosen, 1):
        field = f"stretch[{number}]"
        if not isinstance(choice, dict) or not isinstance(choice.get("id"), str) or choice["id"] not in by_id:
            raise RoutineError("not a stretch of the base routine", source=FORM_SOURCE, field=f"{field}.id")
        table = {**by_id[choice["id"]], "id": choice["id"]}
        for key in STRETCH_CHANGES:
            value = choice.get(key)
            if value not in (None, ""):
                table[key] = _plain(value, f"{field}.{key}")
        picked.append(table)
    return picked


def _chosen_settings(settings: object, base: Routine, voices: Voices) -> dict:
    """The form's settings as a routine file has them; a voice only as the engine lists it or a file in the folder.
    (Whether the voice speaks the routine's language is checked once the routine is loaded.)"""
    if not isinstance(settings, dict):
        raise RoutineError("expected a table of settings", source=FORM_SOURCE, field="settings")
    chosen = {}
    for name, value in settings.items():
        # Only what the form offers: nothing that names a file on this computer (cover, chimes).
        if name not in FORM_SETTINGS:
            raise RoutineError(f"the studio sets only {', '.join(FORM_SETTINGS)}", source=FORM_SOURCE, field=f"settings.{name}")
        if name in MUSIC_SETTINGS:
            continue  # _chosen_music
        if value not in (None, ""):
            chosen[name] = _plain(value, f"settings.{name}", numbers=False)
    if "voice" in chosen:
        engine = chosen.get("engine") or base.settings.get("engine") or Settings.engine
        listed = voices.get(engine)
        voice = listed.voices.get(chosen["voice"]) if listed else None
        if voice is None:
            raise RoutineError(f"not a voice of {engine} here; choose one the form lists", source=FORM_SOURCE, field="settings.voice")
        chosen["voice"] = voice.setting
    return chosen


def _chosen_music(settings: dict, offered: MusicFiles | None) -> dict:
    """The form's music as a routine file in the shared folder has it: the name of a file offered there,
    and its level (checked even without music, as every value the form sends is); none when it names none."""
    level = settings.get("music_level")
    if level not in (None, ""):
        try:
            level = check_setting("music_level", level)[1]
        except ValueError as e:
            raise RoutineError(str(e), source=FORM_SOURCE, field="settings.music_level") from None
    chosen = settings.get("music")
    if chosen in (None, ""):
        return {}
    if not isinstance(chosen, str) or offered is None or chosen not in offered.names:
        raise RoutineError("not a music file in the shared folder; choose one the form lists", source=FORM_SOURCE, field="settings.music")
    return {"music": chosen} | ({"music_level": level} if level not in (None, "") else {})


def _plain(value: object, field: str, numbers: bool = True) -> str | int | float:
    """``value`` if it is text (or, where ``numbers``, a finite number of sane size); else RoutineError naming ``field``."""
    if isinstance(value, str):
        return value
    # NaN and the infinities fail the comparison; a 400-digit whole number is compared exactly.
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= MAX_NUMBER:
        return value
    wanted = "a number of seconds or text like \"30s\"" if numbers else "text"
    raise RoutineError(f"expected {wanted}", source=FORM_SOURCE, field=field)
