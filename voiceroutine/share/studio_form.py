"""The studio's form: what it offers, and the routine file a filled-in form becomes.

The form names a base routine and the changes to it. They are applied to the
base's own TOML, and the result is parsed by the routine loader, so the page's
values meet the same checks as a file's. Before that, the form's shape is
checked field by field: JSON from a page is anyone's, and a list or an object
where text belongs is refused with the field's name, never passed on.
"""

from __future__ import annotations

import importlib.util
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RoutineError, VoiceRoutineError
from ..names import slug
from ..routine import MAX_STRETCHES, SIDES, Routine, builtin_ids, parse_routine, read_routine_text
from ..settings import GUIDANCE_LEVELS, PACES, Settings

FORM_SOURCE = "form"
MAX_TITLE = 80
# The settings the form sets, with their labels on the page; the template shows a choice for each.
FORM_SETTINGS = {"guidance": "Guidance", "pace": "Pace", "engine": "Voice engine", "voice": "Voice"}
STRETCH_CHANGES = ("hold", "sides", "rest")
MAX_NUMBER = 1e9  # seconds: far beyond any hold, so the loader's range check has the last word
VOICE_FILE_ENGINE = "piper"  # voice files in the shared folder are Piper's (.onnx with its .onnx.json)


@dataclass(frozen=True)
class Base:
    key: str  # what the form sends: a built-in id, or a routine file's name in the shared folder
    label: str
    text: str  # its TOML
    folder: Path | None  # where paths in it start
    routine: Routine


@dataclass(frozen=True)
class VoiceChoice:
    id: str  # what the form sends
    name: str  # what the form shows
    setting: str  # what the routine file says: the engine's id, or a voice file's full path
    english: bool


Voices = Mapping[str, Mapping[str, VoiceChoice]]  # engine -> voice id -> the voice


def find_bases(folder: Path) -> dict[str, Base]:
    """The routines the form can start from: the built-ins and the valid routine files in ``folder``."""
    bases = {}
    refs: list[str | Path] = [*builtin_ids(), *sorted(folder.glob("*.toml"))]
    for ref in refs:
        try:
            found = read_routine_text(ref)
            routine = parse_routine(found.text, source=found.source, default_id=found.default_id, folder=found.folder)
        except RoutineError:
            continue  # a broken file in the folder is not offered
        key = ref.name if isinstance(ref, Path) else ref
        label = f"{routine.title} ({'built-in' if isinstance(ref, str) else key})"
        bases[key] = Base(key, label, found.text, found.folder, routine)
    return bases


def describe_bases(bases: Mapping[str, Base]) -> list[dict]:
    """What the form shows for each base: its stretches and settings as the loader resolved them."""
    return [
        {
            "key": base.key,
            "label": base.label,
            "title": base.routine.title,
            "settings": {name: base.routine.settings.get(name) for name in FORM_SETTINGS},
            "stretches": [
                {"id": s.id, "name": s.name, "hold_s": s.hold_ms / 1000, "sides": s.sides, "rest_s": s.rest_ms / 1000}
                for s in base.routine.stretches
            ],
        }
        for base in bases.values()
    ]


def listed_voices() -> dict[str, list[VoiceChoice]]:
    """The installed engines and every voice each lists; this starts each engine, so callers keep the answer."""
    from ..engines import get_engine

    engines = {}
    for name, module in (("pyttsx3", "pyttsx3"), ("piper", "piper")):
        if importlib.util.find_spec(module) is None:
            continue
        try:
            voices = get_engine(name).voices()
        except VoiceRoutineError:
            continue
        engines[name] = [VoiceChoice(v.id, v.name, v.id, any(c.lower().startswith("en") for c in v.languages)) for v in voices]
    return engines


