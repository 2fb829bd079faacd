"""The voices the studio offers and takes, and whether one speaks the routine's language.

Listed voices say which languages they speak. Each engine's own voice for
every language is found once, when the engines are first asked for their
voices, with the engine's own reason where it has none (Piper's bundled voice
speaks English only). espeak is asked only then: pyttsx3 shares one driver per
process, and the studio's builds speak with it. A Piper voice file in the
shared folder is asked of its engine, which reads the language from the
file's settings.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RoutineError, VoiceRoutineError
from ..language import available_languages, load_language, primary
from ..routine import Routine
from ..settings import Settings

VOICE_FILE_ENGINE = "piper"  # voice files in the shared folder are Piper's (.onnx with its .onnx.json)
# The engines the studio offers, each when installed (its module has the engine's name), as the form names them.
ENGINE_NAMES = {"pyttsx3": "espeak (pyttsx3)", "piper": "Piper (natural)", "hibari": "hibari (natural, clearest)"}


@dataclass(frozen=True)
class VoiceChoice:
    id: str  # what the form sends
    name: str  # what the form shows
    setting: str  # what the routine file says: the engine's id, or a voice file's full path
    languages: tuple[str, ...]  # the primary subtags it speaks ("es"); none for a voice file, which its engine checks

    def speaks(self, language: str) -> bool:
        return not self.languages or primary(language) in self.languages


@dataclass(frozen=True)
class EngineVoices:
    voices: Mapping[str, VoiceChoice]  # by the id the form sends
    defaults: Mapping[str, str]  # language tag -> the name of the voice it speaks when none is chosen ("" if unlisted)
    refusals: Mapping[str, str]  # language tag -> why it has no voice for it, in the engine's words


Voices = Mapping[str, EngineVoices]  # engine -> its voices


def listed_voices() -> dict[str, EngineVoices]:
    """The installed engines, every voice each lists and its voice for each language; this starts each
    engine, so callers keep the answer."""
    from ..engines import get_engine

    engines = {}
    for name in ENGINE_NAMES:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            engine = get_engine(name)
            listed = engine.voices()
        except VoiceRoutineError:
            continue
        voices = {v.id: VoiceChoice(v.id, v.name, v.id, tuple(sorted({primary(c) for c in v.languages}))) for v in listed}
        defaults, refusals = {}, {}
        for tag in available_languages():
            try:
                resolved = engine.resolve_voice(None, tag)
            except RoutineError as e:
                refusals[tag] = e.reason
            else:
                defaults[tag] = next((v.name for v in voices.values() if v.setting == resolved), "")
        engines[name] = EngineVoices(voices, defaults, refusals)
    return engines


def studio_voices(folder: Path, listed: Mapping[str, EngineVoices]) -> dict[str, EngineVoices]:
    """The voices the studio may use: those the engines list, and Piper voice files in ``folder`` itself."""
    engines = dict(listed)
    if VOICE_FILE_ENGINE in engines:
        root = folder.resolve()
        files = {}
        for model in sorted(root.glob("*.onnx")):
            path = model.resolve()
            config = Path(f"{path}.json")  # where Piper looks for the voice's settings
            if all(p.resolve().is_relative_to(root) and p.is_file() for p in (path, config)):
                files[model.name] = VoiceChoice(model.name, f"{model.stem} (voice file)", str(path), ())
        piper = engines[VOICE_FILE_ENGINE]
        engines[VOICE_FILE_ENGINE] = dataclasses.replace(piper, voices={**piper.voices, **files})
    return engines


def describe_voices(voices: Voices) -> dict:
    """What the form shows: each engine's name, voices with the languages they speak, and its voice for each language."""
    return {
        "engine_names": {engine: ENGINE_NAMES.get(engine, engine) for engine in voices},
        "engines": {
            engine: [{"id": v.id, "name": v.name, "languages": list(v.languages)} for v in listed.voices.values()]
            for engine, listed in voices.items()
        },
        "default_voices": {engine: dict(listed.defaults) for engine, listed in voices.items()},
    }


def voice_refusal(routine: Routine, voices: Voices) -> str | None:
    """Why the routine's voice cannot speak its language, or None when it can (or only the build can tell)."""
    engine = routine.settings.get("engine") or Settings.engine
    listed = voices.get(engine)
    if listed is None:
        return None  # not installed here: the build says what to install
    setting = routine.settings.get("voice")
    if setting is None:
        refusal = listed.refusals.get(routine.language)
        if refusal and engine == VOICE_FILE_ENGINE:
            refusal += "; the studio offers the voice files in the shared folder"
        return refusal
    chosen = next((v for v in listed.voices.values() if v.setting == setting), None)
    if chosen is None:
        return None  # the base file's own voice, which the form did not offer: the build checks it
    if not chosen.speaks(routine.language):
        language = load_language(routine.language)
        return f"{chosen.name} does not speak {language.name} ({routine.language}); choose a voice that does, or the default"
    if not chosen.languages:
        from ..engines import get_engine

        try:  # a voice file: its engine reads the language it speaks from the file
            get_engine(engine).resolve_voice(setting, routine.language)
        except RoutineError as e:
            return e.reason
    return None
