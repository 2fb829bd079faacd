"""Speech engines behind one small interface, and the registry that names them.

Adding an engine is one module with a class that follows ``Engine`` and one
entry in ``ENGINES``; nothing else changes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import RoutineError

if TYPE_CHECKING:
    from ..clips import Clip


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: tuple[str, ...] = ()


class Engine(Protocol):
    name: str

    def voices(self) -> list[Voice]:
        """Every voice this engine can speak with."""

    def resolve_voice(self, voice: str | None, language: str = "en") -> str:
        """The engine's own id for ``voice`` (None: its voice for ``language``, a BCP 47 tag);
        RoutineError if unknown, or if it cannot speak that language."""

    def synthesize(self, text: str, voice: str, rate: int) -> Clip:
        """Speak ``text``; ``voice`` as resolved, ``rate`` in words a minute."""

    def cache_key(self, voice: str, rate: int) -> str:
        """Everything that changes the sound besides the text: engine, version, voice, rate."""


# name -> "module:class", imported only when asked for so start-up stays light.
ENGINES = {
    "pyttsx3": "voiceroutine.engines.pyttsx3_engine:Pyttsx3Engine",
    "piper": "voiceroutine.engines.piper_engine:PiperEngine",
    "hibari": "voiceroutine.engines.hibari_engine:HibariEngine",
}


def get_engine(name: str) -> Engine:
    if name not in ENGINES:
        raise RoutineError(f"unknown engine {name!r} (engines: {', '.join(ENGINES)})", source="--engine")
    module_name, class_name = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)()