def studio_voices(folder: Path, listed: Mapping[str, list[VoiceChoice]]) -> dict[str, dict[str, VoiceChoice]]:
    """The voices the studio may use: those the engines list, and Piper voice files in ``folder`` itself."""
    voices = {engine: {v.id: v for v in choices} for engine, choices in listed.items()}
    if VOICE_FILE_ENGINE in voices:
        root = folder.resolve()
        for model in sorted(root.glob("*.onnx")):
            path = model.resolve()
            config = Path(f"{path}.json")  # where Piper looks for the voice's settings
            if all(p.resolve().is_relative_to(root) and p.is_file() for p in (path, config)):
                voices[VOICE_FILE_ENGINE][model.name] = VoiceChoice(model.name, f"{model.stem} (voice file)", str(path), True)
    return voices


def choices(voices: Voices) -> dict:
    """The options the form offers: guidance levels, paces, sides, each engine's English voices (or all), and the defaults."""
    engines = {}
    for engine, by_id in voices.items():
        offered = [v for v in by_id.values() if v.english] or list(by_id.values())
        engines[engine] = [{"id": v.id, "name": v.name} for v in offered]
    defaults = {name: getattr(Settings, name) for name in ("guidance", "pace", "engine")}
    return {"guidance": list(GUIDANCE_LEVELS), "pace": list(PACES), "sides": list(SIDES), "engines": engines, "defaults": defaults}


def routine_from_form(form: object, bases: Mapping[str, Base], voices: Voices | None = None) -> tuple[str, Routine]:
    """The routine file the form describes, and the routine it loads as.

    ``voices`` (from ``studio_voices``) are the only voices the form may name.

    Raises:
        RoutineError: naming the form field that is wrong, with the loader's own message.
    """
    if not isinstance(form, dict):
        raise RoutineError("expected a JSON object", source=FORM_SOURCE)
    base = bases.get(form.get("base")) if isinstance(form.get("base"), str) else None
    if base is None:
        raise RoutineError("choose a routine to start from", source=FORM_SOURCE, field="base")
    data = tomllib.loads(base.text)
    title = form.get("title")
    if title in (None, ""):
        title = base.routine.title
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise RoutineError(f"expected a title of at most {MAX_TITLE} characters", source=FORM_SOURCE, field="title")
    name = slug(title, fallback="my-routine")  # the routine's id and its files' name: côté -> cote
    data.setdefault("routine", {}).update(id=name, title=title)
    data["stretch"] = _chosen_stretches(form.get("stretches"), data.get("stretch", []), base.routine)
    data.setdefault("settings", {}).update(_chosen_settings(form.get("settings", {}), base.routine, voices or {}))
    import tomli_w

    text = tomli_w.dumps(data)
    return text, parse_routine(text, source=FORM_SOURCE, default_id=name, folder=base.folder)


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
    """The form's settings as a routine file has them; a voice only as the engine lists it or a file in the folder."""
    if not isinstance(settings, dict):
        raise RoutineError("expected a table of settings", source=FORM_SOURCE, field="settings")
    chosen = {}
    for name, value in settings.items():
        # Only what the form offers: nothing that names a file on this computer (cover, chimes).
        if name not in FORM_SETTINGS:
            raise RoutineError(f"the studio sets only {', '.join(FORM_SETTINGS)}", source=FORM_SOURCE, field=f"settings.{name}")
        if value not in (None, ""):
            chosen[name] = _plain(value, f"settings.{name}", numbers=False)
    if "voice" in chosen:
        engine = chosen.get("engine") or base.settings.get("engine") or "pyttsx3"
        voice = voices.get(engine, {}).get(chosen["voice"])
        if voice is None:
            raise RoutineError(f"not a voice of {engine} here; choose one the form lists", source=FORM_SOURCE, field="settings.voice")
        chosen["voice"] = voice.setting
    return chosen


def _plain(value: object, field: str, numbers: bool = True) -> str | int | float:
    """``value`` if it is text (or, where ``numbers``, a finite number of sane size); else RoutineError naming ``field``."""
    if isinstance(value, str):
        return value
    # NaN and the infinities fail the comparison; a 400-digit whole number is compared exactly.
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= MAX_NUMBER:
        return value
    wanted = "a number of seconds or text like \"30s\"" if numbers else "text"
    raise RoutineError(f"expected {wanted}", source=FORM_SOURCE, field=field)
